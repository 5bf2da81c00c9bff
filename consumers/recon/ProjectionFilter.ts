import FFT from 'fft.js';
import type { ReconFilter } from '@/lib/protocol';

/**
 * Frequency response of a windowed ramp filter for rows of `padded` samples spaced `spacing`
 * detector pixels apart, in fft.js's interleaved layout (real, so imaginary parts are 0).
 *
 * The ramp comes from the FFT of the band-limited spatial kernel (Kak & Slaney, eq. 61):
 * h(0) = 1/4, h(n odd) = −1/(πn)², h(n even) = 0, which has no DC offset, unlike a sampled |ω|.
 * Windows: Shepp–Logan multiplies by sinc(ν), Hann by ½(1 + cos 2πν), Parzen by the cubic
 * de la Vallée Poussin window, ν the frequency in cycles per sample (0 … ½); `none` is no filter. The 1/spacing factor makes back-projected values attenuation per pixel.
 */
export function filterResponse(filter: ReconFilter, padded: number, spacing: number): Float64Array {
  const fft = new FFT(padded);
  const kernel = new Array<number>(padded).fill(0);
  kernel[0] = 0.25;
  for (let n = 1; n < padded / 2; n += 2) {
    const h = -1 / (Math.PI * n) ** 2;
    kernel[n] = h;
    kernel[padded - n] = h;
  }
  const spectrum = fft.createComplexArray() as number[];
  fft.realTransform(spectrum, kernel);
  fft.completeSpectrum(spectrum);
  const response = new Float64Array(padded);
  for (let k = 0; k < padded; k++) {
    const nu = Math.min(k, padded - k) / padded;
    let window = 1;
    if (filter === 'shepp-logan') window = nu === 0 ? 1 : Math.sin(Math.PI * nu) / (Math.PI * nu);
    else if (filter === 'hann') window = 0.5 * (1 + Math.cos(2 * Math.PI * nu));
    else if (filter === 'parzen') window = parzen(2 * nu);
    // 'none': no ramp at all, the plain (blurred) back-projection.
    response[k] = filter === 'none' ? 1 : (spectrum[2 * k]! * window) / spacing;
  }
  return response;
}

/** Parzen (de la Vallée Poussin) window at t = ν / Nyquist, 0 … 1: smoother roll-off than Hann. */
function parzen(t: number): number {
  return t <= 0.5 ? 1 - 6 * t * t + 6 * t * t * t : 2 * (1 - t) ** 3;
}

/** Smallest power of two ≥ 2n: zero padding to twice the row stops the circular wrap-around. */
export function paddedLength(n: number): number {
  let p = 1;
  while (p < 2 * n) p *= 2;
  return Math.max(p, 4); // fft.js needs at least 4 points
}

/** Filters rows of projections with one windowed ramp; reuses its FFT buffers between rows. */
export class ProjectionFilter {
  readonly padded: number;
  private readonly fft: FFT;
  private readonly response: Float64Array;
  private readonly input: number[];
  private readonly spectrum: number[];
  private readonly output: number[];

  constructor(
    readonly filter: ReconFilter,
    readonly length: number,
    readonly spacing: number,
  ) {
    this.padded = paddedLength(length);
    this.fft = new FFT(this.padded);
    this.response = filterResponse(filter, this.padded, spacing);
    this.input = new Array<number>(this.padded).fill(0);
    this.spectrum = this.fft.createComplexArray() as number[];
    this.output = this.fft.createComplexArray() as number[];
  }

  /** Filters `rows` rows of `length` samples from `src` into `dst` (may be the same array). */
  filterRows(
    src: Float32Array,
    dst: Float32Array,
    rows: number,
    srcOffset = 0,
    dstOffset = 0,
  ): void {
    const n = this.length;
    const { input, spectrum, output, response, fft } = this;
    for (let row = 0; row < rows; row++) {
      const s = srcOffset + row * n;
      for (let i = 0; i < n; i++) input[i] = src[s + i]!;
      // input[n…padded) stays zero from construction.
      fft.realTransform(spectrum, input);
      fft.completeSpectrum(spectrum);
      for (let k = 0; k < this.padded; k++) {
        const h = response[k]!;
        spectrum[2 * k] = spectrum[2 * k]! * h;
        spectrum[2 * k + 1] = spectrum[2 * k + 1]! * h;
      }
      fft.inverseTransform(output, spectrum);
      const d = dstOffset + row * n;
      for (let i = 0; i < n; i++) dst[d + i] = output[2 * i]!;
    }
  }
}
