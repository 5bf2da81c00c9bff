import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { encodeFrameStream, FRAME_STREAM_TYPE, RunId, StreamKey } from '@/lib/protocol';
import { authorize } from '../steering/policy';
import type { Recorder } from './Recorder';

/** Most frames and bytes one range answer carries: a client pages through longer spans. */
export const MAX_RANGE_FRAMES = 1000;
export const MAX_RANGE_BYTES = 256 * 2 ** 20;

const Instant = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const FramesQuery = z
  .object({
    stream: StreamKey,
    at: Instant.optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    limit: z.coerce.number().int().positive().max(MAX_RANGE_FRAMES).optional(),
  })
  .strict()
  .refine((q) => (q.at !== undefined) !== (q.from !== undefined && q.to !== undefined), {
    message: 'give either at=ISO-8601 or both from= and to=',
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: 'from must not be after to',
  });

/** Reads of a run's recording, authorised exactly like reading the run. */
export async function recordingRoutes(
  app: FastifyInstance,
  opts: { recorder: Recorder },
): Promise<void> {
  const runOf = (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const id = RunId.safeParse(request.params.id);
    if (!id.success) {
      void reply.code(400).send({ error: 'invalid run id' });
      return null;
    }
    const decision = authorize(request.identity, { kind: 'run:read', run: id.data });
    if (!decision.allowed) {
      void reply.code(403).send({ error: `forbidden: ${decision.reason}` });
      return null;
    }
    return id.data;
  };

  app.get<{ Params: { id: string } }>('/api/runs/:id/recording', async (request, reply) => {
    const run = runOf(request, reply);
    if (run === null) return reply;
    const summary = opts.recorder.summary(run);
    if (!summary) return reply.code(404).send({ error: `nothing recorded of run ${run}` });
    return { recording: summary };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/frames', async (request, reply) => {
    const run = runOf(request, reply);
    if (run === null) return reply;
    const query = FramesQuery.safeParse(request.query);
    if (!query.success) {
      const issue = query.error.issues[0];
      return reply
        .code(400)
        .send({ error: `${issue?.path.join('.') || 'query'}: ${issue?.message}` });
    }
    const q = query.data;
    let frames;
    let truncated = false;
    if (q.at !== undefined) {
      frames = await opts.recorder.frameAt(run, q.stream, q.at);
      if (frames.length === 0)
        return reply
          .code(404)
          .send({ error: `no ${q.stream} frame recorded at or before that instant` });
    } else {
      ({ frames, truncated } = await opts.recorder.range(
        run,
        q.stream,
        q.from!,
        q.to!,
        q.limit ?? MAX_RANGE_FRAMES,
        MAX_RANGE_BYTES,
      ));
    }
    return reply
      .type(FRAME_STREAM_TYPE)
      .header('x-loupe-frames', String(frames.length))
      .header('x-loupe-truncated', String(truncated))
      .send(Buffer.from(encodeFrameStream(frames).buffer));
  });
}
