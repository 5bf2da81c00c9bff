/**
 * Ring-artefact removal by column-mean smoothing (Rivers, 1998; tomopy's `remove_stripe_sf` is the
 * same idea): a detector pixel whose response is off by a constant adds that constant to its column
 * of the sinogram at every angle, and draws a ring in the slice. Averaged over angles the object is
 * a smooth profile across columns while a bad pixel is a step; a median across `size` columns of the
 * angle-mean profile is the profile without the steps, and the difference is each pixel's offset.
 * Works per projection once the means are known, so a streaming reconstruction can apply it.
 */

/** Per-pixel offsets [rows][columns] from angle-mean values [rows][columns]: mean − median-smoothed mean. */
export function stripeOffsets(
  means: Float64Array,
  columns: number,
  rows: number,
  size: number,
  out: Float32Array = new Float32Array(columns * rows),
): Float32Array {
  if (means.length !== columns * rows) throw new Error('means must hold rows × columns values');
  if (!Number.isInteger(size) || size < 3 || size % 2 === 0)
    throw new Error(`size must be an odd integer ≥ 3, got ${size}`);
  const half = (size - 1) / 2;
  const window = new Float64Array(size);
  for (let r = 0; r < rows; r++) {
    const row = r * columns;
    for (let c = 0; c < columns; c++) {
      let n = 0;
      for (let d = -half; d <= half; d++) {
        const cc = c + d;
        // Reflect at the edges so edge columns get a full window.
        const m = cc < 0 ? -cc : cc >= columns ? 2 * columns - 2 - cc : cc;
        window[n++] = means[row + Math.min(columns - 1, Math.max(0, m))]!;
      }
      window.sort();
      out[row + c] = means[row + c]! - window[half]!;
    }
  }
  return out;
}

/** A whole sinogram [angle][column] of −log projections, corrected: the batch form, for tests and tools. */
export function removeStripes(
  sinogram: Float32Array,
  angles: number,
  columns: number,
  size = 21,
): Float32Array {
  if (sinogram.length !== angles * columns)
    throw new Error('sinogram must hold angles × columns values');
  const means = new Float64Array(columns);
  for (let a = 0; a < angles; a++)
    for (let c = 0; c < columns; c++) means[c]! += sinogram[a * columns + c]! / angles;
  const offsets = stripeOffsets(means, columns, 1, size);
  return sinogram.map((v, i) => v - offsets[i % columns]!);
}

/**
 * The streaming form: keeps an exponential mean of every detector pixel over about the last half
 * turn of corrected (−log) projections and refreshes the offsets every `refreshEvery` projections,
 * so a changing sample or a drifting detector is followed.
 */
export class StripeEstimator {
  private readonly means: Float64Array;
  private readonly offsets: Float32Array;
  private seen = 0;

  constructor(
    readonly columns: number,
    readonly rows: number,
    /** Projections per half turn: the averaging horizon. */
    readonly horizon: number,
    readonly size = 21,
    readonly refreshEvery = 16,
  ) {
    this.means = new Float64Array(columns * rows);
    this.offsets = new Float32Array(columns * rows);
  }

  /** Adds a corrected projection to the means, then subtracts the current offsets from it in place. */
  correct(projection: Float32Array): void {
    const alpha = 1 / Math.min(++this.seen, this.horizon);
    const { means, offsets } = this;
    for (let i = 0; i < means.length; i++) means[i]! += alpha * (projection[i]! - means[i]!);
    if (this.seen % this.refreshEvery === 1 || this.seen <= this.refreshEvery)
      stripeOffsets(means, this.columns, this.rows, this.size, offsets);
    for (let i = 0; i < projection.length; i++) projection[i]! -= offsets[i]!;
  }
}
