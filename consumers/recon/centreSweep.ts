import type { ProjectionRing, ProjectionWindow } from './ProjectionRing';

/*
 * The pieces of the centre sweep (the `sweep-centre` command) that need nothing of the
 * consumer's state: the sinogram Vo's Fourier metric scores, and the montage of candidate slices
 * published as view `sweep`.
 */

/**
 * Detector row `row` of the window's projections (flat/dark corrected, −log) resampled to
 * `slots` evenly spaced angles over the half turn ending at the newest, each from the nearest
 * projection; null when the window covers less than 95 % of a half turn.
 */
export function evenSinogram(
  win: ProjectionWindow,
  ring: Pick<ProjectionRing, 'get'>,
  fields: { flat: Float32Array; dark: Float32Array },
  width: number,
  row: number,
): Float32Array | null {
  const n = win.slots.length;
  if (n < 8 || win.coverage < 0.95 * Math.PI) return null;
  const byAngle = win.slots
    .map((slot, k) => ({ slot, angle: win.angles[k]! }))
    .sort((a, b) => a.angle - b.angle);
  const newest = byAngle[n - 1]!.angle;
  const { flat, dark } = fields;
  const w = width;
  const out = new Float32Array(n * w);
  let k = 0;
  for (let j = 0; j < n; j++) {
    const target = newest - Math.PI + ((j + 1) * Math.PI) / n;
    while (
      k + 1 < n &&
      Math.abs(byAngle[k + 1]!.angle - target) <= Math.abs(byAngle[k]!.angle - target)
    )
      k++;
    const counts = ring.get(byAngle[k]!.slot)!.counts;
    for (let i = 0; i < w; i++) {
      const at = row * w + i;
      const t = (counts[at]! - dark[at]!) / Math.max(1e-6, flat[at]! - dark[at]!);
      out[j * w + i] = -Math.log(Math.max(1e-4, t));
    }
  }
  return out;
}

/** Candidate slices (`rows` × `cols` each) side by side in one row, scaled to the published unit. */
export function montageRow(
  images: readonly Float32Array[],
  rows: number,
  cols: number,
  scale: number,
): Float32Array {
  const count = images.length;
  const montage = new Float32Array(rows * cols * count);
  images.forEach((img, k) => {
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        montage[r * cols * count + k * cols + c] = img[r * cols + c]! * scale;
  });
  return montage;
}
