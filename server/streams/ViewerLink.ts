import {
  BYTES_PER_ELEMENT,
  type DisplayedView,
  type LinkMode,
  type LinkReport,
  MAX_LEVEL,
  type StreamKey,
  type ViewerDisplay,
} from '@/lib/protocol';
import type { StoredFrame } from './RunRegistry';
import { type LevelRequest, requestBytes } from './levels';

/** Window of the throughput estimate (ms): a few rounds of frames even at 1 Hz. */
const RATE_WINDOW_MS = 4000;
/** Window of the smallest round trip (ms). */
const RTT_WINDOW_MS = 10_000;
/** Share of the estimated throughput the slices may plan to use: headroom for bricks and jitter. */
const PLAN_SHARE = 0.7;
/** Rate a slice stream should reach before its resolution counts (Hz); less only if the source is slower. */
const TARGET_HZ = 4;
/** Data saver plans for this rate instead (Hz). */
const SAVER_TARGET_HZ = 2;
/**
 * Bytes in flight allowed per second of estimated throughput: frames queue in the network at
 * most this long (s), which with the round trip keeps a drawn frame under 1 s old.
 */
const QUEUE_SECONDS = 0.4;
/** Slice streams needing at most this (bytes/s at the target rate, 2 Mbit/s) always go exact. */
const ALWAYS_FITS_BYTES_PER_SECOND = 250_000;
/** How often (ms) and how long (ms) a viewer sent less than it asked for tries one step finer. */
const PROBE_EVERY_MS = 3000;
const PROBE_MS = 300;
/** A step finer is probed only if it would fit a link this many times the estimate. */
const PROBE_HEADROOM = 4;
/**
 * The preview volume should refresh whole within this long (s) on what the slices leave of the
 * link; a coarser level of its bricks where it would not.
 */
const VOLUME_REFRESH_S = 8;
/** Volumes this small (bytes; 16 Mbit) always go exact, as light slice streams do. */
const ALWAYS_FITS_VOLUME_BYTES = ALWAYS_FITS_BYTES_PER_SECOND * VOLUME_REFRESH_S;
/** A zoomed view whose visible region is under this share of the slice gets a crop, not the whole. */
const CROP_BELOW_SHARE = 0.5;
/** Crops are widened by this share of the visible span on each side, so a small pan stays covered. */
const CROP_MARGIN = 0.125;

interface Sample {
  at: number;
  bytesPerSecond: number;
}

/** What a frame remembers of the link at its sending (BBR's per-packet delivery state). */
export interface LinkStamp {
  /** Bytes acknowledged so far. */
  delivered: number;
  /** When the last acknowledgement came (ms). */
  deliveredAt: number;
  /** When the frame acknowledged last had been sent (ms). */
  firstSentAt: number;
  /** Whether nothing waited for the budget when it went: the viewer's demand, not the link, set the pace. */
  appLimited: boolean;
}

/**
 * Throughput to one viewer from its acknowledgements, in the manner of BBR's delivery rate: each
 * frame remembers the bytes acknowledged (and when) at its sending; its own acknowledgement then
 * yields (bytes acknowledged since) over the longer of the time since that acknowledgement and the
 * time the acknowledged bytes took to send. The second bound is what keeps a burst of late
 * acknowledgements (a browser busy for a moment, then acknowledging four frames at once) from
 * reading as a link faster than the one there is. No sample then exceeds what the link carried, so
 * the estimate is the largest over a few seconds; it falls when a slower link's samples are all
 * that remain. Small frames alone cannot fill a link: ViewerLink probes a finer level now and then
 * so the estimate can rise again.
 */
export class LinkEstimator {
  private acknowledgedBytes = 0;
  private lastAckAt = -Infinity;
  private lastAckedSentAt = -Infinity;
  private samples: Sample[] = [];
  private rtts: { at: number; ms: number }[] = [];

  /** What a frame must remember at sending. */
  stamp(now: number, idle: boolean, appLimited = false): LinkStamp {
    // A frame sent into an idle channel measures from its own sending, and so do the frames sent
    // with it before any acknowledgement (as BBR restarts its delivery clock after idle).
    if (idle) {
      this.lastAckAt = now;
      this.lastAckedSentAt = now;
    }
    return {
      delivered: this.acknowledgedBytes,
      deliveredAt: this.lastAckAt,
      firstSentAt: this.lastAckedSentAt,
      appLimited,
    };
  }

