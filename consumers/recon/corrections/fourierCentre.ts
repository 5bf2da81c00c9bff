import FFT from 'fft.js';
import { nextPowerOfTwo } from './fft2d';

/** What the Fourier metric's scores measure, for people reading the sweep's plot. */
export const FOURIER_METRIC = 'Fourier double-wedge energy (Vo 2014, lower is better)';

export interface FourierCentreOptions {
  /**
   * Radius of the object in detector pixels (default: half the detector, any object in the field
   * of view): a sinogram of such an object has no energy where |m| > radius·|ω|.
   */
  radius?: number;
  /** Angular harmonics |m| below this are left out: they hold the DC and intensity drifts. */
  drop?: number;
}

/**
 * Rotation-centre scores by Vo, Atwood & Drakopoulos (Opt. Express 22, 19078, 2014), as tomopy's
 * `find_center_vo`: the 180° sinogram and its mirror (the projections at θ + π, about candidate
 * centre c) make a 360° sinogram; the 2-D spectrum of a correct one is empty outside the double
 * wedge |m| ≤ R·|ω| (m: angular harmonic, ω: spatial frequency, R: object radius), and a wrong
 * centre puts a seam at θ = π that fills it. The score is the mean spectral magnitude there.
 *
 * `sinogram`: `rows` projections (−log) of `width` columns at evenly spaced angles covering
 * [0, π). Centres in the reconstruction's convention (column i spans [i, i+1]). The mirror's
 * sub-pixel shift is a phase ramp on each row's spectrum, so no interpolation blurs it. Cost per
 * candidate: one length-2·rows DFT (Bluestein, O(rows log rows)) per spatial frequency.
 */
export function fourierCentreScores(
  sinogram: Float32Array,
  width: number,
  rows: number,
  centres: readonly number[],
  options: FourierCentreOptions = {},
): number[] {
  if (sinogram.length !== width * rows) throw new Error('sinogram must be rows × width');
  const wp = nextPowerOfTwo(2 * width); // room for the mirror to shift by up to ±width px
  const half = wp / 2;
  const fft = new FFT(wp);
  const line = new Array<number>(wp).fill(0);
  const out = fft.createComplexArray() as number[];
  // Spectra of each row (k = 0 … wp/2: real rows are conjugate-symmetric) and of its mirror.
  const direct = new Float64Array(rows * (half + 1) * 2);
  const mirror = new Float64Array(rows * (half + 1) * 2);
  for (let a = 0; a < rows; a++)
    for (const [target, flip] of [
      [direct, false],
      [mirror, true],
    ] as const) {
      line.fill(0);
      for (let i = 0; i < width; i++) line[i] = sinogram[a * width + (flip ? width - 1 - i : i)]!;
      fft.realTransform(out, line);
      for (let k = 0; k <= half; k++) {
        target[2 * (a * (half + 1) + k)] = out[2 * k]!;
        target[2 * (a * (half + 1) + k) + 1] = out[2 * k + 1]!;
      }
    }

  const m360 = 2 * rows;
  const radius = options.radius ?? width / 2;
  const drop = options.drop ?? Math.min(20, Math.ceil(0.05 * m360));
  const dft = new Bluestein(m360);
  const x = new Float64Array(2 * m360);
  const spectrum = new Float64Array(2 * m360);

  return centres.map((c) => {
    // g(x) = p(θ, 2c − x) is the mirror shifted right by 2c − width.
    const shift = 2 * c - width;
    let sum = 0;
    let count = 0;
    for (let k = 1; k <= half; k++) {
      const omega = (2 * Math.PI * k) / wp; // rad per pixel
      const mMin = Math.max(drop, Math.ceil(radius * omega));
      if (mMin > m360 / 2) break;
      const phase = -omega * shift;
      const [pc, ps] = [Math.cos(phase), Math.sin(phase)];
      for (let a = 0; a < rows; a++) {
        const i = 2 * (a * (half + 1) + k);
        x[2 * a] = direct[i]!;
        x[2 * a + 1] = direct[i + 1]!;
        const [mr, mi] = [mirror[i]!, mirror[i + 1]!];
        x[2 * (a + rows)] = mr * pc - mi * ps;
        x[2 * (a + rows) + 1] = mr * ps + mi * pc;
      }
      dft.transform(x, spectrum);
      // The masked harmonics, both signs: |m| from mMin to m360/2.
      const weight = k === half ? 1 : 2; // bins k and −k have equal magnitudes
      for (let m = mMin; m <= m360 / 2; m++)
        for (const j of m === m360 / 2 ? [m] : [m, m360 - m]) {
          sum += weight * Math.hypot(spectrum[2 * j]!, spectrum[2 * j + 1]!);
          count += weight;
        }
    }
    return count > 0 ? sum / count : 0;
  });
}

