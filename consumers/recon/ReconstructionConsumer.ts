import { mkdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Command,
  PLANES,
  type Plane,
  type ReconFilter,
  type Region,
  type View,
} from '@/lib/protocol';
import { writeDxchange } from '../detector/dxchangeFile';
import type { Projection, ProjectionSource } from '../detector/ProjectionSource';
import type { CommandOutcome, LoupeProducer } from '../sdk/LoupeProducer';
import { angleSet, brickTask, type ReconGrid, sliceTask } from './backproject';
import { BackprojectionPool } from './BackprojectionPool';
import { FilteredStore } from './FilteredStore';
import { type ProjectionWindow, ProjectionRing } from './ProjectionRing';
import { fullGrid, regionProblem, roiGrid } from './reconGrids';
import { type CaptureLimits, CaptureQuota } from './CaptureQuota';

/** What the consumer needs from the SDK (a LoupeProducer, or a fake in tests). */
export type Publisher = Pick<
  LoupeProducer,
  | 'runId'
  | 'publishSlice'
  | 'publishBrick'
  | 'writable'
  | 'publishMetrics'
  | 'setState'
  | 'onCommand'
>;

export interface ReconstructionOptions {
  /** Full view edge in voxels across the detector width (slices and preview volume). Default 128. */
  size?: number;
  /** Edge of a volume brick, voxels. Default 32 (64 bricks fill a 128³ preview). */
  brickSize?: number;
  /** Largest edge of the zoomed region's grid, voxels; its pitch never goes below 1 detector pixel. Default 128. */
  roiMaxEdge?: number;
  filter?: ReconFilter;
  /** Rotation axis, detector pixels from the left edge; default width / 2. */
  rotationCentre?: number;
  /** Worker threads; default all cores. 0 reconstructs on the main thread. */
  workers?: number;
  /** Where captures go. Default ./captures. */
  capturesDir?: string;
  /** Byte and file budget of this consumer's captures; beyond it a capture fails with the reason. */
  captureLimits?: CaptureLimits;
  /** Speed report interval, ms (0: never). Default 2000. */
  reportEveryMs?: number;
  /** Slices are not reconstructed more often than this, ms: beyond ~10/s nobody sees a difference. Default 100. */
  minCycleMs?: number;
  /**
   * A new pass over the preview volume starts at most this often, ms. Default 2000: on a 2-core
   * host a 128³ pass takes about a second, and the gateway and the browser need CPU too.
   */
  volumePassEveryMs?: number;
  log?: (line: string) => void;
}

interface ViewState {
  view: View;
  grid: ReconGrid;
  store: FilteredStore;
  region?: Region;
  /** Display range, smoothed across cycles, in published units (1/mm). */
  range: [number, number] | null;
  bricks: [number, number, number][];
  nextBrick: number;
  /** Newest projection index in use when the current volume pass started. */
  passStartedAt: number;
  /** When it started, epoch ms. */
  passStartedTime: number;
}

/** μ per detector pixel → μ per millimetre, the unit frames carry. */
const UM_PER_MM = 1000;
/** Weight of the newest cycle in the smoothed display range: steady window/level, still adapts in seconds. */
const RANGE_SMOOTHING = 0.3;

/**
 * The reference reconstruction consumer. Keeps the last half turn of projections (flat/dark
 * corrected, −log, filtered), and in a loop reconstructs the three orthogonal slices through the
 * current centre, then a share of the preview volume brick by brick, on worker threads; publishes
 * through the SDK. Zoom reconstructs a region at up to the detector's resolution as view `roi`.
 */
export class ReconstructionConsumer {
  private readonly options: Required<
    Omit<ReconstructionOptions, 'rotationCentre' | 'workers' | 'captureLimits'>
  >;
  private readonly captures: CaptureQuota;
  private readonly ring: ProjectionRing;
  private readonly pool: BackprojectionPool;
  private readonly full: ViewState;
  private roi: ViewState | null = null;
  /** Stores replaced by a zoom or reset; detached between cycles, when no job can still read them. */
  private retired: FilteredStore[] = [];
  private centre: number;
  private paused = false;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly corrected: Float32Array;
  private readonly width: number;
  private readonly height: number;
  private lastSliceIndex = -1;
  private timers: ReturnType<typeof setInterval>[] = [];
  private wake: (() => void) | null = null;
  private readonly counts = { projections: 0, slices: 0, bricks: 0, updates: 0 };
  private lastReport = { at: Date.now(), projections: 0, slices: 0, bricks: 0, updates: 0 };
  private lastMetrics = { ...this.lastReport };
  private lastCycleMs = 0;
  private lastLagMs = 0;
  private coverage = 0;

