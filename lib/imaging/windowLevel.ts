import type { Pixels } from '@/lib/protocol';

/** A display window: values at or below `min` draw black, at or above `max` white. */
export interface DisplayWindow {
  min: number;
  max: number;
}

/**
 * Window from the histogram's percentiles (default 0.5–99.5 %, as ImageJ's and napari's auto
 * contrast do), so a few hot or dead pixels do not flatten the image. Samples at most ~65 k pixels.
 */
export function autoWindow(pixels: Pixels, lowPct = 0.5, highPct = 99.5): DisplayWindow {
  const n = pixels.length;
  if (n === 0) return { min: 0, max: 1 };
  const stride = Math.max(1, Math.floor(n / 65536));
  const sample: number[] = [];
  for (let i = 0; i < n; i += stride) {
    const v = pixels[i]!;
    if (Number.isFinite(v)) sample.push(v);
  }
  if (sample.length === 0) return { min: 0, max: 1 };
  sample.sort((a, b) => a - b);
  const at = (pct: number) =>
    sample[
      Math.min(sample.length - 1, Math.max(0, Math.round((pct / 100) * (sample.length - 1))))
    ]!;
  const min = at(lowPct);
  let max = at(highPct);
  if (max <= min) max = min + 1;
  return { min, max };
}

/** Maps pixels through the window to 8-bit grey RGBA (for a 2-D canvas). */
export function toGreyRgba(pixels: Pixels, window: DisplayWindow, out: Uint8ClampedArray): void {
  const scale = 255 / Math.max(window.max - window.min, Number.EPSILON);
  const lo = window.min;
  for (let i = 0, j = 0; i < pixels.length; i++, j += 4) {
    const g = (pixels[i]! - lo) * scale;
    const v = g <= 0 ? 0 : g >= 255 ? 255 : g;
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
    out[j + 3] = 255;
  }
}
