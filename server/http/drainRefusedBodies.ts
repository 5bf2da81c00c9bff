import type { FastifyInstance } from 'fastify';

/**
 * Largest refused body the gateway still reads (and discards) before answering, instead of
 * closing the connection under the sender. The UI's Next proxy buffers request bodies up to
 * 10 MB; above this the connection is closed as before, so nobody makes the gateway read without
 * bound.
 */
export const MAX_DRAINED_BODY_BYTES = 16 * 1024 * 1024;
/** A sender slower than this for the rest of its body gets the answer anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * The gateway answers some requests before reading their body: 401/403 from the hooks, 413 from
 * the body limit, 400 from the JSON parser. Node then closes the socket (the proxy asked for
 * `Connection: close`, or Fastify does after a refused body) with the body still arriving, and a
 * proxy in between — the UI's Next rewrite — fails writing (EPIPE) and answers 500 instead of the
 * gateway's status. For a body of declared, bounded length, read the rest first, then answer: the
 * status reaches the browser.
 */
export function drainRefusedBodies(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const raw = request.raw;
    if (raw.complete || raw.readableEnded) return payload;
    const declared = Number(request.headers['content-length']);
    if (!Number.isInteger(declared) || declared > MAX_DRAINED_BODY_BYTES) return payload;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
      raw.once('end', done);
      raw.once('close', done);
      raw.once('error', done);
      // Discard: the body was refused, nothing reads it.
      raw.on('data', () => undefined);
      raw.resume();
    });
    if (raw.complete && reply.getHeader('connection') === 'close') reply.removeHeader('connection');
    return payload;
  });
}
