import { mkdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Command,
  MAX_EDGE,
  type ParameterValues,
  PLANES,
  type Plane,
  ReconFilter,
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
import { ENTROPY_METRIC, entropyScores, refineMinimum } from './corrections/findCentre';
import { FOURIER_METRIC, fourierCentreScores } from './corrections/fourierCentre';
import { PaganinFilter } from './corrections/paganin';
import { removeOutliers } from './corrections/removeOutliers';
import { StripeEstimator } from './corrections/removeStripes';
import { fullGrid, regionProblem, roiGrid } from './reconGrids';
import { type CaptureLimits, CaptureQuota } from './CaptureQuota';
import { type ReferenceParameters, referenceParameters } from './referenceParameters';
import { brickOrder, brickSize } from './volumeBricks';
import { evenSinogram, montageRow } from './centreSweep';

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
  /**
   * Bricks of the preview volume fill a cycle up to this long, ms, after its slices and at least
   * one batch per cycle. Default 125: on a busy 2-core host the demo's planes came 3.8–4.3 times a
   * second (2.8–3.3 with 250 ms), the 128³ preview still refreshed every few seconds.
   */
  cycleBudgetMs?: number;
  log?: (line: string) => void;
}

interface ViewState {
  /** The sweep is a montage of one slice, never a volume pass. */
  view: Exclude<View, 'sweep'>;
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

/** The reference consumer's steerable parameters and their values (names as declared). */
/** What every published value is, for the viewer's readout, histogram axis and exports. */
const VALUE_META = { unit: '1/mm', description: 'linear attenuation coefficient' } as const;

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
  /** Full-view slice positions a viewer set (`set-slices`); planes not named stay centred. */
  private slicesSet: Partial<Record<Plane, number>> = {};
  /** Stores replaced by a zoom or reset; detached between cycles, when no job can still read them. */
  private retired: FilteredStore[] = [];
  private params: ReferenceParameters;
  /** While a timed capture records: takes each projection as it arrives. */
  private captureSink: ((p: Projection) => void) | null = null;
  private paganin: PaganinFilter | null = null;
  private stripes: StripeEstimator | null = null;
  private readonly transmission: Float32Array;
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
      cycleBudgetMs: 125,
      log: (line) => console.log(line),
      ...options,
    };
    this.captures = new CaptureQuota(options.captureLimits);
    const { width, height } = source.detector;
    this.width = width;
    this.height = height;
    this.params = Object.fromEntries(
      referenceParameters(source.detector, {
        filter: this.options.filter,
        ...(options.rotationCentre !== undefined && { rotationCentre: options.rotationCentre }),
      }).map((d) => [d.name, d.default]),
    ) as unknown as ReferenceParameters;
    this.transmission = new Float32Array(width * height);
    // A half turn of projections plus half again: the oldest slots are rewritten only well after
    // a cycle that reads them has finished.
    const perHalfTurn = Math.ceil(Math.PI / source.angularStep);
    this.ring = new ProjectionRing(Math.ceil(perHalfTurn * 1.5) + 8);
    this.pool = new BackprojectionPool(options.workers ?? availableParallelism());
    this.corrected = new Float32Array(width * height);
    this.configureCorrections();
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

  get state(): {
    paused: boolean;
    zoomed: Region | null;
    centre: number;
    filter: ReconFilter;
    parameters: Readonly<ReferenceParameters>;
  } {
    return {
      paused: this.paused,
      zoomed: this.roi?.region ?? null,
      centre: this.params.rotationCentre,
      filter: this.full.store.filterName,
      parameters: { ...this.params },
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
        if (command.preCount === undefined && command.durationS === undefined) {
          const refusal = this.captures.refusal(this.captureBytes());
          if (refusal) return { status: 'failed', reason: refusal };
          const path = await this.capture();
          this.captures.record((await stat(path)).size);
          return {
            status: 'applied',
            artifact: path,
            detail: `saved the last half turn to ${path}`,
          };
        }
        return this.timedCapture(command.preCount ?? 0, command.durationS ?? 0);
      }
      case 'set-parameters':
        return this.setParameters(command.values);
      case 'centre-sweep':
        return this.centreSweep(command.count, command.step, command.centre);
      case 'set-slices':
        return this.setSlices(command.positions);
    }
  }

  /**
   * Reconstructs the full view's middle xy slice about `count` centres `step` px apart around
   * `around` (default: the centre in force), scores each by slice entropy, and streams the
   * candidates side by side as one montage (view `sweep`) with the scores and the suggestion.
   */
  private async centreSweep(count: number, step: number, around?: number): Promise<CommandOutcome> {
    const win = this.ring.window();
    if (win.slots.length < 2) return { status: 'failed', reason: 'no projections to sweep yet' };
    const middle = around ?? this.params.rotationCentre;
    const centres = Array.from({ length: count }, (_, k) =>
      Number((middle + (k - (count - 1) / 2) * step).toFixed(3)),
    );
    const outside = centres.find((c) => c <= 0 || c >= this.width);
    if (outside !== undefined)
      return {
        status: 'rejected',
        reason: `candidate centre ${outside} px is off the detector (0–${this.width})`,
      };
    const state = this.full;
    const angles = angleSet(win.slots, win.angles);
    const z = Math.floor(state.grid.shape[2] / 2);
    const tasks = centres.map((c) => sliceTask(state.grid, 'xy', z, c));
    const [rows, cols] = [tasks[0]!.rows, tasks[0]!.cols];
    if (cols * count > MAX_EDGE)
      return {
        status: 'rejected',
        reason: `${count} tiles of ${cols} px exceed a ${MAX_EDGE} px montage`,
      };
    const images = await Promise.all(
      tasks.map((t) => this.pool.reconstruct(state.store, angles, t)),
    );
    // Vo's Fourier metric needs a half turn at even angles; until one is in, slice entropy.
    const sinogram = evenSinogram(
      win,
      this.ring,
      this.source,
      this.width,
      Math.floor(this.height / 2),
    );
    const scores = sinogram
      ? fourierCentreScores(sinogram, this.width, sinogram.length / this.width, centres)
      : entropyScores(images);
    const suggested = refineMinimum(scores.map((score, k) => ({ centre: centres[k]!, score })));
    const scale = this.toPublished;
    const montage = montageRow(images, rows, cols, scale);
    await this.publisher.writable('xy', 'sweep');
    this.publisher.publishSlice({
      view: 'sweep',
      plane: 'xy',
      shape: [rows, cols * count],
      pixels: montage,
      voxelSize: this.voxelSize(state),
      position: z,
      volumeShape: state.grid.shape,
      ...(state.range && { range: state.range }),
      ...VALUE_META,
      acquiredAt: win.newestAt,
      sweep: {
        centres,
        scores,
        suggested: Number(suggested.toFixed(3)),
        tile: [rows, cols],
        metric: sinogram ? FOURIER_METRIC : ENTROPY_METRIC,
      },
    });
    return {
      status: 'applied',
      detail: `suggested centre ${suggested.toFixed(2)} px from ${count} candidates ${step} px apart`,
    };
  }

  /**
   * Applies declared parameters (the gateway and the SDK checked them against the declaration).
   * The centre takes effect with the next cycle; anything that changes how projections are
   * corrected or filtered refills the kept projections first.
   */
  private async setParameters(values: ParameterValues): Promise<CommandOutcome> {
    const next = { ...this.params } as Record<string, unknown>;
    for (const [name, value] of Object.entries(values)) {
      if (!(name in next)) return { status: 'rejected', reason: `no parameter ${name}` };
      if (typeof value !== typeof next[name])
        return { status: 'rejected', reason: `${name} takes a ${typeof next[name]}` };
      next[name] = value;
    }
    const filter = ReconFilter.safeParse(next.filter);
    if (!filter.success)
      return { status: 'rejected', reason: `unknown filter ${String(next.filter)}` };
    const before = this.params;
    this.params = next as unknown as ReferenceParameters;
    const refill = Object.keys(values).some(
      (n) => n !== 'rotationCentre' && values[n] !== before[n as keyof ReferenceParameters],
    );
    if (refill) {
      this.configureCorrections();
      for (const v of this.views()) v.store.setFilter(filter.data);
      await this.refill(this.views());
    }
    this.restartPasses();
    return { status: 'applied', detail: this.describeParameters() };
  }

  private describeParameters(): string {
    const p = this.params;
    const parts = [
      `centre ${p.rotationCentre} px`,
      `filter ${this.full?.store.filterName ?? p.filter}`,
    ];
    if (p.dezinger > 0) parts.push(`dezinger above ${p.dezinger} counts`);
    if (p.ringRemoval) parts.push(`ring removal over ${p.ringWidth} px`);
    if (p.paganin)
      parts.push(
        `Paganin ${p.energy} keV, ${p.distance} mm, δ/β ${p.deltaOverBeta}, ${p.pixelSize} µm`,
      );
    return parts.join(', ');
  }

  /** (Re)builds the per-projection corrections for the parameters in force. */
  private configureCorrections(): void {
    const p = this.params;
    this.paganin = p.paganin
      ? new PaganinFilter(this.width, this.height, {
          energyKeV: p.energy,
          distanceMm: p.distance,
          deltaOverBeta: p.deltaOverBeta,
          pixelSizeUm: p.pixelSize,
        })
      : null;
    // An odd width: the median needs a middle.
    const ringWidth = p.ringWidth % 2 === 1 ? p.ringWidth : p.ringWidth + 1;
    this.stripes = p.ringRemoval
      ? new StripeEstimator(this.width, this.height, this.ring.capacity, ringWidth)
      : null;
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

  /**
   * tomostream's capture: the `preCount` newest projections kept in the ring before the trigger,
   * then every projection for `durationS` s, the progress in the run's state message about once a
   * second. The quota is checked for the pre-count; recording stops early where the projections
   * after the trigger would exceed it.
   */
  private async timedCapture(preCount: number, durationS: number): Promise<CommandOutcome> {
    const pre = preCount === 0 ? [] : [...this.ring.filled()].map(([, p]) => p).slice(-preCount);
    const frameBytes = this.width * this.height * 4;
    const refusal = this.captures.refusal((pre.length + 2) * frameBytes);
    if (refusal) return { status: 'failed', reason: refusal };
    const after: Projection[] = [];
    const maxAfter = Math.max(
      0,
      Math.floor(this.captures.remainingBytes() / frameBytes) - pre.length - 2,
    );
    let stopped = false;
    if (durationS > 0) {
      const started = Date.now();
      this.captureSink = (p) => {
        if (after.length < maxAfter) after.push(p);
        else stopped = true;
      };
      const PROGRESS_MS = 1000;
      try {
        while (Date.now() - started < durationS * 1000 && !stopped) {
          await new Promise((r) =>
            setTimeout(r, Math.min(PROGRESS_MS, durationS * 1000 - (Date.now() - started))),
          );
          const done = Math.min(100, ((Date.now() - started) / (durationS * 1000)) * 100);
          await this.publisher.setState(
            this.paused ? 'paused' : 'streaming',
            `capturing: ${pre.length} before the trigger + ${after.length} after, ${done.toFixed(0)} % of ${durationS} s`,
          );
        }
      } finally {
        this.captureSink = null;
      }
      await this.publisher.setState(this.paused ? 'paused' : 'streaming');
    }
    const projections = [...pre, ...after];
    if (projections.length === 0) return { status: 'failed', reason: 'no projections to capture' };
    const dir = resolve(this.options.capturesDir);
    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const path = join(dir, `${this.publisher.runId}-${stamp}.h5`);
    await writeDxchange(
      path,
      {
        detector: this.source.detector,
        angles: Float64Array.from(projections, (p) => p.angle),
        flat: this.source.flat,
        dark: this.source.dark,
        count: projections.length,
        projection: (i) => projections[i]!.counts,
      },
      { parameters: { ...this.params }, preCount: pre.length, durationS },
    );
    this.captures.record((await stat(path)).size);
    return {
      status: 'applied',
      artifact: path,
      detail: `saved ${pre.length} projections from before the trigger and ${after.length} over ${durationS} s${stopped ? ' (stopped early at the capture quota)' : ''} to ${path}`,
    };
  }

  private ingest(p: Projection): void {
    this.captureSink?.(p);
    const slot = this.ring.push(p);
    this.correct(p.counts);
    for (const v of this.views()) v.store.write(slot, this.corrected, this.width);
    this.counts.projections++;
    this.wake?.();
  }

  /**
   * Into `this.corrected`: dezinger (raw counts), flat/dark correction, Paganin phase retrieval
   * (on the transmission), −log, ring removal (on the line integrals) — tomostream's order.
   */
  private correct(counts: Uint16Array | Float32Array): void {
    const { flat, dark } = this.source;
    const p = this.params;
    const t = this.transmission;
    let raw: ArrayLike<number> = counts;
    if (p.dezinger > 0) {
      removeOutliers(counts, this.width, this.height, p.dezinger, this.corrected);
      raw = this.corrected;
    }
    for (let i = 0; i < counts.length; i++)
      t[i] = (raw[i]! - dark[i]!) / Math.max(1e-6, flat[i]! - dark[i]!);
    if (this.paganin) this.paganin.apply(t, t);
    // A transmission floor of 1e-4 keeps a dead or saturated pixel from becoming ±∞.
    for (let i = 0; i < counts.length; i++) this.corrected[i] = -Math.log(Math.max(1e-4, t[i]!));
    this.stripes?.correct(this.corrected);
  }

  private views(): ViewState[] {
    return this.roi ? [this.full, this.roi] : [this.full];
  }

  private viewState(view: ViewState['view'], grid: ReconGrid, region?: Region): ViewState {
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

  /**
   * Moves the full view's planes; the next cycle (a few a second) reconstructs them there, so the
   * viewer sees the new position within a second. Out-of-volume indices are refused whole.
   */
  private setSlices(positions: Partial<Record<Plane, number>>): CommandOutcome {
    const [nx, ny, nz] = this.full.grid.shape;
    const extent: Record<Plane, number> = { xy: nz, xz: ny, yz: nx };
    for (const plane of PLANES) {
      const p = positions[plane];
      if (p !== undefined && p >= extent[plane])
        return {
          status: 'rejected',
          reason: `${plane} position ${p} is outside the volume (0–${extent[plane] - 1})`,
        };
    }
    this.slicesSet = { ...this.slicesSet, ...positions };
    this.wake?.();
    const where = PLANES.filter((p) => positions[p] !== undefined)
      .map((p) => `${p} at ${positions[p]}`)
      .join(', ');
    return { status: 'applied', detail: `slices ${where}` };
  }

  /**
   * The slices' position for a view: in the full view, where a viewer set them, else the zoomed
   * region's centre when zoomed, else the volume's centre.
   */
  private slicePositions(state: ViewState): Record<Plane, number> {
    const centred = this.centredPositions(state);
    if (state.view !== 'full') return centred;
    return {
      xy: this.slicesSet.xy ?? centred.xy,
      xz: this.slicesSet.xz ?? centred.xz,
      yz: this.slicesSet.yz ?? centred.yz,
    };
  }

  private centredPositions(state: ViewState): Record<Plane, number> {
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
      sliceTask(state.grid, plane, positions[plane], this.params.rotationCentre),
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
        ...VALUE_META,
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
    const budgetMs = this.options.cycleBudgetMs;
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
          const task = brickTask(state.grid, offset, size, this.params.rotationCentre);
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
          ...VALUE_META,
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
