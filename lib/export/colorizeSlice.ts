import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import { LUT_SIZE } from '@/lib/imaging/colormaps';

/**
 * RGBA of a slice as the viewer shows it: value → window → LUT entry, the CPU twin of the
 * renderer's shader (clamped at both ends, LUT of LUT_SIZE RGBA entries), for exported images.
 */
export function colorizeSlice(
  pixels: ArrayLike<number>,
  window: DisplayWindow,
  lut: Uint8Array,
  out: Uint8ClampedArray = new Uint8ClampedArray(pixels.length * 4),
): Uint8ClampedArray {
  const span = Math.max(window.max - window.min, Number.EPSILON);
  for (let i = 0; i < pixels.length; i++) {
    const t = (pixels[i]! - window.min) / span;
    // The shader samples the texel centre of t·(LUT_SIZE − 1): the nearest entry.
    const k = Math.round((t <= 0 ? 0 : t >= 1 ? 1 : t) * (LUT_SIZE - 1));
    out[i * 4] = lut[k * 4]!;
    out[i * 4 + 1] = lut[k * 4 + 1]!;
    out[i * 4 + 2] = lut[k * 4 + 2]!;
    out[i * 4 + 3] = 255;
  }
  return out;
}
