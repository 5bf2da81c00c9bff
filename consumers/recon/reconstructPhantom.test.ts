import { beforeAll, describe, expect, it } from 'vitest';
import type { Plane, ReconFilter, Region } from '@/lib/protocol';
import { projectPhantom } from '../phantom/phantomProjection';
import { phantomSlice, phantomValue } from '../phantom/sheppLogan3d';
import { angleSet, backproject, brickTask, type ReconGrid, sliceTask } from './backproject';
import { BackprojectionPool } from './BackprojectionPool';
import { FilteredStore } from './FilteredStore';
import { fullGrid, roiGrid } from './reconGrids';

/**
 * Reconstructs the analytic phantom from its analytic projections and compares with the phantom.
 * Values come out as attenuation per detector pixel of a projection in density × phantom units, so
 * density = value × (width / 2) (a phantom unit spans half the detector).
 */
const W = 256;
const H = 256;
const DETECTOR = { width: W, height: H };
// 2× the Nyquist count for 128 voxels, so angular aliasing stays below the edge error we measure.
const N_ANGLES = 360;
const ANGLES = Array.from({ length: N_ANGLES }, (_, i) => (i * Math.PI) / N_ANGLES);
const SLOTS = ANGLES.map((_, i) => i);
const TO_DENSITY = W / 2;
let projections: Float32Array[] = [];

beforeAll(() => {
  projections = ANGLES.map((a) => projectPhantom(a, DETECTOR));
});

function store(grid: ReconGrid, filter: ReconFilter = 'ramp'): FilteredStore {
  const s = new FilteredStore(grid, DETECTOR, N_ANGLES, filter);
  projections.forEach((p, i) => s.write(i, p, W));
  return s;
}

function slice(s: FilteredStore, plane: Plane, position: number): Float32Array {
  const task = sliceTask(s.grid, plane, position, W / 2);
  const out = new Float32Array(task.rows * task.cols);
  backproject(s.data, s.layout, angleSet(SLOTS, ANGLES), task, out);
  return out.map((v) => v * TO_DENSITY);
}

/** RMS error over all pixels, and over pixels whose 5×5 neighbourhood in the phantom is uniform. */
function errors(
  recon: Float32Array,
  truth: Float32Array,
  n: number,
): { all: number; interior: number } {
  let all = 0;
  let interior = 0;
  let count = 0;
  for (let i = 0; i < recon.length; i++) all += (recon[i]! - truth[i]!) ** 2;
  for (let r = 2; r < n - 2; r++) {
    for (let c = 2; c < n - 2; c++) {
      const v = truth[r * n + c]!;
      let uniform = true;
      for (let dr = -2; dr <= 2 && uniform; dr++)
        for (let dc = -2; dc <= 2; dc++) if (truth[(r + dr) * n + c + dc] !== v) uniform = false;
      if (!uniform) continue;
      interior += (recon[r * n + c]! - v) ** 2;
      count++;
    }
  }
  return { all: Math.sqrt(all / recon.length), interior: Math.sqrt(interior / count) };
}

