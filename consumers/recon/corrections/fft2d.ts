import FFT from 'fft.js';

/**
 * In-place 2-D complex FFT of a row-major [rows][cols] image stored interleaved (re, im), both sides
 * powers of two. fft.js transforms one line at a time; a 2-D transform is rows, then columns.
 */
export class Fft2d {
  private readonly rowFft: FFT;
  private readonly colFft: FFT;
  private readonly lineIn: number[];
  private readonly lineOut: number[];

  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    for (const n of [rows, cols])
      if (n < 4 || (n & (n - 1)) !== 0)
        throw new Error(`FFT sizes must be powers of two ≥ 4, got ${n}`);
    this.rowFft = new FFT(cols);
    this.colFft = new FFT(rows);
    const longest = Math.max(rows, cols);
    this.lineIn = new Array<number>(2 * longest).fill(0);
    this.lineOut = new Array<number>(2 * longest).fill(0);
  }

  forward(data: Float64Array): void {
    this.run(data, false);
  }

  /** Inverse transform, normalised (fft.js divides by n per line). */
  inverse(data: Float64Array): void {
    this.run(data, true);
  }

  private run(data: Float64Array, inverse: boolean): void {
    const { rows, cols, lineIn, lineOut } = this;
    if (data.length !== 2 * rows * cols)
      throw new Error('data must hold rows × cols complex values');
    for (let r = 0; r < rows; r++) {
      const base = 2 * r * cols;
      for (let i = 0; i < 2 * cols; i++) lineIn[i] = data[base + i]!;
      if (inverse) this.rowFft.inverseTransform(lineOut, lineIn);
      else this.rowFft.transform(lineOut, lineIn);
      for (let i = 0; i < 2 * cols; i++) data[base + i] = lineOut[i]!;
    }
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) {
        lineIn[2 * r] = data[2 * (r * cols + c)]!;
        lineIn[2 * r + 1] = data[2 * (r * cols + c) + 1]!;
      }
      if (inverse) this.colFft.inverseTransform(lineOut, lineIn);
      else this.colFft.transform(lineOut, lineIn);
      for (let r = 0; r < rows; r++) {
        data[2 * (r * cols + c)] = lineOut[2 * r]!;
        data[2 * (r * cols + c) + 1] = lineOut[2 * r + 1]!;
      }
    }
  }
}

/** Smallest power of two ≥ n (and ≥ 4). */
export function nextPowerOfTwo(n: number): number {
  let p = 4;
  while (p < n) p *= 2;
  return p;
}

/** Spatial frequency of FFT bin k of n samples spaced `pitch` apart, cycles per unit of pitch. */
export function binFrequency(k: number, n: number, pitch: number): number {
  return (k <= n / 2 ? k : k - n) / (n * pitch);
}
