import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  estimateWait,
  type CensoredObservation,
  type EstimateOptions,
  type WaitObservation,
} from './estimateWait';
import { queueFeatures, type QueueState, type WaitFeatures } from './queueFeatures';
import { CalibratedBound, SIZE_CLASSES, sizeClass, type SizeClass } from './wait/calibratedBound';
import { RuntimeModel } from './wait/runtimeModel';
import { BoostedTrees } from './wait/boostedTrees';

/** One job of a Standard Workload Format trace (times in epoch s, sizes in nodes). */
export interface SwfJob {
  id: number;
  submit: number;
  waitS: number;
  runS: number;
  nodes: number;
  walltimeS: number;
  queue: string;
}

/** Parses SWF text: `;` header lines, then 18 whitespace-separated fields per job. */
export function parseSwf(text: string): { jobs: SwfJob[]; maxNodes: number | null } {
  const jobs: SwfJob[] = [];
  let maxNodes: number | null = null;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith(';')) {
      const m = /^;\s*Max(?:Nodes|Procs):\s*(\d+)/.exec(trimmed);
      if (m && maxNodes === null) maxNodes = Number(m[1]);
      continue;
    }
    const f = trimmed.split(/\s+/).map(Number);
    if (f.length < 18 || f.some((x) => !Number.isFinite(x))) continue;
    const [id, submit, waitS, runS, alloc, , , requested, reqTime] = f as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const nodes = requested > 0 ? requested : alloc;
    const walltimeS = reqTime > 0 ? reqTime : runS;
    // Jobs that never ran (wait or size unknown) have no wait to predict.
    if (waitS < 0 || nodes <= 0 || walltimeS <= 0 || runS < 0) continue;
    jobs.push({ id, submit, waitS, runS, nodes, walltimeS, queue: String(f[14]) });
  }
  jobs.sort((a, b) => a.submit - b.submit || a.id - b.id);
  return { jobs, maxNodes };
}

/** One predictor's figures over the replay. */
export interface ReplayFigures {
  /** Share of predictions within 2× of the real wait (both floored at 60 s). */
  within2: number;
  within3: number;
  /** Share of real waits above the 95% bound (NaN for a predictor without a bound). */
  aboveBound: number;
  /** Median of bound / real wait (both floored at 60 s); NaN without a bound. */
  boundRatio: number;
  jobs: number;
}

export interface ReplayRow extends ReplayFigures {
  name: string;
  /** Figures of the jobs of each size class. */
  bySize: Record<SizeClass, ReplayFigures>;
}

export interface ReplayResult {
  jobs: number;
  rows: ReplayRow[];
}

/** Ratios are taken with waits under a minute counted as a minute (the issue's rule). */
const RATIO_FLOOR_S = 60;
/** The naive baseline: the median of the last 100 observed waits. */
const BASELINE_WINDOW = 100;

function ratio(predicted: number, real: number): number {
  const p = Math.max(predicted, RATIO_FLOOR_S);
  const r = Math.max(real, RATIO_FLOOR_S);
  return Math.max(p / r, r / p);
}

const median = (a: readonly number[]): number => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A point prediction and, when the method gives one, its 95% bound (s). */
interface Guess {
  point: number;
  bound: number;
}

class Tally {
  n = 0;
  in2 = 0;
  in3 = 0;
  above = 0;
  bounded = 0;
  boundRatios: number[] = [];

  add(g: Guess, real: number): void {
    const r = ratio(g.point, real);
    this.n++;
    if (r <= 2) this.in2++;
    if (r <= 3) this.in3++;
    if (!Number.isNaN(g.bound)) {
      this.bounded++;
      if (real > g.bound) this.above++;
      this.boundRatios.push(Math.max(g.bound, RATIO_FLOOR_S) / Math.max(real, RATIO_FLOOR_S));
    }
  }

  figures(): ReplayFigures {
    const n = Math.max(this.n, 1);
    return {
      within2: this.in2 / n,
      within3: this.in3 / n,
      aboveBound: this.bounded ? this.above / this.bounded : NaN,
      boundRatio: this.bounded ? median(this.boundRatios) : NaN,
      jobs: this.n,
    };
  }
}

/** Everything known at one job's submission that a predictor may use. */
interface Context {
  t: number;
  job: SwfJob;
  cls: SizeClass;
  features: WaitFeatures;
  history: readonly WaitObservation[];
  censored: readonly CensoredObservation[];
  recentWaits: readonly number[];
}

interface Predictor {
  name: string;
  predict(c: Context): Guess;
}

