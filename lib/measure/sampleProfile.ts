import type { ImagePoint } from './Measurement';

/** How a profile reads values between pixel centres. */
export type Sampling = 'nearest' | 'bilinear';

export interface ProfileSample {
  /** Where the sample was taken, image coordinates. */
  col: number;
  row: number;
  /** Distance from the line's start, µm. */
  distanceUm: number;
  /** The value there, in the frame's value unit; NaN outside the image. */
  value: number;
}

export interface SliceImage {
  pixels: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** Physical size of one slice pixel, µm, along columns and along rows (they may differ). */
export interface PixelPitch {
  colUm: number;
  rowUm: number;
}

/** Length of the segment a→b in µm. */
export function lineLengthUm(a: ImagePoint, b: ImagePoint, pitch: PixelPitch): number {
  return Math.hypot((b.col - a.col) * pitch.colUm, (b.row - a.row) * pitch.rowUm);
}

/**
 * The value at image point (col, row). `nearest` returns the pixel the point falls in (the value a
 * readout shows, exactly a pixel of the frame); `bilinear` interpolates between the four nearest
 * pixel centres, clamping at the edges as ImageJ does. NaN outside the image.
 */
export function sampleAt(image: SliceImage, col: number, row: number, sampling: Sampling): number {
  const { pixels, rows, cols } = image;
  if (!(col >= 0 && row >= 0 && col < cols && row < rows)) return NaN;
  if (sampling === 'nearest') return pixels[Math.floor(row) * cols + Math.floor(col)]!;
  const u = Math.min(cols - 1, Math.max(0, col - 0.5));
  const v = Math.min(rows - 1, Math.max(0, row - 0.5));
  const c0 = Math.floor(u);
  const r0 = Math.floor(v);
  const c1 = Math.min(cols - 1, c0 + 1);
  const r1 = Math.min(rows - 1, r0 + 1);
  const fu = u - c0;
  const fv = v - r0;
  const top = pixels[r0 * cols + c0]! * (1 - fu) + pixels[r0 * cols + c1]! * fu;
  const bottom = pixels[r1 * cols + c0]! * (1 - fu) + pixels[r1 * cols + c1]! * fu;
  return top * (1 - fv) + bottom * fv;
}

/** Most samples along one profile: a 4096-pixel diagonal needs ~5800 at one per pixel. */
export const MAX_PROFILE_SAMPLES = 8192;

/**
 * Values along the segment a→b, one sample per pixel of length (at least 2: both ends), evenly
 * spaced and including both ends, as ImageJ's straight-line profile does.
 */
export function sampleProfile(
  image: SliceImage,
  a: ImagePoint,
  b: ImagePoint,
  pitch: PixelPitch,
  sampling: Sampling,
): ProfileSample[] {
  const pixelsLong = Math.hypot(b.col - a.col, b.row - a.row);
  const count = Math.min(MAX_PROFILE_SAMPLES, Math.max(2, Math.round(pixelsLong) + 1));
  const total = lineLengthUm(a, b, pitch);
  const out: ProfileSample[] = [];
  for (let i = 0; i < count; i++) {
    const t = i / (count - 1);
    const col = a.col + (b.col - a.col) * t;
    const row = a.row + (b.row - a.row) * t;
    out.push({ col, row, distanceUm: total * t, value: sampleAt(image, col, row, sampling) });
  }
  return out;
}
