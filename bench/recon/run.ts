/**
 * Back-projection speed: slices per second and voxel-angle updates per second for N×N slices at
 * N = 256, 512, 1024, on one worker thread and on all cores, beside the textbook single loop
 * measured in the same run. Prints medians and ratios; never passes or fails on time.
 *
 *   npm run bench:recon [-- --quick]
 */
import { availableParallelism, cpus } from 'node:os';
import { projectPhantom } from '@/consumers/phantom/phantomProjection';
import { angleSet, naiveBackproject, brickTask, sliceTask } from '@/consumers/recon/backproject';
import { BackprojectionPool } from '@/consumers/recon/BackprojectionPool';
import { FilteredStore } from '@/consumers/recon/FilteredStore';
import { fullGrid } from '@/consumers/recon/reconGrids';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [256] : [256, 512, 1024];
/** Half a turn at 0.5° steps: the angle count of a typical fly scan's 180°, fixed so sizes compare. */
const ANGLES = 360;
const REPEATS = quick ? 3 : 5;
const cores = availableParallelism();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Medians of `repeats` rounds, each timing every function once, after one warm-up round. */
async function interleaved(repeats: number, fns: (() => unknown)[]): Promise<number[]> {
  for (const fn of fns) await fn();
  const times = fns.map(() => [] as number[]);
  for (let i = 0; i < repeats; i++) {
    for (let j = 0; j < fns.length; j++) {
      const t = performance.now();
      await fns[j]!();
      times[j]!.push((performance.now() - t) / 1000);
    }
  }
  return times.map(median);
}

const fmt = (x: number, d = 1) => x.toFixed(d).padStart(8);

console.log(`bench/recon: ${cpus()[0]?.model ?? 'cpu'} × ${cores}, Node ${process.version}`);
console.log(
  `N×N xy slice from ${ANGLES} projections (ramp-filtered phantom), median of ${REPEATS}\n`,
);
console.log(
  '     N | naive slices/s  Mvox·ang/s | 1 worker slices/s  Mvox·ang/s | ' +
    `${cores} workers slices/s  Mvox·ang/s | 1 worker/naive | ${cores} workers/1 worker`,
);

const one = new BackprojectionPool(1);
const all = new BackprojectionPool(cores);
try {
  for (const n of SIZES) {
    const detector = { width: n, height: 1 };
    const grid = fullGrid(detector, n);
    const store = new FilteredStore(grid, detector, ANGLES, 'ramp');
    const angles = Array.from({ length: ANGLES }, (_, i) => (i * Math.PI) / ANGLES);
    angles.forEach((a, i) => store.write(i, projectPhantom(a, detector), n));
    const set = angleSet(
      angles.map((_, i) => i),
      angles,
    );
    const task = sliceTask(grid, 'xy', 0, n / 2);
    const work = n * n * ANGLES;

    // The naive loop is slow; at large N it runs on a band of rows and is scaled to the slice.
    const band = Math.min(n, Math.max(16, Math.round((256 * 256) / n)));
    const naiveTask = { ...task, rows: band, y0: task.y0 + ((n - band) / 2) * grid.spacing };
    const naiveOut = new Float32Array(band * n);
    const slots = angles.map((_, i) => i);
    const weights = [...set.weights];
    // Rounds alternate the three variants, so load from other processes on a shared host falls on
    // all of them alike instead of skewing the ratios.
    const variants = {
      naive: () =>
        naiveBackproject(store.data, store.layout, angles, weights, slots, naiveTask, naiveOut),
      one: () => one.reconstruct(store, set, task, 1),
      all: () => all.reconstruct(store, set, task, cores * 2),
    };
    const [naiveT, oneS, allS] = (await interleaved(REPEATS, [
      variants.naive,
      variants.one,
      variants.all,
    ])) as [number, number, number];
    const naiveS = naiveT * (n / band);
    one.detach(store);
    all.detach(store);
    const rate = (s: number) => `${fmt(1 / s, 2)}    ${fmt(work / s / 1e6, 0)}  `;
    console.log(
      `${String(n).padStart(6)} |    ${rate(naiveS)} |       ${rate(oneS)}   |        ${rate(allS)}   |  ${fmt(naiveS / oneS, 2)}×      |  ${fmt(oneS / allS, 2)}×`,
    );
  }

  // The consumer's preview volume at its defaults: a 256-wide detector binned to 128³, 180 projections.
  const detector = { width: 256, height: 256 };
  const grid = fullGrid(detector, 128);
  const n = 180;
  const store = new FilteredStore(grid, detector, n, 'shepp-logan');
  const angles = Array.from({ length: n }, (_, i) => (i * Math.PI) / n);
  angles.forEach((a, i) => store.write(i, projectPhantom(a, detector), 256));
  const set = angleSet(
    angles.map((_, i) => i),
    angles,
  );
  const bricks: [number, number, number][] = [];
  for (let z = 0; z < 128; z += 32)
    for (let y = 0; y < 128; y += 32) for (let x = 0; x < 128; x += 32) bricks.push([x, y, z]);
  const volume = (pool: BackprojectionPool) =>
    Promise.all(
      bricks.map((o) => pool.reconstruct(store, set, brickTask(grid, o, [32, 32, 32], 128), 1)),
    );
  const [oneV, allV] = (await interleaved(Math.max(1, REPEATS - 2), [
    () => volume(one),
    () => volume(all),
  ])) as [number, number];
  const vWork = 128 ** 3 * n;
  console.log(
    `\npreview volume 128³ (64 bricks of 32³) from ${n} projections: 1 worker ${oneV.toFixed(2)} s ` +
      `(${(vWork / oneV / 1e6).toFixed(0)} Mvox·ang/s), ${cores} workers ${allV.toFixed(2)} s ` +
      `(${(vWork / allV / 1e6).toFixed(0)} Mvox·ang/s), ${(oneV / allV).toFixed(2)}×`,
  );
} finally {
  await one.close();
  await all.close();
}