/**
 * A DFT of any length n through power-of-two FFTs (Bluestein's chirp z-transform): the 360°
 * sinogram has 2 × (projections per half turn) rows, rarely a power of two, and zero padding
 * along the angle would break the periodicity the metric relies on.
 */
class Bluestein {
  private readonly fft: FFT;
  private readonly size: number;
  /** e^{−iπ j²/n}, interleaved. */
  private readonly chirp: Float64Array;
  /** FFT of the conjugate chirp, wrapped for a circular convolution. */
  private readonly kernel: number[];
  private readonly a: number[];
  private readonly fa: number[];

  constructor(private readonly n: number) {
    this.size = nextPowerOfTwo(2 * n - 1);
    this.fft = new FFT(this.size);
    this.chirp = new Float64Array(2 * n);
    for (let j = 0; j < n; j++) {
      // j² mod 2n keeps the angle exact for long transforms.
      const angle = (Math.PI * ((j * j) % (2 * n))) / n;
      this.chirp[2 * j] = Math.cos(angle);
      this.chirp[2 * j + 1] = -Math.sin(angle);
    }
    const b = this.fft.createComplexArray() as number[];
    for (let j = 0; j < n; j++) {
      const [re, im] = [this.chirp[2 * j]!, -this.chirp[2 * j + 1]!];
      b[2 * j] = re;
      b[2 * j + 1] = im;
      if (j > 0) {
        b[2 * (this.size - j)] = re;
        b[2 * (this.size - j) + 1] = im;
      }
    }
    this.kernel = this.fft.createComplexArray() as number[];
    this.fft.transform(this.kernel, b);
    this.a = this.fft.createComplexArray() as number[];
    this.fa = this.fft.createComplexArray() as number[];
  }

  /** out[m] = Σ_j x[j] e^{−2πi m j / n}, both interleaved (re, im). */
  transform(x: Float64Array, out: Float64Array): void {
    const { n, chirp, a, fa, kernel } = this;
    a.fill(0);
    for (let j = 0; j < n; j++) {
      const [xr, xi, cr, ci] = [x[2 * j]!, x[2 * j + 1]!, chirp[2 * j]!, chirp[2 * j + 1]!];
      a[2 * j] = xr * cr - xi * ci;
      a[2 * j + 1] = xr * ci + xi * cr;
    }
    this.fft.transform(fa, a);
    for (let j = 0; j < this.size; j++) {
      const [ar, ai, kr, ki] = [fa[2 * j]!, fa[2 * j + 1]!, kernel[2 * j]!, kernel[2 * j + 1]!];
      fa[2 * j] = ar * kr - ai * ki;
      fa[2 * j + 1] = ar * ki + ai * kr;
    }
    this.fft.inverseTransform(a, fa); // normalised by fft.js
    for (let m = 0; m < n; m++) {
      const [vr, vi, cr, ci] = [a[2 * m]!, a[2 * m + 1]!, chirp[2 * m]!, chirp[2 * m + 1]!];
      out[2 * m] = vr * cr - vi * ci;
      out[2 * m + 1] = vr * ci + vi * cr;
    }
  }
}
