import type { ReconFilter } from '@/lib/protocol';
import { angleSet, backproject, sliceTask, type ReconGrid } from './backproject';
import { ProjectionFilter } from './ProjectionFilter';

/** One slice to reconstruct by filtered back-projection (parallel beam). */
export interface SliceRequest {
  /**
   * One detector row at every angle, −log-normalised (line integrals: −ln((I − dark)/(flat − dark))),
   * row-major [angle][column].
   */
  sinogram: Float32Array;
  /** Detector columns per row of the sinogram. */
  width: number;
  /** Rotation angle of each row, radians; any order, spanning up to a half turn or more. */
  angles: ArrayLike<number>;
  /** Detector column of the rotation axis, pixels from the left edge (sub-pixel). Default width/2. */
  centre?: number;
  /**
   * Ramp windowed by Shepp–Logan, Hann or Parzen, plain ramp, or 'none': unfiltered back-projection, a
   * 1/r-blurred image (line integrals × radians) rather than attenuation. Default 'ramp'.
   */
  filter?: ReconFilter;
  /** Output edge in pixels; the slice spans the detector's width, centred on the axis. Default width. */
  size?: number;
}

/**
 * Reconstructs one slice, `size`×`size` pixels [y][x], in attenuation per detector pixel (divide by
 * the pixel size to get per length). The call the reference consumer is built from, for any code
 * that has a sinogram: the same filters, interpolation and angle weights as the live view.
 */
export function reconstructSlice(request: SliceRequest): Float32Array {
  const { sinogram, width } = request;
  const n = request.angles.length;
  const size = request.size ?? width;
  if (!Number.isInteger(width) || width < 2)
    throw new Error(`width must be an integer ≥ 2, got ${width}`);
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`size must be a positive integer, got ${size}`);
  if (n === 0) throw new Error('at least one angle is needed');
  if (sinogram.length !== n * width)
    throw new Error(
      `the sinogram has ${sinogram.length} values, not ${n} angles × ${width} columns`,
    );
  const angles = Array.from(request.angles);
  if (angles.some((a) => !Number.isFinite(a))) throw new Error('every angle must be finite');
  const centre = request.centre ?? width / 2;
  if (!Number.isFinite(centre)) throw new Error(`centre must be finite, got ${centre}`);

  const filtered = new Float32Array(sinogram.length);
  new ProjectionFilter(request.filter ?? 'ramp', width, 1).filterRows(sinogram, filtered, n);

  const spacing = width / size;
  const grid: ReconGrid = {
    shape: [size, size, 1],
    spacing,
    xStart: (-size * spacing) / 2,
    yStart: (-size * spacing) / 2,
    zStart: 0,
  };
  const task = sliceTask(grid, 'xy', 0, centre);
  const out = new Float32Array(size * size);
  const layout = { cols: width, rows: 1, spacing: 1, uStart: 0, slots: n };
  backproject(filtered, layout, angleSet([...angles.keys()], angles), task, out);
  return out;
}
