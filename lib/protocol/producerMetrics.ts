import { z } from 'zod';
import { RunId } from './frame';

/**
 * Producer → gateway: the consumer's own speed, for the run's health chart. Rates are per second
 * over the last reporting interval (about one second).
 */
export const ProducerMetrics = z
  .object({
    run: RunId,
    /** Unix epoch milliseconds when the sample was taken. */
    at: z.number().nonnegative().finite(),
    projectionsPerSecond: z.number().nonnegative().finite(),
    slicesPerSecond: z.number().nonnegative().finite(),
    bricksPerSecond: z.number().nonnegative().finite(),
    /** Back-projection work: one voxel updated from one projection angle. */
    voxelAngleUpdatesPerSecond: z.number().nonnegative().finite(),
    /** Angular range of projections the reconstruction uses, degrees (180 once a half turn is in). */
    coverageDeg: z.number().nonnegative().max(360),
    /** Wall time of the last reconstruction cycle (three slices and its share of bricks), ms. */
    cycleMs: z.number().nonnegative().finite(),
    /** Age of the newest projection used when its slices were published, ms. */
    lagMs: z.number().nonnegative().finite(),
    paused: z.boolean(),
  })
  .strict();
export type ProducerMetrics = z.infer<typeof ProducerMetrics>;