  constructor(
    private readonly publisher: Publisher,
    private readonly source: ProjectionSource,
    options: ReconstructionOptions = {},
  ) {
    this.options = {
      size: 128,
      brickSize: 32,
      roiMaxEdge: 128,
      filter: 'shepp-logan',
      capturesDir: './captures',
      reportEveryMs: 2000,
      minCycleMs: 100,
      volumePassEveryMs: 2000,
      log: (line) => console.log(line),
      ...options,
    };
    this.captures = new CaptureQuota(options.captureLimits);
    const { width, height } = source.detector;
    this.width = width;
    this.height = height;
    this.centre = options.rotationCentre ?? width / 2;
    // A half turn of projections plus half again: the oldest slots are rewritten only well after
    // a cycle that reads them has finished.
    const perHalfTurn = Math.ceil(Math.PI / source.angularStep);
    this.ring = new ProjectionRing(Math.ceil(perHalfTurn * 1.5) + 8);
    this.pool = new BackprojectionPool(options.workers ?? availableParallelism());
    this.corrected = new Float32Array(width * height);
    const grid = fullGrid(source.detector, this.options.size);
    this.full = this.viewState('full', grid);
    publisher.onCommand((command) => this.apply(command));
  }

  /** Projections kept, and shared memory the filtered stores hold, for the start-up banner. */
  get footprint(): { slots: number; storeBytes: number } {
    return {
      slots: this.ring.capacity,
      storeBytes: this.full.store.bytes + (this.roi?.store.bytes ?? 0),
    };
  }

