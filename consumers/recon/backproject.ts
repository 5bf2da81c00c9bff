import type { Plane } from '@/lib/protocol';

/**
 * Filtered projections resampled for one reconstruction grid: per projection (slot), `rows` rows
 * aligned with the grid's z planes, each of `cols` samples `spacing` detector pixels apart, sample k
 * covering detector columns [uStart + k·spacing, uStart + (k+1)·spacing).
 */
export interface StoreLayout {
  cols: number;
  rows: number;
  /** Sample pitch in detector pixels. */
  spacing: number;
  /** Detector column (pixels from the left edge) where sample 0 starts. */
  uStart: number;
  /** Projections the store holds. */
  slots: number;
}

/** The projections one back-projection uses: store slots, their angle's cosine and sine, weights (rad). */
export interface AngleSet {
  slots: Int32Array;
  cos: Float64Array;
  sin: Float64Array;
  weights: Float64Array;
}

/**
 * Output points of a back-projection, an array [depth][rows][cols]. Point (k, r, c) sits at
 * x = x0 + c·xc + r·xr, y = y0 + c·yc + r·yr (detector pixels from the rotation axis) and reads
 * store row `row0 + k·kStep + r·rStep`. Slices and bricks are all of this form.
 */
export interface GridTask {
  depth: number;
  rows: number;
  cols: number;
  x0: number;
  y0: number;
  xc: number;
  yc: number;
  xr: number;
  yr: number;
  row0: number;
  kStep: number;
  rStep: number;
  /** Detector column of the rotation axis, pixels from the left edge. */
  centre: number;
}

/**
 * Interpolated back-projection of `lines` [from, to) of a task (line = k·rows + r), accumulated into
 * `out` (length (to − from)·cols). Angle-outer so each projection row stays in cache, the detector
 * coordinate advances linearly along a line, and the bounds are solved once per line, not per pixel.
 * Returns the number of voxel-angle updates made.
 */
export function backproject(
  store: Float32Array,
  layout: StoreLayout,
  angles: AngleSet,
  task: GridTask,
  out: Float32Array,
  from = 0,
  to = task.depth * task.rows,
): number {
  const { cols, rows: storeRows, spacing, uStart } = layout;
  const C = task.cols;
  const R = task.rows;
  const last = cols - 1;
  const slotSize = storeRows * cols;
  const kFrom = Math.floor(from / R);
  const kTo = Math.ceil(to / R);
  let updates = 0;
  for (let a = 0; a < angles.slots.length; a++) {
    const cos = angles.cos[a]!;
    const sin = angles.sin[a]!;
    const w = angles.weights[a]!;
    const slotBase = angles.slots[a]! * slotSize;
    const step = (task.xc * cos + task.yc * sin) / spacing;
    // A line's detector geometry depends on r only; the planes k of a brick share it.
    for (let r = 0; r < R; r++) {
      const x = task.x0 + r * task.xr;
      const y = task.y0 + r * task.yr;
      const start = (task.centre + x * cos + y * sin - uStart) / spacing - 0.5;
      // Columns c with 0 ≤ start + c·step < last, so both interpolation neighbours exist.
      let lo = 0;
      let hi = C;
      if (Math.abs(step) < 1e-12) {
        if (!(start >= 0 && start < last)) continue;
      } else {
        const ca = -start / step;
        const cb = (last - start) / step;
        lo = Math.max(0, Math.ceil(Math.min(ca, cb)));
        hi = Math.min(C, Math.floor(Math.max(ca, cb)) + 1);
        while (lo < hi && !inside(start + lo * step, last)) lo++;
        while (hi > lo && !inside(start + (hi - 1) * step, last)) hi--;
      }
      if (lo >= hi) continue;
      for (let k = kFrom; k < kTo; k++) {
        const line = k * R + r;
        if (line < from || line >= to) continue;
        const storeRow = task.row0 + k * task.kStep + r * task.rStep;
        if (storeRow < 0 || storeRow >= storeRows) continue;
        const base = slotBase + storeRow * cols;
        const o = (line - from) * C;
        for (let c = lo; c < hi; c++) {
          const t = start + c * step;
          const i = t | 0; // t ≥ 0, so truncation is floor
          const q = store[base + i]!;
          out[o + c] = out[o + c]! + w * (q + (t - i) * (store[base + i + 1]! - q));
        }
        updates += hi - lo;
      }
    }
  }
  return updates;
}

function inside(t: number, last: number): boolean {
  return t >= 0 && t < last;
}

/**
 * The textbook loop, for the benchmark's baseline: pixel-outer, angle-inner, trigonometry and
 * bounds per update. Same result as `backproject`.
 */
