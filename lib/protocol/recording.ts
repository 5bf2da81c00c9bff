import { z } from 'zod';
import { type Frame, FrameError, frameByteLength, parseHeader, toPixels } from './frame';
import { StreamKey } from './messages';
import { ProducerMetrics } from './producerMetrics';

/**
 * The instant a recording files a frame under, and that `at=` / `from=` / `to=` of the frames API
 * compare with: the gateway's `acceptedAt` (its clock, like the markers'), not the producer's
 * `publishedAt`. Stepping by `publishedAt` mixed the two clocks: under load a frame accepted more
 * than 1 ms after it was published was found again by "the first frame after this one".
 */
export function recordedAt(header: {
  acceptedAt?: number | undefined;
  publishedAt: number;
}): number {
  return header.acceptedAt ?? header.publishedAt;
}

/**
 * A moment on a run's timeline worth a marker: a steering command (a zoom, a parameter change, a
 * capture, …) as it was decided, or a change of the run's state. `t`: Unix epoch ms, gateway clock.
 */
export const RecordingMarker = z
  .object({
    t: z.number().nonnegative().finite(),
    kind: z.enum(['command', 'parameters', 'zoom', 'capture', 'state']),
    /** Short text for the marker's tooltip, e.g. "zoom applied" or "state: paused". */
    label: z.string().min(1).max(200),
  })
  .strict();
export type RecordingMarker = z.infer<typeof RecordingMarker>;

/** A span of a run the recording does not have, and why (retention deleted it, or the writer fell behind). */
export const DroppedSpan = z
  .object({
    reason: z.enum(['retention', 'queue-full']),
    /** Epoch ms of the first and last frame lost. */
    from: z.number(),
    to: z.number(),
    frames: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  })
  .strict();
export type DroppedSpan = z.infer<typeof DroppedSpan>;

/** Gateway → viewer (`GET /api/runs/:id/recording`): what is recorded of a run. */
export const RecordingSummary = z
  .object({
    run: z.string(),
    /** Epoch ms of the oldest and newest recorded frame; absent while nothing is recorded. */
    from: z.number().optional(),
    to: z.number().optional(),
    frames: z.number().int().nonnegative(),
    /** Bytes on disk (segments and indexes). */
    bytes: z.number().int().nonnegative(),
    segments: z.number().int().nonnegative(),
    streams: z.array(
      z.object({ key: StreamKey, frames: z.number().int(), from: z.number(), to: z.number() }),
    ),
    markers: z.array(RecordingMarker),
    dropped: z.array(DroppedSpan),
    retention: z.object({
      maxBytesPerRun: z.number(),
      maxBytes: z.number(),
      maxAgeMs: z.number(),
    }),
  })
  .strict();
export type RecordingSummary = z.infer<typeof RecordingSummary>;

/** One of the producer's metrics samples as recorded: when the gateway got it (epoch ms), and it. */
export const RecordedProducerMetrics = z
  .object({
    receivedAt: z.number().nonnegative().finite(),
    sample: ProducerMetrics,
  })
  .strict();
export type RecordedProducerMetrics = z.infer<typeof RecordedProducerMetrics>;

/**
 * Gateway → viewer (`GET /api/runs/:id/producer-metrics`): the sample in force at an instant
 * (`at=`, none when the producer had not reported for a while), or those of a span (`from=&to=`).
 */
/** Gateway → viewer (`GET /api/runs/:id/recording`): what is recorded of the run (404: nothing). */
export const RecordingAnswer = z.object({ recording: RecordingSummary }).strict();
export type RecordingAnswer = z.infer<typeof RecordingAnswer>;

export const ProducerMetricsAnswer = z
  .object({
    samples: z.array(RecordedProducerMetrics),
    /** More samples in the span than one answer carries: page on from the last one. */
    truncated: z.boolean(),
  })
  .strict();
export type ProducerMetricsAnswer = z.infer<typeof ProducerMetricsAnswer>;

/** Media type of `GET /api/runs/:id/frames`: frames one after the other, see encodeFrameStream. */
export const FRAME_STREAM_TYPE = 'application/vnd.loupe.frames';

/**
 * Frames as one binary body: per frame, u32 little-endian length n, n bytes of the frame's JSON
 * header (FrameHeader, as lib/protocol/frame.ts validates it), then its pixels (frameByteLength of
 * the header, little-endian). The same header and bytes a viewer receives over the socket.
 */
export function encodeFrameStream(
  frames: readonly { header: unknown; payload: Uint8Array }[],
): Uint8Array {
  const encoder = new TextEncoder();
  const parts = frames.map((f) => ({
    json: encoder.encode(JSON.stringify(f.header)),
    payload: f.payload,
  }));
  const total = parts.reduce((n, p) => n + 4 + p.json.byteLength + p.payload.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint32(o, p.json.byteLength, true);
    out.set(p.json, o + 4);
    out.set(p.payload, o + 4 + p.json.byteLength);
    o += 4 + p.json.byteLength + p.payload.byteLength;
  }
  return out;
}

/** Reads a body of encodeFrameStream; every header is validated, a truncated body is an error. */
export function decodeFrameStream(bytes: Uint8Array): Frame[] {
  const decoder = new TextDecoder();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Frame[] = [];
  let o = 0;
  while (o < bytes.byteLength) {
    if (o + 4 > bytes.byteLength) throw new FrameError('frame stream: truncated length');
    const n = view.getUint32(o, true);
    if (o + 4 + n > bytes.byteLength) throw new FrameError('frame stream: truncated header');
    let raw: unknown;
    try {
      raw = JSON.parse(decoder.decode(bytes.subarray(o + 4, o + 4 + n)));
    } catch {
      throw new FrameError('frame stream: header is not JSON');
    }
    const header = parseHeader(raw);
    const size = frameByteLength(header);
    const start = o + 4 + n;
    if (start + size > bytes.byteLength) throw new FrameError('frame stream: truncated pixels');
    frames.push({ header, pixels: toPixels(bytes.slice(start, start + size), header.dtype) });
    o = start + size;
  }
  return frames;
}