  get state(): { paused: boolean; zoomed: Region | null; centre: number; filter: ReconFilter } {
    return {
      paused: this.paused,
      zoomed: this.roi?.region ?? null,
      centre: this.centre,
      filter: this.full.store.filterName,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.source.start((p) => this.ingest(p));
    this.loop = this.run();
    if (this.options.reportEveryMs > 0)
      this.timers.push(setInterval(() => this.report(), this.options.reportEveryMs));
    this.timers.push(setInterval(() => this.publishMetrics(), 1000));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.source.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.wake?.();
    await this.loop;
    await this.pool.close();
  }

  /** Applies one steering command; the SDK turns the outcome into the reply. */
  async apply(command: Command): Promise<CommandOutcome> {
    switch (command.kind) {
      case 'zoom': {
        const problem = regionProblem(this.full.grid, command.region);
        if (problem) return { status: 'rejected', reason: problem };
        await this.zoom(command.region);
        const g = this.roi!.grid;
        const pitch = g.spacing * this.source.detector.pixelSizeUm;
        return {
          status: 'applied',
          detail: `reconstructing ${g.shape.join('×')} voxels of ${pitch.toFixed(2)} µm`,
        };
      }
      case 'reset-zoom':
        this.unzoom();
        return { status: 'applied', detail: 'full view only' };
      case 'pause':
        this.paused = true;
        await this.publisher.setState('paused', 'paused from Loupe');
        return { status: 'applied' };
      case 'resume':
        this.paused = false;
        this.wake?.();
        await this.publisher.setState('streaming');
        return { status: 'applied' };
      case 'capture': {
        const refusal = this.captures.refusal(this.captureBytes());
        if (refusal) return { status: 'failed', reason: refusal };
        const path = await this.capture();
        this.captures.record((await stat(path)).size);
        return { status: 'applied', artifact: path, detail: `saved the last half turn to ${path}` };
      }
      case 'set-params': {
        if (command.rotationCentre !== undefined) {
          if (!(command.rotationCentre > 0 && command.rotationCentre < this.width)) {
            return {
              status: 'rejected',
              reason: `rotation centre ${command.rotationCentre} px is off the detector (0–${this.width})`,
            };
          }
          this.centre = command.rotationCentre;
        }
        if (command.filter !== undefined && command.filter !== this.full.store.filterName) {
          for (const v of this.views()) v.store.setFilter(command.filter);
          await this.refill(this.views());
        }
        this.restartPasses();
        return {
          status: 'applied',
          detail: `centre ${this.centre} px, filter ${this.full.store.filterName}`,
        };
      }
    }
  }

  /**
   * An upper bound of what a capture writes now: the half turn's projections (≤ 4 bytes a count),
   * flat and dark (float32), the angles (float64); the quota errs on the side of refusing.
   */
  private captureBytes(): number {
    const pixels = this.width * this.height;
    const count = this.ring.window().slots.length;
    return count * pixels * 4 + 2 * pixels * 4 + count * 8;
  }

  /** Writes the projections of the last half turn as DXchange HDF5; resolves with the file's path. */
  async capture(): Promise<string> {
    const win = this.ring.window();
    if (win.slots.length === 0) throw new Error('no projections to capture yet');
    const projections = win.slots.map((s) => this.ring.get(s)!);
    const dir = resolve(this.options.capturesDir);
    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const path = join(dir, `${this.publisher.runId}-${stamp}.h5`);
    await writeDxchange(path, {
      detector: this.source.detector,
      angles: Float64Array.from(projections, (p) => p.angle),
      flat: this.source.flat,
      dark: this.source.dark,
      count: projections.length,
      projection: (i) => projections[i]!.counts,
    });
    return path;
  }

  private ingest(p: Projection): void {
    const slot = this.ring.push(p);
    this.correct(p.counts);
    for (const v of this.views()) v.store.write(slot, this.corrected, this.width);
    this.counts.projections++;
    this.wake?.();
  }

  /** Flat/dark correction and −log, into `this.corrected`. */
  private correct(counts: Uint16Array | Float32Array): void {
    const { flat, dark } = this.source;
    // A transmission floor of 1e-4 keeps a dead or saturated pixel from becoming ±∞.
    for (let i = 0; i < counts.length; i++) {
      const t = (counts[i]! - dark[i]!) / Math.max(1e-6, flat[i]! - dark[i]!);
      this.corrected[i] = -Math.log(Math.max(1e-4, t));
    }
  }

  private views(): ViewState[] {
    return this.roi ? [this.full, this.roi] : [this.full];
  }

  private viewState(view: View, grid: ReconGrid, region?: Region): ViewState {
    const filter = this.full?.store.filterName ?? this.options.filter;
    const store = new FilteredStore(grid, this.source.detector, this.ring.capacity, filter);
    this.pool.attach(store);
    return {
      view,
      grid,
      store,
      ...(region && { region }),
      range: null,
      bricks: brickOrder(grid.shape, this.options.brickSize),
      nextBrick: 0,
      passStartedAt: -1,
      passStartedTime: 0,
    };
  }

  private async zoom(region: Region): Promise<void> {
    const grid = roiGrid(this.full.grid, region, this.options.roiMaxEdge);
    const state = this.viewState('roi', grid, region);
    await this.refill([state]);
    if (this.roi) this.retired.push(this.roi.store);
    this.roi = state;
  }

  private unzoom(): void {
    if (!this.roi) return;
    this.retired.push(this.roi.store);
    this.roi = null;
    this.restartPasses();
  }

  /** Re-filters the kept projections into `views`' stores, yielding now and then so the socket stays served. */
  private async refill(views: ViewState[]): Promise<void> {
    const before = this.ring.newestIndex;
    let n = 0;
    for (const [slot, p] of [...this.ring.filled()]) {
      this.correct(p.counts);
      for (const v of views) v.store.write(slot, this.corrected, this.width);
      if (++n % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    // Projections that arrived meanwhile went only to the stores in use; catch up, synchronously.
    for (const [slot, p] of this.ring.filled()) {
      if (p.index <= before) continue;
      this.correct(p.counts);
      for (const v of views) v.store.write(slot, this.corrected, this.width);
    }
  }

  private restartPasses(): void {
    for (const v of this.views()) {
      v.nextBrick = 0;
      v.passStartedAt = -1;
      v.passStartedTime = 0;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      for (const store of this.retired.splice(0)) this.pool.detach(store);
      const win = this.ring.window();
      const fresh = win.newestIndex !== this.lastSliceIndex;
      const volume = this.roi ?? this.full;
      const volumeDue = volume.nextBrick < volume.bricks.length || this.passDue(volume, win);
      if (this.paused || win.slots.length < 2 || (!fresh && !volumeDue)) {
        await this.idle(100);
        continue;
      }
      const started = Date.now();
      try {
        this.coverage = win.coverage + this.source.angularStep;
        if (fresh) {
          this.lastSliceIndex = win.newestIndex;
          await this.slices(this.full, win);
          if (this.roi) await this.slices(this.roi, win);
        }
        await this.bricks(volume, win, started);
      } catch (error) {
        if (!this.running) return;
        this.options.log(`recon: cycle failed: ${(error as Error).message}`);
        await this.idle(1000);
      }
      this.lastCycleMs = Date.now() - started;
      const rest = this.options.minCycleMs - this.lastCycleMs;
      if (rest > 0) await this.idle(rest);
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** The slices' centre for a view: the region's centre when zoomed, else the volume's. */
  private slicePositions(state: ViewState): Record<Plane, number> {
    const [nx, ny, nz] = state.grid.shape;
    if (state.view === 'full' && this.roi?.region) {
      const r = this.roi.region;
      const mid = (a: [number, number], n: number) =>
        Math.min(n - 1, Math.floor((a[0] + a[1]) / 2));
      return { xy: mid(r.z, nz), xz: mid(r.y, ny), yz: mid(r.x, nx) };
    }
    return { xy: Math.floor(nz / 2), xz: Math.floor(ny / 2), yz: Math.floor(nx / 2) };
  }

  private async slices(state: ViewState, win: ProjectionWindow): Promise<void> {
    const angles = angleSet(win.slots, win.angles);
    const positions = this.slicePositions(state);
    const tasks = PLANES.map((plane) =>
      sliceTask(state.grid, plane, positions[plane], this.centre),
    );
    const images = await Promise.all(
      tasks.map((t) => this.pool.reconstruct(state.store, angles, t)),
    );
    const scale = this.toPublished;
    for (const img of images) for (let i = 0; i < img.length; i++) img[i] = img[i]! * scale;
    this.updateRange(state, images);
    const voxel = this.voxelSize(state);
    for (let i = 0; i < PLANES.length; i++) {
      const plane = PLANES[i]!;
      const task = tasks[i]!;
      await this.publisher.writable(plane, state.view);
      this.publisher.publishSlice({
        view: state.view,
        plane,
        shape: [task.rows, task.cols],
        pixels: images[i]!,
        voxelSize: voxel,
        position: positions[plane],
        volumeShape: state.grid.shape,
        ...(state.region && { region: state.region }),
        ...(state.range && { range: state.range }),
        acquiredAt: win.newestAt,
      });
      this.counts.slices++;
      this.counts.updates += task.rows * task.cols * win.slots.length;
    }
    this.lastLagMs = Math.max(0, Date.now() - win.newestAt);
  }

  /**
   * Reconstructs the next bricks of the view's volume pass, a batch per worker at a time, for at
   * least one batch and until the cycle has used its time; a new pass starts with newer projections.
   */
  private async bricks(state: ViewState, win: ProjectionWindow, started: number): Promise<void> {
    const batch = Math.max(1, this.pool.size);
    const budgetMs = 250; // keeps slices coming several times a second while the volume fills in
    do {
      if (state.nextBrick >= state.bricks.length) {
        if (!this.passDue(state, win)) return;
        state.nextBrick = 0;
        state.passStartedAt = win.newestIndex;
        state.passStartedTime = Date.now();
      }
      const angles = angleSet(win.slots, win.angles);
      const offsets = state.bricks.slice(state.nextBrick, state.nextBrick + batch);
      state.nextBrick += offsets.length;
      const scale = this.toPublished;
      const results = await Promise.all(
        offsets.map(async (offset) => {
          const size = brickSize(state.grid.shape, offset, this.options.brickSize);
          const task = brickTask(state.grid, offset, size, this.centre);
          const voxels = await this.pool.reconstruct(state.store, angles, task, 1);
          for (let i = 0; i < voxels.length; i++) voxels[i] = voxels[i]! * scale;
          return { offset, size, voxels };
        }),
      );
      for (const { offset, size, voxels } of results) {
        if (!this.running || this.roiChangedUnder(state)) return;
        await this.publisher.writable('volume', state.view);
        this.publisher.publishBrick({
          view: state.view,
          shape: [size[2], size[1], size[0]],
          brickOffset: offset,
          volumeShape: state.grid.shape,
          pixels: voxels,
          voxelSize: this.voxelSize(state),
          ...(state.region && { region: state.region }),
          ...(state.range && { range: state.range }),
          acquiredAt: win.newestAt,
        });
        this.counts.bricks++;
        this.counts.updates += voxels.length * win.slots.length;
      }
    } while (Date.now() - started < budgetMs && this.running && !this.paused);
  }

  private passDue(state: ViewState, win: ProjectionWindow): boolean {
    return (
      state.passStartedAt !== win.newestIndex &&
      Date.now() - state.passStartedTime >= this.options.volumePassEveryMs
    );
  }

  /** A zoom or reset arrived while this view's bricks were in flight: drop them. */
  private roiChangedUnder(state: ViewState): boolean {
    return state.view === 'roi' ? state !== this.roi : this.roi !== null;
  }

  /** Back-projections come out as μ per detector pixel; frames carry μ per millimetre. */
  private get toPublished(): number {
    return UM_PER_MM / this.source.detector.pixelSizeUm;
  }

  private voxelSize(state: ViewState): [number, number, number] {
    const v = state.grid.spacing * this.source.detector.pixelSizeUm;
    return [v, v, v];
  }

  /** 0.5th and 99.9th percentiles of the slices, smoothed: a stable window that ignores a few hot pixels. */
  private updateRange(state: ViewState, images: Float32Array[]): void {
    const sample: number[] = [];
    for (const img of images) for (let i = 0; i < img.length; i += 7) sample.push(img[i]!);
    sample.sort((a, b) => a - b);
    const lo = sample[Math.floor(sample.length * 0.005)] ?? 0;
    const hi = sample[Math.floor(sample.length * 0.999)] ?? 1;
    if (!(hi > lo)) return;
    const prev = state.range;
    state.range = prev
      ? [prev[0] + RANGE_SMOOTHING * (lo - prev[0]), prev[1] + RANGE_SMOOTHING * (hi - prev[1])]
      : [lo, hi];
  }

  /** Rates since `since`, per second. */
  private rates(since: ReconstructionConsumer['lastReport']) {
    const now = Date.now();
    const seconds = Math.max(1e-3, (now - since.at) / 1000);
    return {
      at: now,
      projections: (this.counts.projections - since.projections) / seconds,
      slices: (this.counts.slices - since.slices) / seconds,
      bricks: (this.counts.bricks - since.bricks) / seconds,
      updates: (this.counts.updates - since.updates) / seconds,
    };
  }

  private publishMetrics(): void {
    const r = this.rates(this.lastMetrics);
    this.lastMetrics = { at: r.at, ...this.counts };
    this.publisher.publishMetrics({
      at: r.at,
      projectionsPerSecond: r.projections,
      slicesPerSecond: r.slices,
      bricksPerSecond: r.bricks,
      voxelAngleUpdatesPerSecond: r.updates,
      coverageDeg: Math.min(360, (this.coverage * 180) / Math.PI),
      cycleMs: this.lastCycleMs,
      lagMs: this.lastLagMs,
      paused: this.paused,
    });
  }

  private report(): void {
    const r = this.rates(this.lastReport);
    this.lastReport = { at: r.at, ...this.counts };
    const zoom = this.roi
      ? ` | zoom ${this.roi.grid.shape.join('×')} at ${this.roi.grid.spacing.toFixed(2)} px`
      : '';
    this.options.log(
      `recon: ${r.projections.toFixed(1)} projections/s, ${this.ring.window().slots.length} in use (${((this.coverage * 180) / Math.PI).toFixed(0)}°)` +
        ` | ${r.slices.toFixed(1)} slices/s, ${r.bricks.toFixed(1)} bricks/s, ${(r.updates / 1e6).toFixed(0)} M voxel-angle updates/s` +
        ` | cycle ${this.lastCycleMs} ms, lag ${this.lastLagMs} ms${this.paused ? ' | paused' : ''}${zoom}`,
    );
  }
}

/** Brick offsets covering `shape`, nearest the centre first, so the volume fills in from the middle. */
export function brickOrder(
  shape: readonly [number, number, number],
  edge: number,
): [number, number, number][] {
  const offsets: [number, number, number][] = [];
  for (let z = 0; z < shape[2]; z += edge)
    for (let y = 0; y < shape[1]; y += edge)
      for (let x = 0; x < shape[0]; x += edge) offsets.push([x, y, z]);
  const centre = shape.map((n) => n / 2);
  const dist = (o: readonly number[]) =>
    o.reduce((s, v, i) => s + (v + Math.min(edge, shape[i]! - v) / 2 - centre[i]!) ** 2, 0);
  return offsets.sort((a, b) => dist(a) - dist(b));
}

function brickSize(
  shape: readonly [number, number, number],
  offset: readonly [number, number, number],
  edge: number,
): [number, number, number] {
  return [0, 1, 2].map((i) => Math.min(edge, shape[i]! - offset[i]!)) as [number, number, number];
}
