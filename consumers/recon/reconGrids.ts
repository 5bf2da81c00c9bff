import type { Region } from '@/lib/protocol';
import type { ReconGrid } from './backproject';

export interface Detector {
  /** Columns (pixels across the beam). */
  width: number;
  /** Rows (pixels along the rotation axis). */
  height: number;
}

/**
 * The full view: `size` voxels across the detector's width (so a voxel is width/size pixels), as
 * many z planes as fit the detector's height, centred on the rotation axis and the detector rows.
 */
export function fullGrid(detector: Detector, size: number): ReconGrid {
  const spacing = detector.width / size;
  const nz = Math.max(1, Math.round(detector.height / spacing));
  return {
    shape: [size, size, nz],
    spacing,
    xStart: (-size * spacing) / 2,
    yStart: (-size * spacing) / 2,
    zStart: (detector.height - nz * spacing) / 2,
  };
}

/** Why a region cannot be zoomed into, or null if it can. */
export function regionProblem(full: ReconGrid, region: Region): string | null {
  const axes = ['x', 'y', 'z'] as const;
  for (let i = 0; i < 3; i++) {
    const [a, b] = region[axes[i]!];
    const n = full.shape[i]!;
    if (!(a >= 0 && b <= n))
      return `region ${axes[i]} [${a}, ${b}) is outside the volume [0, ${n})`;
    if (b - a < 2) return `region ${axes[i]} [${a}, ${b}) is thinner than 2 voxels`;
  }
  return null;
}

/**
 * The zoomed view of `region` (full-view voxels): the finest pitch that keeps every edge within
 * `maxEdge` voxels, never finer than one detector pixel (there is no information below it).
 */
export function roiGrid(full: ReconGrid, region: Region, maxEdge: number): ReconGrid {
  const s = full.spacing;
  const extent = [region.x, region.y, region.z].map(([a, b]) => (b - a) * s) as [
    number,
    number,
    number,
  ];
  const spacing = Math.max(1, Math.max(...extent) / maxEdge);
  const shape = extent.map((e) => Math.max(1, Math.round(e / spacing))) as [number, number, number];
  return {
    shape,
    spacing,
    xStart: full.xStart + region.x[0] * s,
    yStart: full.yStart + region.y[0] * s,
    zStart: full.zStart + region.z[0] * s,
  };
}
