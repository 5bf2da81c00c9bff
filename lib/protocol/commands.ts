import { z } from 'zod';
import { MAX_EDGE, MAX_SWEEP_CANDIDATES, Region, RunId } from './frame';
import { ParameterValues } from './parameters';

/**
 * Steering commands the gateway forwards to a run's consumer, and the consumer's answers.
 * The gateway (issue 6) records and authorises them; the consumer applies them.
 */

/** Unique per command, chosen by the gateway; a consumer that sees an id twice must not apply it twice. */
export const CommandId = z.string().min(1).max(128);
export type CommandId = z.infer<typeof CommandId>;

/**
 * Filters a filtered back-projection may apply to each projection row: the ramp, windowed
 * (Shepp–Logan, Hann, Parzen), or none (plain back-projection, blurred). The reference consumer
 * declares these as the choices of its `filter` parameter.
 */
export const ReconFilter = z.enum(['ramp', 'shepp-logan', 'hann', 'parzen', 'none']);
export type ReconFilter = z.infer<typeof ReconFilter>;
export const RECON_FILTERS: readonly ReconFilter[] = ReconFilter.options;

const base = { id: CommandId, run: RunId };

/**
 * Reconstruct only `region` at a finer voxel size (down to the detector pixel) and stream it as view
 * `roi`. The region is in voxels of the full view's volume (the `volumeShape` of `full` frames),
 * half-open, axes (x, y, z) with z along the rotation axis.
 */
export const ZoomCommand = z.object({ ...base, kind: z.literal('zoom'), region: Region }).strict();
/** Stop streaming the region; only the full view is reconstructed. */
export const ResetZoomCommand = z.object({ ...base, kind: z.literal('reset-zoom') }).strict();
/** Stop reconstructing and publishing until `resume`; the consumer keeps its projections. */
export const PauseCommand = z.object({ ...base, kind: z.literal('pause') }).strict();
export const ResumeCommand = z.object({ ...base, kind: z.literal('resume') }).strict();
/** Most projections one capture may keep from before its trigger (the consumer's ring is smaller). */
export const MAX_CAPTURE_PRECOUNT = 10_000;
/** Longest a capture may record after its trigger, seconds. */
export const MAX_CAPTURE_SECONDS = 600;

/**
 * Save projections to a DXchange file; the reply names it. Without `preCount` and `durationS`:
 * the last half turn. Otherwise, as tomostream does: the `preCount` newest projections before the
 * trigger, kept from the consumer's ring buffer (fewer if it holds fewer), then every projection
 * for `durationS` seconds after it, with the progress in the run's state message.
 */
export const CaptureCommand = z
  .object({
    ...base,
    kind: z.literal('capture'),
    preCount: z.number().int().min(0).max(MAX_CAPTURE_PRECOUNT).optional(),
    durationS: z.number().finite().min(0).max(MAX_CAPTURE_SECONDS).optional(),
  })
  .strict();
/**
 * Change parameters the run's consumer declared at registration (`RunRegistration.parameters`):
 * the named ones take the given values, the others keep theirs. The gateway refuses a name the run
 * did not declare and a value outside its type, range or choices before the consumer sees it.
 */
export const SetParametersCommand = z
  .object({ ...base, kind: z.literal('set-parameters'), values: ParameterValues })
  .strict();

/**
 * Reconstruct one xy slice (the middle of the full view) at `count` rotation centres `step` pixels
 * apart around `centre` (default: the centre in force), and stream them as one montage (view
 * `sweep`) with a score per candidate and a suggestion. Nothing else changes until a centre is set.
 */
export const CentreSweepCommand = z
  .object({
    ...base,
    kind: z.literal('centre-sweep'),
    count: z.number().int().min(3).max(MAX_SWEEP_CANDIDATES),
    /** Detector pixels between candidates. */
    step: z.number().finite().min(0.05).max(50),
    centre: z.number().finite().nonnegative().optional(),
  })
  .strict();

/**
 * Move the reconstructed slice planes: each given plane is reconstructed at that index along its
 * normal axis (xy: z, xz: y, yz: x), in voxels of the full view's volume; the others keep theirs.
 * Viewers coalesce these while dragging, so a consumer sees at most a few per second.
 */
export const SetSlicesCommand = z
  .object({
    ...base,
    kind: z.literal('set-slices'),
    positions: z
      .object({
        xy: z.number().int().nonnegative().max(MAX_EDGE).optional(),
        xz: z.number().int().nonnegative().max(MAX_EDGE).optional(),
        yz: z.number().int().nonnegative().max(MAX_EDGE).optional(),
      })
      .strict()
      .refine((p) => Object.keys(p).length > 0, { message: 'name at least one plane' }),
  })
  .strict();

/** Gateway → producer: one steering command. */
export const Command = z.discriminatedUnion('kind', [
  ZoomCommand,
  ResetZoomCommand,
  PauseCommand,
  ResumeCommand,
  CaptureCommand,
  SetParametersCommand,
  CentreSweepCommand,
  SetSlicesCommand,
]);
export type Command = z.infer<typeof Command>;
export type CommandKind = Command['kind'];

/**
 * Where a command stands on the consumer: `accepted` (taken, outcome follows as `command:update`),
 * `applied`, `failed` (tried and could not), `rejected` (malformed or not applicable, nothing done).
 */
export const CommandStatus = z.enum(['accepted', 'applied', 'failed', 'rejected']);
export type CommandStatus = z.infer<typeof CommandStatus>;

/** Producer → gateway: the answer to `command`, and (as `command:update`) its later outcome. */
export const CommandReply = z
  .object({
    id: CommandId,
    status: CommandStatus,
    /** Why it failed or was rejected, for the person who pressed the button. */
    reason: z.string().max(500).optional(),
    /** A human-readable note on what was done, e.g. "zoomed to 64×64×32 voxels at 1.3 µm". */
    detail: z.string().max(500).optional(),
    /** Path, on the consumer's file system, of a file the command produced (capture). */
    artifact: z.string().max(1000).optional(),
  })
  .strict()
  .refine((r) => (r.status !== 'failed' && r.status !== 'rejected') || r.reason !== undefined, {
    message: 'a failed or rejected command carries a reason',
  });
export type CommandReply = z.infer<typeof CommandReply>;

/** Producer → gateway: a command answered `accepted` has finished (`applied` or `failed`). */
export const CommandUpdate = z
  .object({ run: RunId, reply: CommandReply })
  .strict()
  .refine((u) => u.reply.status === 'applied' || u.reply.status === 'failed', {
    message: 'a command update reports applied or failed',
  });
export type CommandUpdate = z.infer<typeof CommandUpdate>;
