import { z } from 'zod';
import { RunId } from './frame';
import { MAX_LEVEL } from './levelOfDetail';
import { StreamKey } from './messages';

/**
 * What this viewer asks for on slow links: `auto` (level and rate from its screen and link),
 * `full` (always full resolution, whatever the link: flow control only), `saver` (one level
 * coarser than auto, for metered links).
 */
export const LinkMode = z.enum(['auto', 'full', 'saver']);
export type LinkMode = z.infer<typeof LinkMode>;

const DevicePixels = z.number().int().positive().max(16_384);
const Span = z.tuple([z.number().finite(), z.number().finite()]);

/** One slice view as drawn now: its canvas in device pixels, and the part of the slice on it. */
export const DisplayedView = z
  .object({
    key: StreamKey,
    width: DevicePixels,
    height: DevicePixels,
    /**
     * The slice region visible, full-resolution pixels, half-open [start, end) rows and cols (may
     * extend past the slice when zoomed out or panned); absent: the whole slice.
     */
    rows: Span.optional(),
    cols: Span.optional(),
  })
  .strict();
export type DisplayedView = z.infer<typeof DisplayedView>;

/**
 * Viewer → gateway, when a view is resized, zoomed or panned, or the mode changes (the browser
 * sends at most a few per second; the gateway applies at most one per 100 ms, keeping the latest).
 * A viewer that never sends one gets every frame whole, as before levels of detail.
 */
export const ViewerDisplay = z
  .object({
    run: RunId,
    mode: LinkMode,
    views: z.array(DisplayedView).max(16),
  })
  .strict();
export type ViewerDisplay = z.infer<typeof ViewerDisplay>;

/** What this viewer gets of one slice stream now. */
export const StreamDelivery = z
  .object({
    key: StreamKey,
    /** Level of the last frame sent: 0 full resolution, k: 2^k × 2^k pixels averaged. */
    level: z.number().int().min(0).max(MAX_LEVEL),
    /** The last frame sent covered only the zoomed region. */
    cropped: z.boolean(),
    /** Frames sent per second over the last few seconds. */
    framesPerSecond: z.number().nonnegative().finite(),
  })
  .strict();
export type StreamDelivery = z.infer<typeof StreamDelivery>;

/** Gateway → viewer inside its run metrics: the link as measured from its acknowledgements. */
export const LinkReport = z
  .object({
    mode: LinkMode,
    /** Estimated throughput to this viewer, bytes per second; absent until measured. */
    bytesPerSecond: z.number().nonnegative().finite().optional(),
    /** Smallest recent send-to-acknowledge time, ms. */
    rttMs: z.number().nonnegative().finite().optional(),
    /** The link, not the screen, made the gateway send less than full resolution at full rate. */
    slow: z.boolean(),
    streams: z.array(StreamDelivery).max(16),
  })
  .strict();
export type LinkReport = z.infer<typeof LinkReport>;
