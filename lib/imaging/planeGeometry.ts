import type { Plane } from '@/lib/protocol';

/** A voxel position in the volume, (x, y, z), z along the rotation axis. */
export type Point3 = [number, number, number];
export type Axis = 0 | 1 | 2;

/**
 * Which volume axis runs along a slice's columns and rows, and which is its normal — the
 * producers' convention (consumers/phantom): xy rows = y, xz and yz rows = z.
 */
export const PLANE_AXES: Record<Plane, { col: Axis; row: Axis; normal: Axis }> = {
  xy: { col: 0, row: 1, normal: 2 },
  xz: { col: 0, row: 2, normal: 1 },
  yz: { col: 1, row: 2, normal: 0 },
};

export const AXIS_NAMES = ['x', 'y', 'z'] as const;

/** Voxels of the volume per slice pixel along an axis (1 unless the slice was binned or resampled). */
function ratio(volumeShape: readonly number[] | undefined, axis: Axis, pixels: number): number {
  const n = volumeShape?.[axis];
  return n ? n / pixels : 1;
}

/** The voxel under slice pixel (col, row) of a slice at `position` along the plane's normal. */
export function pixelToVoxel(
  plane: Plane,
  col: number,
  row: number,
  position: number,
  shape: readonly [number, number],
  volumeShape?: readonly number[],
): Point3 {
  const axes = PLANE_AXES[plane];
  const [rows, cols] = shape;
  const out: Point3 = [0, 0, 0];
  out[axes.col] = Math.floor((col + 0.5) * ratio(volumeShape, axes.col, cols));
  out[axes.row] = Math.floor((row + 0.5) * ratio(volumeShape, axes.row, rows));
  out[axes.normal] = position;
  return out;
}

/** Where a voxel falls on a slice, in (fractional) pixel coordinates: the pixel's centre. */
export function voxelToPixel(
  plane: Plane,
  point: Point3,
  shape: readonly [number, number],
  volumeShape?: readonly number[],
): { col: number; row: number } {
  const axes = PLANE_AXES[plane];
  const [rows, cols] = shape;
  return {
    col: (point[axes.col] + 0.5) / ratio(volumeShape, axes.col, cols),
    row: (point[axes.row] + 0.5) / ratio(volumeShape, axes.row, rows),
  };
}

/** Physical width of one slice pixel along its columns, in µm. */
export function pixelSizeUm(
  plane: Plane,
  voxelSize: readonly [number, number, number],
  cols: number,
  volumeShape?: readonly number[],
): number {
  const axis = PLANE_AXES[plane].col;
  return voxelSize[axis] * ratio(volumeShape, axis, cols);
}

/**
 * A scale-bar length that reads well: 1, 2 or 5 × 10ⁿ µm, the largest not above `maxUm`,
 * with its label in µm or mm.
 */
export function niceScaleBar(maxUm: number): { um: number; label: string } {
  if (!(maxUm > 0)) return { um: 0, label: '' };
  const exp = Math.floor(Math.log10(maxUm));
  let um = 10 ** exp;
  for (const m of [5, 2, 1]) {
    if (m * 10 ** exp <= maxUm) {
      um = m * 10 ** exp;
      break;
    }
  }
  const label =
    um >= 1000
      ? `${+(um / 1000).toPrecision(3)} mm`
      : um >= 1
        ? `${+um.toPrecision(3)} µm`
        : `${+(um * 1000).toPrecision(3)} nm`;
  return { um, label };
}

/**
 * The box of the volume a rectangle drawn on a slice stands for, in voxels of the volume, half-open
 * per axis (x, y, z). Across the slice it spans the rectangle; along the normal it is centred on the
 * slice and as deep as the rectangle's mean edge, so a square drawn on any plane asks for a cube.
 */
export function rectangleToRegion(
  plane: Plane,
  corners: readonly [{ col: number; row: number }, { col: number; row: number }],
  position: number,
  shape: readonly [number, number],
  volumeShape: readonly [number, number, number],
): { x: [number, number]; y: [number, number]; z: [number, number] } | null {
  const axes = PLANE_AXES[plane];
  const [rows, cols] = shape;
  const clamp = (v: number, n: number) => Math.min(n, Math.max(0, v));
  const span = (a: number, b: number, axis: Axis, pixels: number): [number, number] => {
    const r = ratio(volumeShape, axis, pixels);
    const n = volumeShape[axis];
    return [clamp(Math.floor(Math.min(a, b) * r), n), clamp(Math.ceil(Math.max(a, b) * r), n)];
  };
  const out: [number, number][] = [
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  out[axes.col] = span(corners[0].col, corners[1].col, axes.col, cols);
  out[axes.row] = span(corners[0].row, corners[1].row, axes.row, rows);
  const [c0, c1] = out[axes.col]!;
  const [r0, r1] = out[axes.row]!;
  // Too small to reconstruct anything meaningful (under 4 voxels on a side): a mis-click, not a region.
  const MIN_EDGE = 4;
  if (c1 - c0 < MIN_EDGE || r1 - r0 < MIN_EDGE) return null;
  const depth = Math.max(MIN_EDGE, Math.round((c1 - c0 + r1 - r0) / 2));
  const n = volumeShape[axes.normal];
  let start = Math.round(position - depth / 2);
  start = clamp(Math.min(start, n - depth), n);
  out[axes.normal] = [start, clamp(start + depth, n)];
  return { x: out[0]!, y: out[1]!, z: out[2]! };
}
