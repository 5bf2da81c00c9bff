/**
 * Ring-artefact removal by the sorting-based method of Vo, Atwood & Drakopoulos (Opt. Express 26,
 * 28396, 2018, algorithm 3): a detector pixel whose response is off by a constant draws a stripe
 * down the sinogram and a ring in the slice. Sorting each column of the sinogram along the angle
 * axis turns the object's structure into smooth ramps while a stripe stays a step between
 * neighbouring columns; a median across `size` columns of the sorted sinogram removes the step, and
 * the values go back to their original angles.
 *
 * `sinogram` is [angle][column] of −log projections; returns a corrected copy.
 */
export function removeStripesSorting(
  sinogram: Float32Array,
  angles: number,
  columns: number,
  size = 21,
): Float32Array {
  if (sinogram.length !== angles * columns)
    throw new Error('sinogram must hold angles × columns values');
  if (!Number.isInteger(size) || size < 3 || size % 2 === 0)
    throw new Error(`size must be an odd integer ≥ 3, got ${size}`);
  const sorted = new Float32Array(sinogram.length);
  const rank = new Int32Array(sinogram.length); // rank[a·columns + c]: angle index of the a-th smallest
  const order = new Int32Array(angles);
  const column = new Float32Array(angles);
  for (let c = 0; c < columns; c++) {
    for (let a = 0; a < angles; a++) {
      order[a] = a;
      column[a] = sinogram[a * columns + c]!;
    }
    order.sort((x, y) => column[x]! - column[y]!);
    for (let a = 0; a < angles; a++) {
      sorted[a * columns + c] = column[order[a]!]!;
      rank[a * columns + c] = order[a]!;
    }
  }
  const half = (size - 1) / 2;
  const window = new Float32Array(size);
  const out = new Float32Array(sinogram.length);
  for (let a = 0; a < angles; a++) {
    const row = a * columns;
    for (let c = 0; c < columns; c++) {
      let n = 0;
      for (let d = -half; d <= half; d++) {
        const cc = c + d;
        // Reflect at the edges so edge columns get a full window.
        const m = cc < 0 ? -cc : cc >= columns ? 2 * columns - 2 - cc : cc;
        window[n++] = sorted[row + m]!;
      }
      window.sort();
      out[rank[row + c]! * columns + c] = window[half]!;
    }
  }
  return out;
}
