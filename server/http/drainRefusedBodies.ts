import type { FastifyInstance } from 'fastify';

/**
 * Largest refused body the gateway still reads (and discards) to the end instead of closing the
 * connection under the sender. The UI's Next proxy buffers request bodies up to 10 MB; above this
 * the connection is closed as Fastify does, so nobody can make the gateway read without bound.
 */
export const MAX_DRAINED_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Fastify answers a body it refuses (413 too large, 400 bad JSON, 415) with `Connection: close`
 * and drops the connection while the client may still be sending. A proxy in between (the UI's
 * Next rewrite) then fails writing and answers 500 instead of the gateway's status. For a body
 * of declared, bounded length, keep the connection and let Node discard the rest after the
 * answer, so the status reaches the browser through the proxy.
 */
export function drainRefusedBodies(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.getHeader('connection') !== 'close' || request.raw.complete) return payload;
    const declared = Number(request.headers['content-length']);
    if (!Number.isInteger(declared) || declared > MAX_DRAINED_BODY_BYTES) return payload;
    reply.removeHeader('connection');
    // Node's server reads an unconsumed body to its (declared) end once the answer is sent.
    request.raw.resume();
    return payload;
  });
}
