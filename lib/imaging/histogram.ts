import type { Pixels } from '@/lib/protocol';
import type { DisplayWindow } from './windowLevel';

/** Counts of pixel values in equal-width bins over [lo, hi]. */
export interface Histogram {
  counts: Uint32Array;
  lo: number;
  hi: number;
  /** Pixels counted (finite values only; the image may have been sampled). */
  total: number;
}

/** Pixels read at most per histogram: ~1 M keeps a 2048² frame under ~5 ms while staying exact enough for percentiles. */
export const HISTOGRAM_SAMPLE_LIMIT = 1 << 20;

/** Finite minimum and maximum of the pixels (sampled with the same stride as the histogram). */
export function valueRange(pixels: Pixels, stride = 1): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels.length; i += stride) {
    const v = pixels[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? [0, 1] : [lo, hi];
}

/**
 * Histogram of `pixels` over `range` (default: their own min…max). Integer data narrower than
 * `bins` gets one bin per value so percentiles land on real values.
 */
export function computeHistogram(
  pixels: Pixels,
  bins = 256,
  range?: readonly [number, number],
): Histogram {
  const stride = Math.max(1, Math.floor(pixels.length / HISTOGRAM_SAMPLE_LIMIT));
  let [lo, hi] = range ?? valueRange(pixels, stride);
  if (!(hi > lo)) hi = lo + 1;
  const integer = !(pixels instanceof Float32Array);
  if (integer) {
    lo = Math.floor(lo);
    hi = Math.ceil(hi);
    if (hi - lo + 1 <= bins) {
      bins = hi - lo + 1;
      hi = lo + bins;
    }
  }
  const counts = new Uint32Array(bins);
  const scale = bins / (hi - lo);
  let total = 0;
  for (let i = 0; i < pixels.length; i += stride) {
    const v = pixels[i]!;
    if (!Number.isFinite(v)) continue;
    let b = Math.floor((v - lo) * scale);
    if (b < 0) b = 0;
    else if (b >= bins) b = bins - 1;
    counts[b]!++;
    total++;
  }
  return { counts, lo, hi, total };
}

/** The value below which `pct` percent of the histogram's pixels lie (bin lower edges). */
export function histogramPercentile(h: Histogram, pct: number): number {
  const target = (pct / 100) * h.total;
  const width = (h.hi - h.lo) / h.counts.length;
  let cumulative = 0;
  for (let b = 0; b < h.counts.length; b++) {
    cumulative += h.counts[b]!;
    if (cumulative > target) return h.lo + b * width;
  }
  return h.hi;
}

/** Auto-contrast window from a histogram: 0.5–99.5 % by default (ImageJ's and napari's habit). */
export function windowFromHistogram(h: Histogram, lowPct = 0.5, highPct = 99.5): DisplayWindow {
  const width = (h.hi - h.lo) / h.counts.length;
  const min = histogramPercentile(h, lowPct);
  let max = histogramPercentile(h, highPct) + width;
  if (max <= min) max = min + Math.max(width, Number.EPSILON);
  return { min, max };
}