  acknowledged(bytes: number, sentAt: number, stamp: LinkStamp, now: number): void {
    this.acknowledgedBytes += bytes;
    this.lastAckAt = now;
    this.lastAckedSentAt = sentAt;
    this.rtts.push({ at: now, ms: now - sentAt });
    while (this.rtts.length > 0 && now - this.rtts[0]!.at > RTT_WINDOW_MS) this.rtts.shift();
    const elapsed = Math.max(now - stamp.deliveredAt, sentAt - stamp.firstSentAt);
    if (!(elapsed > 0)) return;
    const bytesPerSecond = ((this.acknowledgedBytes - stamp.delivered) * 1000) / elapsed;
    // As BBR does: a frame sent while nothing waited for the budget measures the viewer's demand,
    // not the link. Below the estimate it is dropped, and the estimate is kept rather than aged
    // out, so a quiet stream (or a busy page on a fast link) never reads as a slow link; once
    // frames wait for the budget again, their samples age the old ones out as usual.
    const current = this.bytesPerSecond();
    if (stamp.appLimited && current !== undefined && bytesPerSecond < current) return;
    while (this.samples.length > 0 && now - this.samples[0]!.at > RATE_WINDOW_MS)
      this.samples.shift();
    this.samples.push({ at: now, bytesPerSecond });
  }

  /** Bytes per second, undefined until the first acknowledgement. */
  bytesPerSecond(): number | undefined {
    return this.samples.length > 0
      ? Math.max(...this.samples.map((s) => s.bytesPerSecond))
      : undefined;
  }

  rttMs(): number | undefined {
    return this.rtts.length > 0 ? Math.min(...this.rtts.map((r) => r.ms)) : undefined;
  }
}

interface StreamState {
  offers: number[];
  sends: number[];
  lastLevel: number;
  lastCropped: boolean;
  /** Bytes of the slice last sent (0 for the volume's bricks). */
  lastBytes: number;
}

/**
 * One viewer's levels of detail: from the views it reported (device pixels, visible region) and its
 * link, which level and region of each slice it gets, and how many bytes may be in flight. A viewer
 * that never reported its display gets every frame whole (flow control only), as before.
 */
export class ViewerLink {
  readonly estimator = new LinkEstimator();
  private mode: LinkMode = 'full';
  /** Whether the viewer ever reported its display (then it gets a link report in its metrics). */
  reported = false;
  private views = new Map<StreamKey, DisplayedView>();
  private readonly streams = new Map<StreamKey, StreamState>();
  private slowNow = false;
  /** Whether the slices' last choice, probes aside, was coarser than their views need. */
  private slicesSlow = false;
  private probeUntil = -Infinity;
  private nextProbeAt = -Infinity;

  /** Applies a display report of one followed run. */
  display(report: ViewerDisplay): void {
    this.reported = true;
    this.mode = report.mode;
    this.views = new Map(report.views.map((v) => [v.key, v]));
  }

  /** Whether frames are being adapted (the viewer reported and did not ask for full quality). */
  get adapting(): boolean {
    return this.reported && this.mode !== 'full';
  }

  /**
   * Bytes this viewer may have in flight now: Infinity when not adapting; 0 (one frame at a time)
   * until the first acknowledgement has measured the link, so a slow link is not filled with
   * seconds of full-resolution frames before anything is known.
   */
  budgetBytes(): number {
    if (!this.adapting) return Infinity;
    return (this.estimator.bytesPerSecond() ?? 0) * QUEUE_SECONDS;
  }

  /** A frame of a slice stream was offered (for the source's rate). */
  offered(key: StreamKey, now: number): void {
    push(this.stream(key).offers, now);
  }

