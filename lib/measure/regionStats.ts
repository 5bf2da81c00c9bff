import type { ImagePoint } from './Measurement';
import type { SliceImage } from './sampleProfile';

export type RegionShape = 'rectangle' | 'ellipse';

export interface RegionStats {
  /** Pixels whose centre lies inside the region. */
  count: number;
  /** In the frame's value unit; NaN when count is 0. */
  mean: number;
  /** Population standard deviation (divides by count), as ImageJ's "StdDev" of a selection. */
  std: number;
  min: number;
  max: number;
}

/**
 * Statistics of the pixels whose centres lie inside the rectangle or the inscribed ellipse of the
 * box with corners a, b (image coordinates, clipped to the image). Accumulates in float64, with
 * Welford's update so a float32 slice of large values keeps its variance.
 */
export function regionStats(
  image: SliceImage,
  shape: RegionShape,
  a: ImagePoint,
  b: ImagePoint,
): RegionStats {
  const { pixels, rows, cols } = image;
  const c0 = Math.min(a.col, b.col);
  const c1 = Math.max(a.col, b.col);
  const r0 = Math.min(a.row, b.row);
  const r1 = Math.max(a.row, b.row);
  const cx = (c0 + c1) / 2;
  const cy = (r0 + r1) / 2;
  const rx = (c1 - c0) / 2;
  const ry = (r1 - r0) / 2;
  // Pixel c has its centre at c + 0.5: the first and last whose centres can be inside.
  const colFrom = Math.max(0, Math.ceil(c0 - 0.5));
  const colTo = Math.min(cols - 1, Math.floor(c1 - 0.5));
  const rowFrom = Math.max(0, Math.ceil(r0 - 0.5));
  const rowTo = Math.min(rows - 1, Math.floor(r1 - 0.5));
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let r = rowFrom; r <= rowTo; r++) {
    for (let c = colFrom; c <= colTo; c++) {
      if (shape === 'ellipse') {
        const dx = rx > 0 ? (c + 0.5 - cx) / rx : 0;
        const dy = ry > 0 ? (r + 0.5 - cy) / ry : 0;
        if (dx * dx + dy * dy > 1) continue;
      }
      const v = pixels[r * cols + c]!;
      count++;
      const delta = v - mean;
      mean += delta / count;
      m2 += delta * (v - mean);
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (count === 0) return { count: 0, mean: NaN, std: NaN, min: NaN, max: NaN };
  return { count, mean, std: Math.sqrt(m2 / count), min, max };
}
