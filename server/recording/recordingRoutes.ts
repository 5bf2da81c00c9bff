import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  encodeFrameStream,
  FRAME_STREAM_TYPE,
  type ProducerMetricsAnswer,
  type RecordingAnswer,
  RunId,
  StreamKey,
} from '@/lib/protocol';
import { authorize } from '@/lib/policy';
import type { Recorder } from './Recorder';

/** Most frames and bytes one range answer carries: a client pages through longer spans. */
export const MAX_RANGE_FRAMES = 1000;
export const MAX_RANGE_BYTES = 256 * 2 ** 20;
/** Most producer metrics samples one answer carries (about 17 minutes at one a second). */
export const MAX_METRICS_SAMPLES = 1000;
/** A sample older than this at the instant asked for is not "the figures of the time" (ms). */
export const METRICS_IN_FORCE_MS = 10_000;

const Instant = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
interface SpanFields {
  at?: number;
  from?: number;
  to?: number;
}
const oneMoment = (q: SpanFields) =>
  (q.at !== undefined) !== (q.from !== undefined && q.to !== undefined);
const inOrder = (q: SpanFields) => q.from === undefined || q.to === undefined || q.from <= q.to;

/** A query for one instant (`at=`) or a span (`from=&to=`, at most `max` per answer). */
function instantOrSpan<T extends z.ZodRawShape>(fields: T, max: number) {
  return z
    .object({
      ...fields,
      at: Instant.optional(),
      from: Instant.optional(),
      to: Instant.optional(),
      limit: z.coerce.number().int().positive().max(max).optional(),
    })
    .strict()
    .refine((q) => oneMoment(q as SpanFields), {
      message: 'give either at=ISO-8601 or both from= and to=',
    })
    .refine((q) => inOrder(q as SpanFields), { message: 'from must not be after to' });
}
const FramesQuery = instantOrSpan({ stream: StreamKey }, MAX_RANGE_FRAMES);
const MetricsQuery = instantOrSpan({}, MAX_METRICS_SAMPLES);

/** The first issue of a refused query, as the 400 answer's text. */
function queryError(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || 'query'}: ${issue?.message}`;
}

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
    return { recording: summary } satisfies RecordingAnswer;
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/frames', async (request, reply) => {
    const run = runOf(request, reply);
    if (run === null) return reply;
    const query = FramesQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send({ error: queryError(query.error) });
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

  app.get<{ Params: { id: string } }>(
    '/api/runs/:id/producer-metrics',
    async (request, reply): Promise<ProducerMetricsAnswer | FastifyReply> => {
      const run = runOf(request, reply);
      if (run === null) return reply;
      const query = MetricsQuery.safeParse(request.query);
      if (!query.success) return reply.code(400).send({ error: queryError(query.error) });
      const q = query.data;
      if (!opts.recorder.summary(run))
        return reply.code(404).send({ error: `nothing recorded of run ${run}` });
      if (q.at !== undefined) {
        const sample = await opts.recorder.metricsAt(run, q.at, METRICS_IN_FORCE_MS);
        return { samples: sample ? [sample] : [], truncated: false };
      }
      return opts.recorder.metricsRange(run, q.from!, q.to!, q.limit ?? MAX_METRICS_SAMPLES);
    },
  );
}