export interface ReplayOptions {
  /** Only the rows whose names contain one of these (all when omitted). */
  only?: readonly string[];
}

/**
 * Replays `jobs` (sorted by submission) one at a time. Each prediction sees only what was known at
 * that job's submission: the jobs running then (their start and request, not their end), the jobs
 * queued then (with how long they had waited), the waits of jobs that had started and the runtimes
 * of jobs that had ended. Returns one row per method.
 */
export function replay(
  jobs: readonly SwfJob[],
  totalNodes: number,
  options: ReplayOptions = {},
): ReplayResult {
  const features = new Map<number, WaitFeatures>();
  const byStart = jobs
    .map((j, index) => ({ index, at: j.submit + j.waitS }))
    .sort((a, b) => a.at - b.at);
  const byEnd = jobs
    .map((j, index) => ({ index, at: j.submit + j.waitS + j.runS }))
    .sort((a, b) => a.at - b.at);
  const history: WaitObservation[] = [];
  const recentWaits: number[] = [];
  const runtimes = new RuntimeModel();
  let nextStart = 0;
  let nextEnd = 0;
  let active: { job: SwfJob; index: number }[] = [];

  // Points each calibrated method gave, resolved into its calibration when the job starts.
  const calibrators = new Map<string, CalibratedBound>();
  const pending = new Map<string, Map<number, number>>();
  const calibrated = (name: string, c: Context, point: number, index: number): Guess => {
    let cal = calibrators.get(name);
    if (!cal) calibrators.set(name, (cal = new CalibratedBound()));
    let p = pending.get(name);
    if (!p) pending.set(name, (p = new Map()));
    p.set(index, point);
    return { point, bound: cal.bound(c.cls, point) };
  };
  let currentIndex = 0;

  const knn = (c: Context, o: EstimateOptions = {}) => estimateWait(c.history, c.features, o);
  const knnTypical = new Map<number, number>();
  /** The issue 16 estimator: no EASY feature, no zero-wait class, no censored neighbours. */
  const ISSUE16: EstimateOptions = { weights: { easyWaitS: 0 }, zeroWaitClass: false };
  const knnCached = (c: Context) => {
    const e = knn(c, ISSUE16);
    knnTypical.set(currentIndex, e.typical);
    return e;
  };
  // The learned model: a random forest on log-space system-state features, retrained every
  // RETRAIN submissions on the jobs that had started by then.
  const RETRAIN = 400;
  const TRAIN_WINDOW = 2500;
  const inputs = new Map<number, number[]>();
  let forest: BoostedTrees | null = null;
  let trainedAt = -Infinity;
  const startedOrder: number[] = [];
  const lg = (x: number | null | undefined) => Math.log(Math.max(x ?? 0, 60));
  const inputOf = (c: Context): number[] => {
    const f = c.features;
    const sameClass = c.censored.filter((q) => sizeClass(q.features.nodes) === c.cls);
    const elapsed = sameClass.map((q) => q.elapsedS);
    return [
      Math.log(f.nodes),
      lg(f.walltimeS),
      Math.log1p(f.queuedNodeHours ?? 0),
      Math.log1p(f.queuedJobs ?? 0),
      Math.log1p(f.runningNodeHoursLeft ?? 0),
      Math.log1p(f.freeNodes ?? 0),
      lg(f.simulatedWaitS),
      lg(f.simulatedWaitFullS),
      lg(f.easyWaitS),
      ((c.t / 3600) % 24) | 0,
      Math.floor(c.t / 86_400 + 4) % 7,
      lg(knnTypical.get(currentIndex) ?? knn(c, ISSUE16).typical),
      lg(median(c.recentWaits) || 0),
      Math.log1p(sameClass.length),
      lg(median(elapsed) || 0),
    ];
  };
  const forestPredict = (c: Context): number => {
    const x = inputOf(c);
    inputs.set(currentIndex, x);
    if (currentIndex - trainedAt >= RETRAIN && startedOrder.length >= 500) {
      const idx = startedOrder.slice(-TRAIN_WINDOW);
      forest = new BoostedTrees().train(
        idx.map((j) => inputs.get(j)!),
        idx.map((j) => lg(jobs[j]!.waitS)),
      );
      trainedAt = currentIndex;
    }
    return forest ? Math.exp(forest.predict(x)) : (knnTypical.get(currentIndex) ?? 0);
  };
  // Mixture: per size class, the method with more of its last MIX resolved guesses within 2×.
  const MIX = 200;
  const hits = new Map<string, Map<string, boolean[]>>();
  const mixPending = new Map<number, Record<string, number>>();
  const predictors: Predictor[] = [
    {
      name: 'kNN + QBETS bound (issue 16)',
      predict: (c) => {
        const e = knnCached(c);
        return { point: e.typical, bound: e.bound95 };
      },
    },
    {
      name: 'boosted trees on system state',
      predict: (c) => calibrated('forest', c, forestPredict(c), currentIndex),
    },
    {
      name: 'mixture by recent accuracy (kNN, trees, EASY)',
      predict: (c) => {
        const kt = knnTypical.get(currentIndex) ?? knn(c, ISSUE16).typical;
        const cands: Record<string, number> = {
          knn: kt,
          forest: forestPredict(c),
          easy: c.features.easyWaitS ?? 0,
        };
        mixPending.set(currentIndex, cands);
        const h = hits.get(c.cls);
        let best = 'knn';
        let bestScore = -1;
        for (const k of Object.keys(cands)) {
          const rec = h?.get(k) ?? [];
          const score = rec.length ? rec.filter(Boolean).length / rec.length : 0;
          if (score > bestScore) {
            bestScore = score;
            best = k;
          }
        }
        return calibrated('mix', c, cands[best]!, currentIndex);
      },
    },
    {
      name: 'queue sim: conservative, runtime 0.6×request',
      predict: (c) => calibrated('sim60', c, c.features.simulatedWaitS ?? 0, currentIndex),
    },
    {
      name: 'queue sim: EASY, predicted runtimes',
      predict: (c) => calibrated('easy', c, c.features.easyWaitS ?? 0, currentIndex),
    },
    {
      name: 'kNN + EASY sim feature',
      predict: (c) => {
        const e = knn(c, { ...ISSUE16, weights: { easyWaitS: 1 } });
        return { point: e.typical, bound: e.bound95 };
      },
    },
    {
      name: 'kNN + censored (still queued)',
      predict: (c) => {
        const e = knn(c, { ...ISSUE16, censored: c.censored });
        return { point: e.typical, bound: e.bound95 };
      },
    },
    {
      name: 'kNN per size class',
      predict: (c) => {
        const own = c.history.filter((h) => sizeClass(h.features.nodes) === c.cls);
        const e = estimateWait(own.length >= 300 ? own : c.history, c.features, ISSUE16);
        return { point: e.typical, bound: e.bound95 };
      },
    },
    {
      name: 'kNN + zero-wait class',
      predict: (c) => {
        const e = knn(c, { ...ISSUE16, zeroWaitClass: true });
        return { point: e.typical, bound: e.bound95 };
      },
    },
    {
      name: 'kNN, bound at the 95% quantile (confidence 50%)',
      predict: (c) => {
        const e = knn(c, { ...ISSUE16, confidence: 0.5 });
        return { point: e.typical, bound: e.bound95 };
      },
    },
    {
      name: 'kNN + per-class calibrated bound',
      predict: (c) =>
        calibrated('knn', c, knnTypical.get(currentIndex) ?? knn(c, ISSUE16).typical, currentIndex),
    },
    {
      name: 'Loupe (issue 17): kNN + EASY feature + zero-wait + censored',
      predict: (c) => {
        const e = knn(c, { censored: c.censored });
        return { point: e.typical, bound: e.bound95 };
      },
    },
  ];
  // Loupe's production method heads the table, then each idea alone, then the baseline.
  predictors.unshift(predictors.pop()!);
  const baseline: Predictor = {
    name: 'naive: median of last 100 waits',
    predict: (c) => ({ point: median(c.recentWaits) || 0, bound: NaN }),
  };
  const all = [...predictors, baseline].filter(
    (p) => !options.only || options.only.some((x) => p.name.includes(x)),
  );
  const tallies = all.map(() => ({
    total: new Tally(),
    bySize: Object.fromEntries(SIZE_CLASSES.map((k) => [k, new Tally()])) as Record<
      SizeClass,
      Tally
    >,
  }));

  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const t = job.submit;
    // Everything that started by now is an observed wait; everything that ended, a runtime.
    while (nextStart < byStart.length && byStart[nextStart]!.at <= t) {
      const { index, at } = byStart[nextStart++]!;
      const started = jobs[index]!;
      const f = features.get(index);
      recentWaits.push(started.waitS);
      if (recentWaits.length > BASELINE_WINDOW) recentWaits.shift();
      if (f) history.push({ startedAt: at, waitS: started.waitS, features: f });
      startedOrder.push(index);
      const m = mixPending.get(index);
      if (m) {
        mixPending.delete(index);
        const cls = sizeClass(started.nodes);
        let h = hits.get(cls);
        if (!h) hits.set(cls, (h = new Map()));
        for (const [k, point] of Object.entries(m)) {
          let rec = h.get(k);
          if (!rec) h.set(k, (rec = []));
          rec.push(ratio(point, started.waitS) <= 2);
          if (rec.length > MIX) rec.shift();
        }
      }
      for (const [name, p] of pending) {
        const point = p.get(index);
        if (point === undefined) continue;
        p.delete(index);
        calibrators.get(name)!.observe(sizeClass(started.nodes), point, started.waitS);
      }
    }
    while (nextEnd < byEnd.length && byEnd[nextEnd]!.at <= t) {
      const ended = jobs[byEnd[nextEnd++]!.index]!;
      runtimes.observe(ended.walltimeS, ended.runS);
    }
    active = active.filter((a) => a.job.submit + a.job.waitS + a.job.runS > t);
    const queued = active.filter((a) => a.job.submit + a.job.waitS > t);
    const state: QueueState = {
      now: t,
      totalNodes,
      running: active
        .filter((a) => a.job.submit + a.job.waitS <= t)
        .map((a) => ({
          nodes: a.job.nodes,
          start: a.job.submit + a.job.waitS,
          walltimeS: a.job.walltimeS,
        })),
      queued: queued.map((a) => ({
        nodes: a.job.nodes,
        submit: a.job.submit,
        walltimeS: a.job.walltimeS,
      })),
    };
    const f = queueFeatures(state, job, runtimes.snapshot());
    features.set(i, f);
    active.push({ job, index: i });
    currentIndex = i;
    const c: Context = {
      t,
      job,
      cls: sizeClass(job.nodes),
      features: f,
      history: history.length > 4000 ? history.slice(history.length - 4000) : history,
      censored: queued.map((a) => ({
        features: features.get(a.index)!,
        elapsedS: t - a.job.submit,
      })),
      recentWaits,
    };
    all.forEach((p, k) => {
      const g = p.predict(c);
      tallies[k]!.total.add(g, job.waitS);
      tallies[k]!.bySize[c.cls].add(g, job.waitS);
    });
  }
  return {
    jobs: jobs.length,
    rows: all.map((p, k) => ({
      name: p.name,
      ...tallies[k]!.total.figures(),
      bySize: Object.fromEntries(
        SIZE_CLASSES.map((s) => [s, tallies[k]!.bySize[s].figures()]),
      ) as Record<SizeClass, ReplayFigures>,
    })),
  };
}