describe('filtered back-projection of the 3-D Shepp–Logan phantom', () => {
  const grid = fullGrid(DETECTOR, 128);

  for (const filter of ['ramp', 'shepp-logan', 'hann'] as const) {
    it(`reconstructs the central slices within bounds (${filter})`, () => {
      const s = store(grid, filter);
      for (const plane of ['xy', 'xz', 'yz'] as const) {
        const e = errors(slice(s, plane, 64), phantomSlice(plane, 64, 128), 128);
        console.log(
          `fbp ${filter} ${plane}: RMS error ${e.all.toFixed(4)} overall, ${e.interior.toFixed(4)} away from edges (density; skull 1.0, brain 0.2)`,
        );
        // Edges carry the error (a band-limited image of a step); away from them it is small.
        expect(e.all).toBeLessThan(0.1);
        expect(e.interior).toBeLessThan(plane === 'xy' ? 0.035 : 0.015);
      }
    });
  }

  it('reconstructs a region at the detector pixel closer to the phantom at edges than the full view upsampled', () => {
    // A region across the skull on the left, where edges are sharpest.
    const region: Region = { x: [4, 36], y: [48, 80], z: [56, 72] };
    const roi = roiGrid(grid, region, 128);
    expect(roi.spacing).toBe(1); // down to the detector pixel
    expect(roi.shape).toEqual([64, 64, 32]);
    const fine = slice(store(roi), 'xy', 16);
    const coarse = slice(store(grid), 'xy', 64);
    // The ROI's xy plane 16 sits at the top half of full plane 64 (z = 64.75 full voxels); compare both
    // with the phantom at the ROI's voxel centres.
    const n = 64;
    const truth = new Float32Array(n * n);
    const upsampled = new Float32Array(n * n);
    const zCentre = roi.zStart + 16.5 * roi.spacing;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const x = roi.xStart + (c + 0.5) * roi.spacing;
        const y = roi.yStart + (r + 0.5) * roi.spacing;
        truth[r * n + c] = phantomValue(x / (W / 2), y / (W / 2), (zCentre - H / 2) / (W / 2));
        upsampled[r * n + c] = bilinear(
          coarse,
          128,
          (x - grid.xStart) / grid.spacing - 0.5,
          (y - grid.yStart) / grid.spacing - 0.5,
        );
      }
    }
    const edge = edgeMask(truth, n);
    const rmsAt = (img: Float32Array) =>
      Math.sqrt(
        img.reduce((s, v, i) => s + (edge[i] ? (v - truth[i]!) ** 2 : 0), 0) /
          edge.reduce((a, b) => a + b, 0),
      );
    const roiError = rmsAt(fine);
    const fullError = rmsAt(upsampled);
    console.log(
      `roi at ${roi.spacing} px: RMS error at edges ${roiError.toFixed(4)} vs full view (${grid.spacing} px) upsampled ${fullError.toFixed(4)}: ${(fullError / roiError).toFixed(2)}× better`,
    );
    expect(roiError).toBeLessThan(fullError * 0.85);
  });

  it('gives the same volume brick and slices on worker threads as on this thread', async () => {
    const s = store(grid);
    const pool = new BackprojectionPool(2);
    try {
      const set = angleSet(SLOTS, ANGLES);
      for (const task of [
        brickTask(grid, [32, 64, 48], [32, 32, 16], W / 2),
        sliceTask(grid, 'yz', 40, W / 2),
      ]) {
        const here = new Float32Array(task.depth * task.rows * task.cols);
        backproject(s.data, s.layout, set, task, here);
        const there = await pool.reconstruct(s, set, task, 5);
        expect(Buffer.from(there.buffer).equals(Buffer.from(here.buffer))).toBe(true);
      }
      expect(pool.updates).toBeGreaterThan(32 * 32 * 16 * N_ANGLES * 0.5);
    } finally {
      await pool.close();
    }
  });

  it('a brick equals the matching part of the slices through it', () => {
    const s = store(grid);
    const set = angleSet(SLOTS, ANGLES);
    const task = brickTask(grid, [0, 0, 60], [128, 128, 8], W / 2);
    const brick = new Float32Array(128 * 128 * 8);
    backproject(s.data, s.layout, set, task, brick);
    const xy = slice(s, 'xy', 64).map((v) => v / TO_DENSITY);
    const plane = brick.subarray(4 * 128 * 128, 5 * 128 * 128);
    expect(Math.max(...plane.map((v, i) => Math.abs(v - xy[i]!)))).toBeLessThan(1e-6);
  });
});

function bilinear(img: Float32Array, n: number, x: number, y: number): number {
  const cx = Math.min(n - 1.000001, Math.max(0, x));
  const cy = Math.min(n - 1.000001, Math.max(0, y));
  const i = Math.floor(cx);
  const j = Math.floor(cy);
  const fx = cx - i;
  const fy = cy - j;
  const at = (a: number, b: number) => img[b * n + a]!;
  return (
    (1 - fy) * ((1 - fx) * at(i, j) + fx * at(i + 1, j)) +
    fy * ((1 - fx) * at(i, j + 1) + fx * at(i + 1, j + 1))
  );
}

/** Pixels within 2 of a change in the phantom. */
function edgeMask(truth: Float32Array, n: number): Uint8Array {
  const mask = new Uint8Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = truth[r * n + c]!;
      for (let dr = -2; dr <= 2; dr++) {
        for (let dc = -2; dc <= 2; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr >= 0 && rr < n && cc >= 0 && cc < n && truth[rr * n + cc] !== v)
            mask[r * n + c] = 1;
        }
      }
    }
  }
  return mask;
}
