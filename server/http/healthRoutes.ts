import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/openDatabase';

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
export async function healthRoutes(app: FastifyInstance, opts: { db: Db }): Promise<void> {
  app.get('/api/health/live', { config: { public: true } }, async () => ({ status: 'live' }));
  app.get('/api/health/ready', { config: { public: true } }, async (_request, reply) => {
    try {
      opts.db.prepare('SELECT 1').get();
    } catch {
      return reply.code(503).send({ status: 'not-ready' });
    }
    return { status: 'ready' };
  });
}
