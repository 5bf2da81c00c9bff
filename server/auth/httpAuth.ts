import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import '../http/healthRoutes';
import { ANONYMOUS_VIEWER, type Identity, type TokenVerifier } from './Identity';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
}

/**
 * Sets `request.identity` from the Authorization header on every request. A wrong token is refused
 * outright (401), never downgraded to anonymous, so a client learns its token is bad.
 */
export function installHttpAuth(
  app: FastifyInstance,
  users: TokenVerifier,
  allowAnonymous: boolean,
): void {
  app.decorateRequest('identity', null as unknown as Identity);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // Health checks and the dev sign-in (which makes its own checks) need no user token.
    if (request.routeOptions.config.public) {
      request.identity = ANONYMOUS_VIEWER;
      return;
    }
    const header = request.headers.authorization;
    if (header === undefined) {
      if (!allowAnonymous) return reply.code(401).send({ error: 'a bearer token is required' });
      request.identity = ANONYMOUS_VIEWER;
      return;
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const identity = match?.[1] ? await users.verify(match[1]) : null;
    if (!identity) return reply.code(401).send({ error: 'invalid bearer token' });
    request.identity = identity;
  });
}
