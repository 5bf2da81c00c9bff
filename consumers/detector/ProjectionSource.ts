/** One detector frame: raw counts (or already-normalised intensities) at one rotation angle. */
export interface Projection {
  /** Counts from 0 since the source started. */
  index: number;
  /** Rotation angle, radians, unwrapped (keeps growing turn after turn). */
  angle: number;
  /** Epoch ms of acquisition. */
  acquiredAt: number;
  /** Row-major [row][column]; row 0 is the bottom of the detector (lowest z). */
  counts: Uint16Array | Float32Array;
}

export interface DetectorInfo {
  /** Columns, across the beam. */
  width: number;
  /** Rows, along the rotation axis. */
  height: number;
  /** Pixel edge at the sample (after magnification), micrometres. */
  pixelSizeUm: number;
}

/** Where projections come from: the simulator, or a file being replayed. */
export interface ProjectionSource {
  readonly detector: DetectorInfo;
  /** Mean flat field (beam, no sample) and dark field (no beam), counts, [row][column]. */
  readonly flat: Float32Array;
  readonly dark: Float32Array;
  /** Typical angle between consecutive projections, radians. */
  readonly angularStep: number;
  /** Starts delivering projections to `listener`; one listener per source. */
  start(listener: (projection: Projection) => void): void;
  stop(): void;
}

/** Projections with their fields, as read from or written to a file. */
export interface ProjectionDataset {
  detector: DetectorInfo;
  /** Rotation angle of each projection, radians. */
  angles: Float64Array;
  flat: Float32Array;
  dark: Float32Array;
  count: number;
  projection(i: number): Uint16Array | Float32Array;
}