  /** The level and region of `frame` to send now, given `slices` slice streams in use. */
  request(frame: StoredFrame, slices: number, now: number): LevelRequest {
    const [rows, cols] = frame.header.shape as [number, number];
    const whole: LevelRequest = { level: 0, origin: [0, 0], extent: [rows, cols] };
    if (!this.adapting || frame.header.stream === 'volume') return whole;
    const view = this.views.get(frame.key);
    const visible = view ? visibleRegion(view, rows, cols) : null;
    const screen = view && visible ? screenLevel(view, visible) : 0;
    const saver = this.mode === 'saver';
    const first = saver ? Math.min(MAX_LEVEL, screen + 1) : screen;
    const options: LevelRequest[] = [];
    const zoomed =
      visible !== null && visible.extent[0] * visible.extent[1] < CROP_BELOW_SHARE * rows * cols;
    options.push({ ...whole, level: first });
    for (let level = first; level <= MAX_LEVEL; level++) {
      if (zoomed) options.push(crop(visible, level, rows, cols));
      else if (level > first) options.push({ ...whole, level });
    }
    const rate = this.estimator.bytesPerSecond();
    const state = this.stream(frame.key);
    const sourceHz = perSecond(state.offers, state.offers[state.offers.length - 1] ?? 0);
    const target = Math.min(saver ? SAVER_TARGET_HZ : TARGET_HZ, Math.max(1, sourceHz));
    // The link carries every slice stream: this one at the level in question, the others at what
    // they were sent at last (a zoomed plane's small crop beside two whole planes), and streams
    // not sent yet as if they were this one. A zoomed view's crop goes first: it is planned beside
    // the others at their coarsest, so the detail a scientist zooms into comes exact if it fits at
    // all, and the others take what it leaves (they see its crop's real size).
    let others = 0;
    let othersCoarsest = 0;
    let known = 0;
    for (const [key, s] of this.streams)
      if (
        key !== frame.key &&
        s.lastBytes > 0 &&
        now - (s.sends.at(-1) ?? -Infinity) <= STREAM_REPORTED_MS
      ) {
        others += s.lastBytes;
        othersCoarsest += s.lastCropped
          ? s.lastBytes
          : s.lastBytes / 4 ** (MAX_LEVEL - s.lastLevel);
        known++;
      }
    const unknown = Math.max(0, slices - 1 - known);
    const planned = (r: LevelRequest) => {
      const bytes = requestBytes(frame.header.dtype, r);
      const crop = zoomed && r !== options[0];
      return target * (bytes * (1 + unknown) + (crop ? othersCoarsest : others));
    };
    const fits = (r: LevelRequest, headroom = 1) =>
      rate === undefined || planned(r) <= PLAN_SHARE * rate * headroom;
    // Streams this light fit any link worth adapting to; a busy browser acknowledging late (it
    // looks like a slow link) must not cost it exact pixels.
    if (!saver && options[0]!.level === 0 && planned(options[0]!) <= ALWAYS_FITS_BYTES_PER_SECOND) {
      this.slicesSlow = false;
      return options[0]!;
    }
    let index = options.findIndex((r) => fits(r));
    if (index < 0) index = options.length - 1;
    this.slicesSlow = index > 0;
    // Probe: for a moment, one step finer, if it would fit a link a level's worth (4×) faster
    // than measured; its larger frames queue, so the estimate can rise to the real capacity.
    const finer = options[index - 1];
    if (finer && fits(finer, PROBE_HEADROOM) && now >= this.nextProbeAt) {
      this.probeUntil = now + PROBE_MS;
      this.nextProbeAt = now + PROBE_EVERY_MS;
    }
    if (finer && now < this.probeUntil) index--;
    this.slowNow = index > 0;
    return options[index]!;
  }

  /**
   * The level of `brick`'s volume for this viewer: on a link slow for the slices, the finest at
   * which the whole volume crosses what the slices leave of the link (30 % of the estimate) within
   * VOLUME_REFRESH_S; one level coarser in data saver. Full quality, an unmeasured link, a link
   * the slices fit and small volumes: exact.
   */
  brickLevel(brick: StoredFrame): number {
    const { header } = brick;
    if (!this.adapting || header.stream !== 'volume') return 0;
    const rate = this.estimator.bytesPerSecond();
    const [x, y, z] = header.volumeShape ?? [header.shape[2], header.shape[1], header.shape[0]];
    const bytes = x * y * z * BYTES_PER_ELEMENT[header.dtype];
    const saver = this.mode === 'saver' ? 1 : 0;
    // Only a link the slices already find slow reduces the volume: a busy browser acknowledging
    // late (it looks like a slow link) must not cost a large volume its exact voxels, and a link
    // that carries the slices whole also carries the volume, if in longer than VOLUME_REFRESH_S.
    if (rate === undefined || bytes <= ALWAYS_FITS_VOLUME_BYTES || !this.slicesSlow) return saver;
    const allowance = (1 - PLAN_SHARE) * rate * VOLUME_REFRESH_S;
    let level = 0;
    while (level < MAX_LEVEL && bytes / 8 ** level > allowance) level++;
    return Math.min(MAX_LEVEL, level + saver);
  }

