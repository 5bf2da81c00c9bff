import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Store } from '../db/openStore';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without a user token (health checks, the dev sign-in's own checks). */
    public?: boolean;
  }
}

/**
 * Liveness and readiness for `npm start`, orchestrators and load balancers. They need no user
 * token (a gateway without anonymous viewers must still be checkable) and say nothing but their
 * state: no version, no counts, no configuration.
 */
export async function healthRoutes(
  app: FastifyInstance,
  opts: {
    store: Pick<Store, 'db'>;
    /** True once SIGTERM's drain began: not ready, so balancers and orchestrators stop sending. */
    draining?: () => boolean;
  },
): Promise<void> {
  app.get('/api/health/live', { config: { public: true } }, async () => ({ status: 'live' }));
  app.get('/api/health/ready', { config: { public: true } }, async (_request, reply) => {
    if (opts.draining?.()) return reply.code(503).send({ status: 'draining' });
    try {
      // Ready only while the store answers (a PostgreSQL that is down makes this gateway unready).
      await sql`SELECT 1`.execute(opts.store.db);
    } catch {
      return reply.code(503).send({ status: 'not-ready' });
    }
    return { status: 'ready' };
  });
}
