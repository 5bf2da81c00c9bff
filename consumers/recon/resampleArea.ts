/**
 * Sparse weights averaging a line of unit-width source pixels into bins of `spacing` pixels, bin k
 * covering [start + k·spacing, start + (k+1)·spacing). Exact overlap areas, so binning by a
 * non-integer factor neither aliases nor shifts; parts of a bin outside the source are ignored.
 */
export interface AreaWeights {
  bins: number;
  /** For bin k: source indices `index[offsets[k] … offsets[k+1])` with `weight`s summing to 1. */
  offsets: Int32Array;
  index: Int32Array;
  weight: Float32Array;
}

export function areaWeights(
  sourceLength: number,
  start: number,
  spacing: number,
  bins: number,
): AreaWeights {
  const offsets = new Int32Array(bins + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let k = 0; k < bins; k++) {
    offsets[k] = index.length;
    const lo = start + k * spacing;
    const hi = lo + spacing;
    const first = index.length;
    let total = 0;
    for (let i = Math.max(0, Math.floor(lo)); i < Math.min(sourceLength, Math.ceil(hi)); i++) {
      const w = Math.min(hi, i + 1) - Math.max(lo, i);
      if (w <= 1e-9) continue;
      index.push(i);
      weight.push(w);
      total += w;
    }
    for (let j = first; j < weight.length; j++) weight[j]! /= total;
  }
  offsets[bins] = index.length;
  return { bins, offsets, index: Int32Array.from(index), weight: Float32Array.from(weight) };
}

/**
 * Resamples a row-major image [rows][cols] with separable area weights: `across` bins the
 * columns, `along` the rows. Writes `along.bins × across.bins` values into `out`.
 */
export function resampleImage(
  src: Float32Array,
  cols: number,
  across: AreaWeights,
  along: AreaWeights,
  out: Float32Array,
  outOffset = 0,
  scratch: Float32Array = new Float32Array(across.bins),
): void {
  for (let r = 0; r < along.bins; r++) {
    scratch.fill(0);
    for (let j = along.offsets[r]!; j < along.offsets[r + 1]!; j++) {
      const srcRow = along.index[j]! * cols;
      const wr = along.weight[j]!;
      for (let c = 0; c < across.bins; c++) {
        let sum = 0;
        for (let i = across.offsets[c]!; i < across.offsets[c + 1]!; i++)
          sum += src[srcRow + across.index[i]!]! * across.weight[i]!;
        scratch[c] = scratch[c]! + wr * sum;
      }
    }
    out.set(scratch, outOffset + r * across.bins);
  }
}
