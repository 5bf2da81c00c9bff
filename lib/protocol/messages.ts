import { z } from 'zod';
import { FrameHeader, RunId, StreamName, View } from './frame';
import { ParameterDeclarations, ParameterValues, RunParameters } from './parameters';
import { SystemId } from './facilities';

/** Sent in the Socket.IO handshake (`auth`) by every client, producer or viewer. */
export const ConnectAuth = z.object({
  protocolVersion: z.number().int(),
  /** Bearer token; viewers may omit it where the gateway allows anonymous read-only access. */
  token: z.string().min(1).max(4096).optional(),
});
export type ConnectAuth = z.infer<typeof ConnectAuth>;

/** Why a connection was refused; carried as `connect_error`'s `data`. */
export const RefusalCode = z.enum([
  'client-too-old',
  'server-too-old',
  'unauthorized',
  'forbidden',
  'bad-request',
]);
export type RefusalCode = z.infer<typeof RefusalCode>;
export const ConnectRefusal = z.object({
  code: RefusalCode,
  message: z.string(),
  serverVersion: z.number().int(),
});
export type ConnectRefusal = z.infer<typeof ConnectRefusal>;

/**
 * Lifecycle of a run as the gateway sees it. `ended`: the facility job Loupe submitted for the run
 * (a resubmit) ended at its site — completed, failed, cancelled, out of walltime, node failure —
 * and nothing streams it; the summary's `job` says how, in the facility's words.
 */
export const RunState = z.enum([
  'waiting',
  'streaming',
  'paused',
  'stalled',
  'finished',
  'failed',
  'ended',
]);
export type RunState = z.infer<typeof RunState>;

/** Key of one stream of a run: `full/xy`, `roi/volume`, … */
export const StreamKey = z.templateLiteral([View, '/', StreamName]);
export type StreamKey = z.infer<typeof StreamKey>;
export function streamKey(view: View, stream: StreamName): StreamKey {
  return `${view}/${stream}`;
}

/**
 * Where a frame sits among a run's latest frames: its stream key, and for a volume brick its
 * offset (`full/volume@32,0,96`; the origin when the producer sent none), since each brick of a
 * volume is kept beside the others while a slice replaces the one before. The one slot key of
 * the gateway's snapshot and flow control, the recorder and the test probes.
 */
export function slotKey(header: FrameHeader): string {
  const key = streamKey(header.view, header.stream);
  if (header.stream !== 'volume') return key;
  const [x, y, z] = header.brickOffset ?? [0, 0, 0];
  return `${key}@${x},${y},${z}`;
}

/**
 * Producer → gateway: declare (or resume) a run. `lastSent` is, per stream, the last sequence number
 * this producer sent before it lost its connection, so the gateway can say what it kept.
 */
export const RunRegistration = z
  .object({
    run: RunId,
    title: z.string().min(1).max(200),
    sample: z.string().max(200).optional(),
    beamline: z.string().max(64).optional(),
    lastSent: z.partialRecord(StreamKey, z.number().int().min(-1)).optional(),
    /** What this consumer can be steered on (`set-parameters`); none: only the fixed commands. */
    parameters: ParameterDeclarations.optional(),
    /** Its values now, when they are not the declared defaults (a resumed consumer). */
    values: ParameterValues.optional(),
  })
  .strict();
export type RunRegistration = z.infer<typeof RunRegistration>;

/** Gateway → producer, answering `run:register`: per stream, the last sequence number it kept. */
export const RegisterReply = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    run: RunId,
    lastKept: z.partialRecord(StreamKey, z.number().int().min(-1)),
  }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type RegisterReply = z.infer<typeof RegisterReply>;

/** Producer → gateway: the producer's own account of its run's state. */
export const RunStateReport = z
  .object({ run: RunId, state: RunState, message: z.string().max(500).optional() })
  .strict();
export type RunStateReport = z.infer<typeof RunStateReport>;

/** Generic acknowledgement for a producer's message. */
export const Ack = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type Ack = z.infer<typeof Ack>;

/** Stream-level facts a viewer needs without decoding frames. */
export const StreamInfo = z.object({
  key: StreamKey,
  lastSeq: z.number().int(),
  lastFrameAt: z.number(),
});
export type StreamInfo = z.infer<typeof StreamInfo>;

/** A facility job's state in PSI/J's terms (IRI's JobState; a Slurm site's states map onto them). */
export const JobStatus = z.enum([
  'new',
  'queued',
  'held',
  'active',
  'completed',
  'failed',
  'canceled',
]);
export type JobStatus = z.infer<typeof JobStatus>;
export const JOB_ENDED: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'canceled']);

/**
 * The facility job Loupe last submitted for a run (resubmit), as its site reports it. Times are
 * epoch ms; `facilityState` is the site's own word (Slurm `TIMEOUT`, `NODE_FAIL`; IRI's state).
 */
export const RunJob = z.object({
  /** The resubmit command that submitted it. */
  command: z.string().min(1).max(100),
  system: SystemId,
  /** The facility's job id. */
  jobId: z.string().min(1).max(100),
  state: JobStatus,
  facilityState: z.string().max(64).nullable(),
  /** The facility's message (Slurm's reason, IRI `status.message`, RFC 9457 `detail`). */
  message: z.string().max(500).nullable(),
  exitCode: z.number().int().nullable(),
  /** Requested walltime, seconds. */
  walltimeS: z.number().nonnegative(),
  submittedAt: z.number(),
  /** The site's own expected start of a queued job, when it publishes one. */
  startEstimate: z.number().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
});
export type RunJob = z.infer<typeof RunJob>;

/** Gateway → viewer: a run as listed on the overview and at the top of the run page. */
export const RunSummary = z.object({
  id: RunId,
  title: z.string(),
  sample: z.string().optional(),
  beamline: z.string().optional(),
  state: RunState,
  producerConnected: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
  lastFrameAt: z.number().optional(),
  framesReceived: z.number().int().nonnegative(),
  streams: z.array(StreamInfo),
  /** The consumer's declared parameters and their values now (after applied changes). */
  parameters: RunParameters.optional(),
  /** The consumer's note on its state, e.g. a capture's progress; absent when it has none. */
  stateMessage: z.string().max(500).optional(),
  /** The facility job Loupe last submitted for this run, while the gateway follows it. */
  job: RunJob.optional(),
  /**
   * How many times the gateway dropped the run's region-of-interest streams (the job that made
   * them ended, or a new job took the run over): a viewer that sees it grow forgets its `roi`
   * frames, and with them the region's overlays.
   */
  roiEpoch: z.number().int().nonnegative().optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** Viewer → gateway: start or stop receiving a run's streams. */
export const SubscribeRequest = z.object({ run: RunId }).strict();
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export const SubscribeReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), run: RunSummary }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type SubscribeReply = z.infer<typeof SubscribeReply>;

/** Gateway → any client: a message of theirs was refused; nothing it asked for happened. */
export const ProtocolError = z.object({
  code: z.enum(['invalid-message', 'too-large', 'forbidden', 'unknown-run', 'rate-limited']),
  message: z.string(),
  /** The event that was refused. */
  event: z.string().optional(),
});
export type ProtocolError = z.infer<typeof ProtocolError>;

export { FrameHeader };