export function naiveBackproject(
  store: Float32Array,
  layout: StoreLayout,
  angles: number[],
  weights: number[],
  slots: number[],
  task: GridTask,
  out: Float32Array,
): void {
  for (let k = 0; k < task.depth; k++) {
    for (let r = 0; r < task.rows; r++) {
      for (let c = 0; c < task.cols; c++) {
        const x = task.x0 + c * task.xc + r * task.xr;
        const y = task.y0 + c * task.yc + r * task.yr;
        const row = task.row0 + k * task.kStep + r * task.rStep;
        let sum = 0;
        for (let a = 0; a < angles.length; a++) {
          const u = task.centre + x * Math.cos(angles[a]!) + y * Math.sin(angles[a]!);
          const t = (u - layout.uStart) / layout.spacing - 0.5;
          const i = Math.floor(t);
          if (i < 0 || i + 1 >= layout.cols || row < 0 || row >= layout.rows) continue;
          const base = (slots[a]! * layout.rows + row) * layout.cols;
          sum += weights[a]! * (store[base + i]! * (1 - (t - i)) + store[base + i + 1]! * (t - i));
        }
        out[(k * task.rows + r) * task.cols + c] = sum;
      }
    }
  }
}

/**
 * Quadrature weights (radians) for projections at `angles` (any order, unwrapped radians) covering
 * at most a half turn: each gets half the gap to its neighbours. Once the set spans a half turn it
 * is treated as periodic in π (a parallel-beam projection at θ + π mirrors the one at θ); before
 * that, the two ends get the mean gap, so a partial scan is not smeared across the missing wedge.
 */
export function angularWeights(angles: readonly number[]): Float64Array {
  const n = angles.length;
  const weights = new Float64Array(n);
  if (n === 0) return weights;
  if (n === 1) {
    weights[0] = Math.PI;
    return weights;
  }
  const order = [...angles.keys()].sort((a, b) => angles[a]! - angles[b]!);
  const sorted = order.map((i) => angles[i]!);
  const span = sorted[n - 1]! - sorted[0]!;
  const meanGap = span / (n - 1);
  const periodic = span + meanGap >= Math.PI * 0.999;
  for (let j = 0; j < n; j++) {
    const prev =
      j > 0 ? sorted[j - 1]! : periodic ? sorted[n - 1]! - Math.PI : sorted[0]! - meanGap;
    const next =
      j < n - 1 ? sorted[j + 1]! : periodic ? sorted[0]! + Math.PI : sorted[n - 1]! + meanGap;
    weights[order[j]!] = (next - prev) / 2;
  }
  return weights;
}

/** Builds the AngleSet for store slots holding projections at `angles`. */
export function angleSet(slots: readonly number[], angles: readonly number[]): AngleSet {
  return {
    slots: Int32Array.from(slots),
    cos: Float64Array.from(angles, Math.cos),
    sin: Float64Array.from(angles, Math.sin),
    weights: angularWeights(angles),
  };
}

/**
 * A reconstruction grid: `shape` (x, y, z) voxels of `spacing` detector pixels. x, y start at
 * `xStart`, `yStart` pixels from the rotation axis; z plane k reads row k of the grid's store.
 */
export interface ReconGrid {
  shape: [number, number, number];
  spacing: number;
  xStart: number;
  yStart: number;
  /** Detector row coordinate (pixels from the bottom edge) where z plane 0 starts. */
  zStart: number;
}

/** The task that reconstructs one orthogonal slice of `grid` at voxel index `position`. */
export function sliceTask(
  grid: ReconGrid,
  plane: Plane,
  position: number,
  centre: number,
): GridTask {
  const [nx, ny, nz] = grid.shape;
  const s = grid.spacing;
  const xs = grid.xStart + 0.5 * s;
  const ys = grid.yStart + 0.5 * s;
  const none = { depth: 1, xr: 0, yr: 0, kStep: 0, centre };
  switch (plane) {
    case 'xy':
      return {
        ...none,
        rows: ny,
        cols: nx,
        x0: xs,
        y0: ys,
        xc: s,
        yc: 0,
        yr: s,
        row0: position,
        rStep: 0,
      };
    case 'xz':
      return {
        ...none,
        rows: nz,
        cols: nx,
        x0: xs,
        y0: ys + position * s,
        xc: s,
        yc: 0,
        row0: 0,
        rStep: 1,
      };
    case 'yz':
      return {
        ...none,
        rows: nz,
        cols: ny,
        x0: xs + position * s,
        y0: ys,
        xc: 0,
        yc: s,
        row0: 0,
        rStep: 1,
      };
  }
}

/** The task that reconstructs a brick [z][y][x] of `size` voxels at `offset` (x, y, z) of `grid`. */
export function brickTask(
  grid: ReconGrid,
  offset: readonly [number, number, number],
  size: readonly [number, number, number],
  centre: number,
): GridTask {
  const s = grid.spacing;
  return {
    depth: size[2],
    rows: size[1],
    cols: size[0],
    x0: grid.xStart + (offset[0] + 0.5) * s,
    y0: grid.yStart + (offset[1] + 0.5) * s,
    xc: s,
    yc: 0,
    xr: 0,
    yr: s,
    row0: offset[2],
    kStep: 1,
    rStep: 0,
    centre,
  };
}

/** Voxel-angle updates a task costs (the benchmark's unit of work). */
export function taskVoxels(task: GridTask): number {
  return task.depth * task.rows * task.cols;
}
