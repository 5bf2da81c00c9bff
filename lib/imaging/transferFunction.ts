import { LUT_SIZE } from './colormaps';

/** One control point of a transfer function: at normalised value `x` ∈ [0, 1], opacity ∈ [0, 1]. */
export interface TransferPoint {
  x: number;
  opacity: number;
}

/** Opacity at `x`, linear between control points, flat beyond the first and last. */
export function opacityAt(points: readonly TransferPoint[], x: number): number {
  if (points.length === 0) return 0;
  const first = points[0]!;
  if (x <= first.x) return first.opacity;
  for (let i = 1; i < points.length; i++) {
    const b = points[i]!;
    if (x <= b.x) {
      const a = points[i - 1]!;
      const t = b.x > a.x ? (x - a.x) / (b.x - a.x) : 1;
      return a.opacity + t * (b.opacity - a.opacity);
    }
  }
  return points[points.length - 1]!.opacity;
}

/** RGBA table for direct volume rendering: colour from the colormap's LUT, alpha from the points. */
export function transferTable(points: readonly TransferPoint[], lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(LUT_SIZE * 4);
  const sorted = [...points].sort((a, b) => a.x - b.x);
  for (let i = 0; i < LUT_SIZE; i++) {
    out[i * 4] = lut[i * 4]!;
    out[i * 4 + 1] = lut[i * 4 + 1]!;
    out[i * 4 + 2] = lut[i * 4 + 2]!;
    out[i * 4 + 3] = Math.round(
      Math.min(1, Math.max(0, opacityAt(sorted, i / (LUT_SIZE - 1)))) * 255,
    );
  }
  return out;
}
