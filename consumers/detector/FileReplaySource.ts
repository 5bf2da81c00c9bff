import type {
  DetectorInfo,
  Projection,
  ProjectionDataset,
  ProjectionSource,
} from './ProjectionSource';

export interface FileReplayOptions {
  /** Frames per second. Default 30. */
  framesPerSecond?: number;
  /** Start again from the first projection after the last. Default true. */
  loop?: boolean;
}

/**
 * Replays projections from a file at a steady rate. Each pass adds a full turn (2π) to the file's
 * angles, so the angle keeps growing as in a continuous scan and physics holds for any scan range.
 */
export class FileReplaySource implements ProjectionSource {
  readonly detector: DetectorInfo;
  readonly flat: Float32Array;
  readonly dark: Float32Array;
  readonly angularStep: number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private index = 0;

  constructor(
    private readonly data: ProjectionDataset,
    private readonly options: FileReplayOptions = {},
  ) {
    if (data.count === 0) throw new Error('the file holds no projections');
    this.detector = data.detector;
    this.flat = data.flat;
    this.dark = data.dark;
    const a = data.angles;
    this.angularStep =
      a.length > 1 ? Math.abs(a[a.length - 1]! - a[0]!) / (a.length - 1) : Math.PI / 180;
  }

  /** The projection the replay delivers as its `index`-th, or null once a non-looping replay ends. */
  projectionNumber(index: number, acquiredAt = Date.now()): Projection | null {
    const pass = Math.floor(index / this.data.count);
    if (pass > 0 && this.options.loop === false) return null;
    const i = index % this.data.count;
    return {
      index,
      angle: this.data.angles[i]! + pass * 2 * Math.PI,
      acquiredAt,
      counts: this.data.projection(i),
    };
  }

  start(listener: (projection: Projection) => void): void {
    if (this.timer) throw new Error('replay already started');
    this.timer = setInterval(
      () => {
        const p = this.projectionNumber(this.index++);
        if (p) listener(p);
        else this.stop();
      },
      1000 / (this.options.framesPerSecond ?? 30),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
