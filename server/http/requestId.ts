import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Carries a request's id: read from a proxy or a forwarding gateway, sent back in every answer. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What an incoming id may look like: short, no spaces or control characters (it is logged). */
const SANE_ID = /^[A-Za-z0-9._:-]{8,100}$/;

/** Fastify's `genReqId`: the incoming X-Request-Id when it is sane, else a fresh UUID. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}