  /** A frame of a slice stream went out at `level`. */
  sent(key: StreamKey, level: number, cropped: boolean, now: number, bytes = 0): void {
    const s = this.stream(key);
    push(s.sends, now);
    s.lastLevel = level;
    s.lastCropped = cropped;
    s.lastBytes = bytes;
  }

  report(now: number): LinkReport {
    const bytesPerSecond = this.estimator.bytesPerSecond();
    const rttMs = this.estimator.rttMs();
    return {
      mode: this.mode,
      ...(bytesPerSecond !== undefined && { bytesPerSecond }),
      ...(rttMs !== undefined && { rttMs }),
      slow: this.slowNow,
      streams: [...this.streams]
        .filter(([, s]) => s.sends.length > 0 && now - s.sends.at(-1)! <= STREAM_REPORTED_MS)
        .slice(0, 16)
        .map(([key, s]) => ({
          key,
          level: s.lastLevel,
          cropped: s.lastCropped,
          framesPerSecond: perSecond(s.sends, now),
        })),
    };
  }

  private stream(key: StreamKey): StreamState {
    let s = this.streams.get(key);
    if (!s)
      this.streams.set(
        key,
        (s = { offers: [], sends: [], lastLevel: 0, lastCropped: false, lastBytes: 0 }),
      );
    return s;
  }
}

/**
 * A stream is reported while it sent within this long (ms): one the viewer got once (the snapshot
 * of a view it does not show) would otherwise read as a stalled stream at 0 Hz for good.
 */
const STREAM_REPORTED_MS = 10_000;

/** Timestamps kept per stream for its rates: 10 Hz over ~3 s. */
const KEPT = 32;
const RATE_SPAN_MS = 3000;

function push(times: number[], now: number): void {
  times.push(now);
  if (times.length > KEPT) times.shift();
}

/** Events per second over the last RATE_SPAN_MS before `now`. */
function perSecond(times: readonly number[], now: number): number {
  const recent = times.filter((t) => now - t <= RATE_SPAN_MS);
  if (recent.length < 2) return recent.length / (RATE_SPAN_MS / 1000);
  return ((recent.length - 1) * 1000) / Math.max(1, recent[recent.length - 1]! - recent[0]!);
}

/** The visible part of the slice, clamped to it; null when nothing of it is on screen. */
function visibleRegion(
  view: DisplayedView,
  rows: number,
  cols: number,
): { origin: [number, number]; extent: [number, number]; span: [number, number] } | null {
  const [r0, r1] = view.rows ?? [0, rows];
  const [c0, c1] = view.cols ?? [0, cols];
  const top = Math.max(0, Math.floor(r0));
  const left = Math.max(0, Math.floor(c0));
  const bottom = Math.min(rows, Math.ceil(r1));
  const right = Math.min(cols, Math.ceil(c1));
  if (bottom <= top || right <= left) return null;
  return {
    origin: [top, left],
    extent: [bottom - top, right - left],
    // The whole span on screen (may exceed the slice): it sets the screen's pixels per slice pixel.
    span: [Math.max(1, r1 - r0), Math.max(1, c1 - c0)],
  };
}

/** Coarsest level whose pixels are still no larger than the screen's: 2^level ≤ slice px per device px. */
function screenLevel(view: DisplayedView, visible: { span: [number, number] }): number {
  const slicePerDevice = Math.min(visible.span[0] / view.height, visible.span[1] / view.width);
  if (!(slicePerDevice > 1)) return 0;
  return Math.min(MAX_LEVEL, Math.floor(Math.log2(slicePerDevice)));
}

/** The visible region widened by a margin and snapped to the level's 32-pixel grid, inside the slice. */
function crop(
  visible: { origin: [number, number]; extent: [number, number] },
  level: number,
  rows: number,
  cols: number,
): LevelRequest {
  const grid = 32 * 2 ** level;
  const edge = (start: number, length: number, limit: number): [number, number] => {
    const margin = Math.ceil(length * CROP_MARGIN);
    const from = Math.max(0, Math.floor((start - margin) / grid) * grid);
    const to = Math.min(limit, Math.ceil((start + length + margin) / grid) * grid);
    return [from, to - from];
  };
  const [top, height] = edge(visible.origin[0], visible.extent[0], rows);
  const [left, width] = edge(visible.origin[1], visible.extent[1], cols);
  return { level, origin: [top, left], extent: [height, width] };
}
