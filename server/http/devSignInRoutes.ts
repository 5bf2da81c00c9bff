import type { FastifyInstance } from 'fastify';
import type { DevUsersAnswer } from '@/lib/protocol';
import type { LocalUsers } from '../auth/LocalUsers';
import { isLoopbackHost } from '../config';
import type { RequestGuards } from './requestGuards';

/**
 * `GET /api/dev/users`: the local users and their tokens for the embedded default's sign-in page.
 * Handing out tokens is only sound where nobody but this machine's users can ask, so each answer
 * needs all of: the gateway listening on loopback only (checked here at start), the request's
 * Host an allowed loopback name (DNS rebinding names another host), and the client — or the
 * trusted proxy's client — on loopback. Anything else gets 403 and no token.
 */
export async function devSignInRoutes(
  app: FastifyInstance,
  opts: { users: LocalUsers; listenHost: string; guards: RequestGuards },
): Promise<void> {
  if (!isLoopbackHost(opts.listenHost))
    throw new Error(
      `dev sign-in serves every local user's token; refusing to enable it on ${opts.listenHost} (listen on loopback only)`,
    );
  app.get('/api/dev/users', { config: { public: true } }, async (request, reply) => {
    const host = opts.guards.addressedHost(request.raw);
    const hostName = host?.replace(/:\d+$/, '');
    if (opts.guards.hostRefusal(request.raw) || !hostName || !isLoopbackHost(hostName))
      return reply.code(403).send({ error: 'dev sign-in answers loopback host names only' });
    if (!isLoopbackHost(request.ip))
      return reply.code(403).send({ error: 'dev sign-in answers this machine only' });
    return {
      users: opts.users
        .list()
        .flatMap((u) =>
          u.role === 'producer'
            ? []
            : [{ name: u.name, role: u.role, token: u.token, runs: u.runs }],
        ),
    } satisfies DevUsersAnswer;
  });
}
