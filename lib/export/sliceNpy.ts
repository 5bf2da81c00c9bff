import { dump } from 'npyjs';
import type { Pixels } from '@/lib/protocol';

/**
 * A slice [rows, cols] or a volume [depth, rows, cols] as NumPy's .npy (C order, little-endian,
 * the frame's own dtype), so `numpy.load` gives the same numbers the viewer shows.
 */
export function encodeNpy(pixels: Pixels, shape: readonly number[]): ArrayBuffer {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== pixels.length)
    throw new Error(`${pixels.length} values do not fill shape ${shape.join('×')}`);
  return dump(pixels, [...shape]);
}
