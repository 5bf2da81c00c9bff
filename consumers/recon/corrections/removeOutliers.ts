/**
 * Dezinger: replaces every pixel that differs from the median of its 3×3 neighbourhood by more than
 * `threshold` (in the image's units, e.g. counts) with that median — zingers are single-pixel hits
 * of scattered X-rays on the detector (tomopy's `remove_outlier`). Returns the pixels replaced.
 */
export function removeOutliers(
  image: Uint16Array | Float32Array,
  width: number,
  height: number,
  threshold: number,
  out: Float32Array = new Float32Array(image.length),
): number {
  if (image.length !== width * height) throw new Error('image must hold width × height pixels');
  if (!(threshold > 0)) throw new Error(`threshold must be positive, got ${threshold}`);
  const window = new Float64Array(9);
  let replaced = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      let n = 0;
      for (let dr = -1; dr <= 1; dr++) {
        const rr = Math.min(height - 1, Math.max(0, r + dr));
        for (let dc = -1; dc <= 1; dc++) {
          const cc = Math.min(width - 1, Math.max(0, c + dc));
          window[n++] = image[rr * width + cc]!;
        }
      }
      window.sort();
      const median = window[4]!;
      const v = image[r * width + c]!;
      if (Math.abs(v - median) > threshold) {
        out[r * width + c] = median;
        replaced++;
      } else out[r * width + c] = v;
    }
  }
  return replaced;
}
