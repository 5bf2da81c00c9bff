import { z } from 'zod';
import { RunId } from './frame';
import { StreamKey } from './messages';
import { ProducerMetrics } from './producerMetrics';
import { LinkReport } from './viewerDisplay';

const Count = z.number().int().nonnegative();

/**
 * One viewer's flow-control counters for one run, since it subscribed. Invariant, exact at every
 * sample: produced = delivered + replaced + rejected + pending.
 * - produced: frames of the run the producer sent since then, plus the snapshot given on joining;
 * - delivered: handed to this viewer's socket; replaced: dropped unsent because a newer frame of
 *   the same slot arrived; rejected: refused by the gateway (malformed, replayed sequence);
 * - pending: waiting in a slot right now for an acknowledgement to free it (at most one per slot).
 */
export const FlowCounters = z
  .object({
    produced: Count,
    delivered: Count,
    replaced: Count,
    rejected: Count,
    pending: Count,
    /** Delivered frames this viewer has acknowledged. */
    acknowledged: Count,
    /** Bytes sent but not yet acknowledged plus bytes pending, for this viewer (all runs). */
    bufferedBytes: Count,
    /** Delivered frames by level of detail: [full resolution, ½, ¼, ⅛]; they sum to `delivered`. */
    deliveredByLevel: z.tuple([Count, Count, Count, Count]).optional(),
  })
  .strict();
export type FlowCounters = z.infer<typeof FlowCounters>;

/** Arrival rate of one stream at the gateway. */
export const StreamRate = z
  .object({
    key: StreamKey,
    /** Frames per second accepted over the last few seconds. */
    framesPerSecond: z.number().nonnegative().finite(),
    lastSeq: z.number().int(),
  })
  .strict();
export type StreamRate = z.infer<typeof StreamRate>;

/**
 * Gateway → viewer, about once a second per followed run: this viewer's flow counters, the
 * streams' rates at the gateway and the producer's health, for the run's metrics panel.
 */
export const RunMetrics = z
  .object({
    run: RunId,
    /** Gateway wall clock, Unix epoch ms. */
    at: z.number().nonnegative().finite(),
    viewer: FlowCounters,
    streams: z.array(StreamRate),
    producer: z
      .object({
        connected: z.boolean(),
        /** Frames accepted from the producer since the gateway started. */
        accepted: Count,
        /** Frames refused (malformed, replayed) since the gateway started. */
        rejected: Count,
        /**
         * Frames and registrations for this run refused since the gateway started because their
         * sender may not publish it (another producer identity, or outside its scope).
         */
        refusedPushes: Count,
        lastFrameAt: z.number().optional(),
        /** The consumer's own latest report, if it sends them. */
        sample: ProducerMetrics.optional(),
      })
      .strict(),
    /** Viewers following the run on this gateway. */
    viewers: Count,
    /** This viewer's link and levels of detail, once it has reported its display. */
    link: LinkReport.optional(),
  })
  .strict();
export type RunMetrics = z.infer<typeof RunMetrics>;

/**
 * Why the gateway is about to disconnect a viewer: it stopped taking frames (`stalled-*`), its
 * credential expired or was revoked (`session-*`: limit = expiry and observed = now, epoch ms; 0
 * for a revocation), or it kept sending more messages than its budget (`rate-limited`: limit =
 * messages per window, observed = messages dropped).
 */
export const DisconnectNotice = z
  .object({
    code: z.enum([
      'stalled-seconds',
      'stalled-bytes',
      'session-expired',
      'session-revoked',
      'rate-limited',
    ]),
    message: z.string(),
    /** The limit crossed and what was observed, same unit. */
    limit: z.number().nonnegative(),
    observed: z.number().nonnegative(),
  })
  .strict();
export type DisconnectNotice = z.infer<typeof DisconnectNotice>;
