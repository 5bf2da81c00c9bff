import { binFrequency, Fft2d, nextPowerOfTwo } from './fft2d';

/** Paganin single-distance phase retrieval parameters. */
export interface PaganinOptions {
  /** Photon energy, keV. */
  energyKeV: number;
  /** Sample-to-detector propagation distance, mm. */
  distanceMm: number;
  /** δ/β of the (assumed single) material. */
  deltaOverBeta: number;
  /** Detector pixel at the sample, µm. */
  pixelSizeUm: number;
}

/** Wavelength in metres for a photon energy in keV (λ = hc/E, hc = 1.23984198 keV·nm). */
export function wavelengthM(energyKeV: number): number {
  return (1.23984198 / energyKeV) * 1e-9;
}

/**
 * Paganin et al. (J. Microsc. 206, 33, 2002) phase retrieval for a homogeneous object: the
 * flat-corrected intensity I/I₀ is low-pass filtered by 1 / (1 + π λ z (δ/β) |u|²) (u in cycles per
 * metre), which undoes the edge fringes of free-space propagation; −ln of the result is μ·thickness
 * and goes to the same ramp filter and back-projection as an absorption projection. Images are
 * padded (edge values repeated) to a power of two at least twice their size so the filter does not
 * wrap around.
 */
export class PaganinFilter {
  private readonly fft: Fft2d;
  private readonly response: Float64Array;
  private readonly work: Float64Array;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly options: PaganinOptions,
  ) {
    const { energyKeV, distanceMm, deltaOverBeta, pixelSizeUm } = options;
    for (const [name, v] of Object.entries(options))
      if (!(Number.isFinite(v) && v > 0))
        throw new Error(`Paganin ${name} must be positive, got ${v}`);
    const cols = nextPowerOfTwo(2 * width);
    const rows = nextPowerOfTwo(2 * height);
    this.fft = new Fft2d(rows, cols);
    const pitch = pixelSizeUm * 1e-6;
    const k = Math.PI * wavelengthM(energyKeV) * distanceMm * 1e-3 * deltaOverBeta;
    this.response = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const v = binFrequency(r, rows, pitch);
      for (let c = 0; c < cols; c++) {
        const u = binFrequency(c, cols, pitch);
        this.response[r * cols + c] = 1 / (1 + k * (u * u + v * v));
      }
    }
    this.work = new Float64Array(2 * rows * cols);
  }

  /** Filters a flat-corrected transmission image I/I₀ [height][width] into `out`. */
  apply(
    transmission: Float32Array,
    out: Float32Array = new Float32Array(transmission.length),
  ): Float32Array {
    const { width, height, work, response } = this;
    const { rows, cols } = this.fft;
    if (transmission.length !== width * height)
      throw new Error('image must hold width × height pixels');
    // The padding repeats the last row (column) for its first half and the first for its second,
    // so the periodic image the FFT sees has no step where it wraps around.
    const pad = (i: number, n: number, size: number) =>
      i < n ? i : i < n + (size - n) / 2 ? n - 1 : 0;
    for (let r = 0; r < rows; r++) {
      const sr = pad(r, height, rows);
      for (let c = 0; c < cols; c++) {
        const sc = pad(c, width, cols);
        work[2 * (r * cols + c)] = transmission[sr * width + sc]!;
        work[2 * (r * cols + c) + 1] = 0;
      }
    }
    this.fft.forward(work);
    for (let i = 0; i < rows * cols; i++) {
      work[2 * i] = work[2 * i]! * response[i]!;
      work[2 * i + 1] = work[2 * i + 1]! * response[i]!;
    }
    this.fft.inverse(work);
    for (let r = 0; r < height; r++)
      for (let c = 0; c < width; c++) out[r * width + c] = work[2 * (r * cols + c)]!;
    return out;
  }
}
