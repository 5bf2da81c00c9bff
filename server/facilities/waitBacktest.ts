import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { estimateWait, type WaitObservation } from './estimateWait';
import { queueFeatures, type QueueState, type WaitFeatures } from './queueFeatures';

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

export interface ReplayFigures {
  /** Share of predictions within 2× of the real wait (both floored at 60 s). */
  within2: number;
  within3: number;
  /** Share of real waits above the 95% bound (NaN for a predictor without a bound). */
  aboveBound: number;
}

export interface ReplayResult {
  jobs: number;
  /** Our typical wait (the point prediction) against the real wait, and our 95% bound. */
  ours: ReplayFigures;
  /** Our median instead of the typical wait, for reference. */
  oursMedian: ReplayFigures;
  baseline: ReplayFigures;
}

/** Ratios are taken with waits under a minute counted as a minute (the rule). */
const RATIO_FLOOR_S = 60;
/** The naive baseline: the median of the last 100 observed waits. */
const BASELINE_WINDOW = 100;

function ratio(predicted: number, real: number): number {
  const p = Math.max(predicted, RATIO_FLOOR_S);
  const r = Math.max(real, RATIO_FLOOR_S);
  return Math.max(p / r, r / p);
}

/**
 * Replays `jobs` (sorted by submission) one at a time. Each prediction sees only what was known at
 * that job's submission: the jobs running and queued then, and the waits of jobs that had started.
 */
export function replay(jobs: readonly SwfJob[], totalNodes: number): ReplayResult {
  const features = new Map<number, WaitFeatures>();
  const byStart = jobs
    .map((j, index) => ({ index, start: j.submit + j.waitS }))
    .sort((a, b) => a.start - b.start);
  const history: WaitObservation[] = [];
  const recentWaits: number[] = [];
  let nextStart = 0;
  let active: SwfJob[] = [];
  const tally = { ours2: 0, ours3: 0, oursAbove: 0, med2: 0, med3: 0, base2: 0, base3: 0, n: 0 };

  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const t = job.submit;
    // Everything that started by now is an observed wait.
    while (nextStart < byStart.length && byStart[nextStart]!.start <= t) {
      const { index, start } = byStart[nextStart++]!;
      const started = jobs[index]!;
      const f = features.get(index);
      recentWaits.push(started.waitS);
      if (recentWaits.length > BASELINE_WINDOW) recentWaits.shift();
      if (f) history.push({ startedAt: start, waitS: started.waitS, features: f });
    }
    active = active.filter((a) => a.submit + a.waitS + a.runS > t);
    const state: QueueState = {
      now: t,
      totalNodes,
      running: active
        .filter((a) => a.submit + a.waitS <= t)
        .map((a) => ({ nodes: a.nodes, start: a.submit + a.waitS, walltimeS: a.walltimeS })),
      queued: active
        .filter((a) => a.submit + a.waitS > t)
        .map((a) => ({ nodes: a.nodes, submit: a.submit, walltimeS: a.walltimeS })),
    };
    const f = queueFeatures(state, job);
    features.set(i, f);
    active.push(job);

    const ours = estimateWait(history, f);
    const sorted = [...recentWaits].sort((a, b) => a - b);
    const base =
      sorted.length === 0
        ? 0
        : sorted.length % 2
          ? sorted[sorted.length >> 1]!
          : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    const ro = ratio(ours.typical, job.waitS);
    const rm = ratio(ours.median, job.waitS);
    const rb = ratio(base, job.waitS);
    tally.n++;
    if (ro <= 2) tally.ours2++;
    if (ro <= 3) tally.ours3++;
    if (job.waitS > ours.bound95) tally.oursAbove++;
    if (rm <= 2) tally.med2++;
    if (rm <= 3) tally.med3++;
    if (rb <= 2) tally.base2++;
    if (rb <= 3) tally.base3++;
  }
  const n = Math.max(tally.n, 1);
  return {
    jobs: tally.n,
    ours: { within2: tally.ours2 / n, within3: tally.ours3 / n, aboveBound: tally.oursAbove / n },
    oursMedian: {
      within2: tally.med2 / n,
      within3: tally.med3 / n,
      aboveBound: tally.oursAbove / n,
    },
    baseline: { within2: tally.base2 / n, within3: tally.base3 / n, aboveBound: NaN },
  };
}

const pct = (x: number) => (Number.isNaN(x) ? '   n/a' : `${(100 * x).toFixed(1).padStart(5)}%`);

/** The report `npm run wait-backtest -- <trace.swf>` prints. */
export function formatReport(trace: string, result: ReplayResult, totalNodes: number): string {
  return [
    `trace: ${trace} (${totalNodes} nodes)`,
    `jobs replayed: ${result.jobs}`,
    `                          within 2x  within 3x  above 95% bound`,
    `ours (kNN + QBETS bound)     ${pct(result.ours.within2)}     ${pct(result.ours.within3)}           ${pct(result.ours.aboveBound)}`,
    `  (our median instead)       ${pct(result.oursMedian.within2)}     ${pct(result.oursMedian.within3)}           ${pct(result.oursMedian.aboveBound)}`,
    `baseline (median last 100)   ${pct(result.baseline.within2)}     ${pct(result.baseline.within3)}           ${pct(result.baseline.aboveBound)}`,
  ].join('\n');
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
  const result = replay(limit ? jobs.slice(0, limit) : jobs, totalNodes);
  console.log(formatReport(path, result, totalNodes));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2));
}
