import { type ProjectionGeometry, projectPhantom } from '../phantom/phantomProjection';
import { type Ellipsoid, SHEPP_LOGAN_3D } from '../phantom/sheppLogan3d';
import type { DetectorInfo, Projection, ProjectionSource } from './ProjectionSource';
import { poisson, seededRandom } from '@/lib/random/seededRandom';

export interface DetectorSimulatorOptions {
  /** Columns; up to 2048 (the APS's widest binned sCMOS). Default 256. */
  width?: number;
  /** Rows. Default 256. */
  height?: number;
  /** Pixel edge at the sample, µm. Default 1.3 (a 6.5 µm sCMOS pixel behind a 5× objective). */
  pixelSizeUm?: number;
  /** Rotation speed, degrees per second. Default 30 (a half turn in 6 s). */
  degreesPerSecond?: number;
  /** Frame rate, frames per second. Default 30, so 1° per projection. */
  framesPerSecond?: number;
  /** Poisson noise on every count, from this seed; off when undefined. */
  noiseSeed?: number;
  /** Flat-field counts at the beam's centre above dark. Default 12 000 (a 16-bit camera at ~20 % well). */
  flatCounts?: number;
  /** Dark-field counts. Default 100 (sCMOS offset). */
  darkCounts?: number;
  /**
   * Linear attenuation of phantom density 1 per phantom unit (half the detector width). Default 2:
   * the centre of the head transmits ~40 %, the skull's tangent ~20 %, a realistic contrast.
   */
  attenuationPerUnit?: number;
  /** Column of the rotation axis, px from the left edge; default width / 2. */
  axisColumn?: number;
  ellipsoids?: readonly Ellipsoid[];
}

const MAX_WIDTH = 2048;

/**
 * A parallel-beam tomography detector looking at the 3-D Shepp–Logan phantom while the sample
 * turns continuously: each frame is the analytic line integral through the ellipsoids at the angle
 * the stage has reached at that instant, turned into counts through Beer–Lambert with a flat
 * (non-uniform beam) and a dark field, optionally with Poisson noise.
 */
export class DetectorSimulator implements ProjectionSource {
  readonly detector: DetectorInfo;
  readonly flat: Float32Array;
  readonly dark: Float32Array;
  readonly angularStep: number;
  readonly options: Required<Omit<DetectorSimulatorOptions, 'noiseSeed' | 'axisColumn'>> &
    Pick<DetectorSimulatorOptions, 'noiseSeed' | 'axisColumn'>;
  private readonly geometry: ProjectionGeometry;
  private readonly random: (() => number) | null;
  private readonly lineIntegrals: Float32Array;
  private timer: ReturnType<typeof setInterval> | null = null;
  private index = 0;

  constructor(options: DetectorSimulatorOptions = {}) {
    this.options = {
      width: 256,
      height: 256,
      pixelSizeUm: 1.3,
      degreesPerSecond: 30,
      framesPerSecond: 30,
      flatCounts: 12_000,
      darkCounts: 100,
      attenuationPerUnit: 2,
      ellipsoids: SHEPP_LOGAN_3D,
      ...options,
    };
    const { width, height, pixelSizeUm } = this.options;
    if (!(Number.isInteger(width) && width >= 8 && width <= MAX_WIDTH)) {
      throw new RangeError(`detector width ${width}: an integer from 8 to ${MAX_WIDTH}`);
    }
    if (!(Number.isInteger(height) && height >= 1 && height <= MAX_WIDTH)) {
      throw new RangeError(`detector height ${height}: an integer from 1 to ${MAX_WIDTH}`);
    }
    this.detector = { width, height, pixelSizeUm };
    this.geometry = {
      width,
      height,
      ...(this.options.axisColumn !== undefined && { axisColumn: this.options.axisColumn }),
    };
    this.angularStep =
      (this.options.degreesPerSecond / this.options.framesPerSecond) * (Math.PI / 180);
    this.random =
      this.options.noiseSeed === undefined ? null : seededRandom(this.options.noiseSeed);
    this.lineIntegrals = new Float32Array(width * height);
    this.dark = new Float32Array(width * height);
    this.flat = new Float32Array(width * height);
    const pattern = seededRandom(0x5eed);
    for (let r = 0; r < height; r++) {
      // The beam is brighter at mid-height (bending-magnet vertical profile) with faint horizontal
      // stripes from the scintillator, so a missing flat correction would show.
      const v = (r + 0.5) / height - 0.5;
      const profile = 0.7 + 0.3 * Math.exp(-((v / 0.35) ** 2));
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        this.dark[i] = this.options.darkCounts * (0.95 + 0.1 * pattern());
        this.flat[i] =
          this.dark[i]! + this.options.flatCounts * profile * (1 + 0.03 * Math.sin(c / 5));
      }
    }
  }

  /** Counts the detector records at rotation `angle` (radians). */
  projectionAt(angle: number): Uint16Array {
    projectPhantom(angle, this.geometry, this.options.ellipsoids, this.lineIntegrals);
    const mu = this.options.attenuationPerUnit;
    const out = new Uint16Array(this.lineIntegrals.length);
    for (let i = 0; i < out.length; i++) {
      const dark = this.dark[i]!;
      const mean = (this.flat[i]! - dark) * Math.exp(-mu * this.lineIntegrals[i]!);
      const counts = this.random
        ? poisson(mean, this.random) + poisson(dark, this.random)
        : mean + dark;
      out[i] = Math.min(65535, Math.round(counts));
    }
    return out;
  }

  /** Attenuation per detector pixel of phantom density 1: a reconstruction divided by it is density. */
  get attenuationPerPixel(): number {
    return this.options.attenuationPerUnit / (this.detector.width / 2);
  }

  start(listener: (projection: Projection) => void): void {
    if (this.timer) throw new Error('simulator already started');
    const t0 = Date.now();
    const radPerMs = (this.options.degreesPerSecond * Math.PI) / 180 / 1000;
    // Each frame takes the angle the stage has reached now: if the host falls behind, frames come
    // slower and further apart in angle, as from a camera that drops frames, never from the past.
    this.timer = setInterval(() => {
      const now = Date.now();
      listener({
        index: this.index++,
        angle: (now - t0) * radPerMs,
        acquiredAt: now,
        counts: this.projectionAt((now - t0) * radPerMs),
      });
    }, 1000 / this.options.framesPerSecond);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