const pct = (x: number) => (Number.isNaN(x) ? '  n/a' : `${(100 * x).toFixed(1).padStart(5)}%`);
const times = (x: number) => (Number.isNaN(x) ? '  n/a' : `${x.toFixed(1).padStart(5)}×`);

/** The report `npm run wait-backtest -- <trace.swf>` prints: one table, then the split by size. */
export function formatReport(trace: string, result: ReplayResult, totalNodes: number): string {
  const width = Math.max(...result.rows.map((r) => r.name.length), 6);
  const head = `${'method'.padEnd(width)}  within 2x  within 3x  above bound  bound/real`;
  const line = (name: string, f: ReplayFigures) =>
    `${name.padEnd(width)}     ${pct(f.within2)}     ${pct(f.within3)}       ${pct(f.aboveBound)}      ${times(f.boundRatio)}`;
  const out = [
    `trace: ${trace} (${totalNodes} nodes)`,
    `jobs replayed: ${result.jobs}`,
    head,
    ...result.rows.map((r) => line(r.name, r)),
    '',
    'by job size (nodes):',
  ];
  for (const r of result.rows) {
    out.push(`${r.name}`);
    for (const s of SIZE_CLASSES) out.push(line(`  ${s} (${r.bySize[s].jobs} jobs)`, r.bySize[s]));
  }
  return out.join('\n');
}

function main(argv: readonly string[]): number {
  const path = argv[0];
  if (!path) {
    console.error('usage: npm run wait-backtest -- <trace.swf> [--nodes N] [--limit JOBS]');
    return 2;
  }
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const { jobs, maxNodes } = parseSwf(readFileSync(path, 'utf8'));
  const limit = flag('--limit');
  const totalNodes = flag('--nodes') ?? maxNodes ?? jobs.reduce((m, j) => Math.max(m, j.nodes), 1);
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1]?.split(',') : undefined;
  const result = replay(limit ? jobs.slice(0, limit) : jobs, totalNodes, { only });
  console.log(formatReport(path, result, totalNodes));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2));
}
