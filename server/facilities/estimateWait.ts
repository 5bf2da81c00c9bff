import type { EstimateMethod } from '@/lib/protocol';
import type { WaitFeatures } from './queueFeatures';

/** One job that started: its shape and queue at submission, and how long it waited. */
export interface WaitObservation {
  /** When it started (epoch s): observations are known from then on. */
  startedAt: number;
  /** Seconds from submission to start. */
  waitS: number;
  features: WaitFeatures;
  /** The queue or partition it ran in, when known. */
  queue?: string | null;
}

export interface WaitPrediction {
  /** Seconds. */
  median: number;
  /** Seconds; Infinity when too few observations support a 95% bound. */
  bound95: number;
  observations: number;
  method: EstimateMethod;
}

export interface EstimateOptions {
  /** Most recent observations considered (the rest is too old to describe today's queue). */
  window?: number;
  /** Neighbours behind the median. */
  neighbours?: number;
  /** Neighbours behind the 95% bound (the binomial method needs ≥ 59 for 95%/95%). */
  boundNeighbours?: number;
  /** Quantile bounded and the confidence of the bound. */
  quantile?: number;
  confidence?: number;
}

/**
 * Tuned by replaying the ALCF Theta 2022 trace (waitBacktest.ts): 2000 recent starts (about five
 * weeks there) and 30 neighbours placed most predictions within 2× of the real wait.
 */
const DEFAULTS: Required<EstimateOptions> = {
  window: 2000,
  neighbours: 30,
  boundNeighbours: 120,
  quantile: 0.95,
  confidence: 0.95,
};

/** Waits under a minute are one minute: below that the scheduler's cycle, not the queue, decides. */
const FLOOR_S = 60;

type Key = keyof WaitFeatures;
/** Weight of each feature (in log space) in the neighbour distance; chosen on the Theta replay. */
const WEIGHTS: readonly [Key, number][] = [
  ['nodes', 1],
  ['walltimeS', 1],
  ['queuedNodeHours', 0.5],
  ['runningNodeHoursLeft', 0.5],
  ['queuedJobs', 0.5],
  ['freeNodes', 0.5],
  ['simulatedWaitS', 1],
  ['simulatedWaitFullS', 1],
];
/** Features that are durations get the one-minute floor before the log; counts get log(1 + x). */
const DURATIONS = new Set<Key>(['walltimeS', 'simulatedWaitS', 'simulatedWaitFullS']);

function transform(key: Key, value: number | null): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  return DURATIONS.has(key) ? Math.log(Math.max(value, FLOOR_S)) : Math.log1p(Math.max(value, 0));
}

/** Log-space feature vector; null entries are features the source did not publish. */
export function featureVector(f: WaitFeatures): (number | null)[] {
  return WEIGHTS.map(([key]) => transform(key, f[key]));
}

/** log P(Binomial(n, p) = j) for j = 0..n, by the recurrence pmf(j+1) = pmf(j)·(n−j)/(j+1)·p/(1−p). */
function logPmf(n: number, p: number): Float64Array {
  const out = new Float64Array(n + 1);
  out[0] = n * Math.log1p(-p);
  const step = Math.log(p) - Math.log1p(-p);
  for (let j = 0; j < n; j++) out[j + 1] = out[j]! + Math.log((n - j) / (j + 1)) + step;
  return out;
}

const upperIndexCache = new Map<string, number | null>();

/**
 * The binomial method: with n sorted observations, x_(k) (1-based) bounds the q-quantile from
 * above with the given confidence when P(Binomial(n, q) ≤ k − 1) ≥ confidence. Returns k, or null
 * when even the largest observation is not enough.
 */
export function binomialUpperIndex(n: number, q: number, confidence: number): number | null {
  const key = `${n}:${q}:${confidence}`;
  const cached = upperIndexCache.get(key);
  if (cached !== undefined) return cached;
  const pmf = logPmf(n, q);
  let cdf = 0;
  let answer: number | null = null;
  for (let j = 0; j < n; j++) {
    cdf += Math.exp(pmf[j]!);
    if (cdf >= confidence) {
      answer = j + 1;
      break;
    }
  }
  upperIndexCache.set(key, answer);
  return answer;
}

const missCache = new Map<string, number>();

/** Fewest misses out of m, each missing with probability p, that would happen by chance < 1%. */
function significantMisses(m: number, p: number): number {
  const key = `${m}:${p}`;
  const cached = missCache.get(key);
  if (cached !== undefined) return cached;
  const pmf = logPmf(m, p);
  let tail = 0;
  let k = m + 1;
  // Walk down from m while P(X ≥ k) stays under 1%.
  for (let j = m; j >= 0; j--) {
    tail += Math.exp(pmf[j]!);
    if (tail >= 0.01) break;
    k = j;
  }
  missCache.set(key, k);
  return k;
}

const vectors = new WeakMap<WaitFeatures, (number | null)[]>();

function vectorOf(h: WaitObservation): (number | null)[] {
  let v = vectors.get(h.features);
  if (!v) {
    v = featureVector(h.features);
    vectors.set(h.features, v);
  }
  return v;
}

/** The k-th smallest value (1-based) of `a`, by quickselect; reorders `a`. */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * QBETS change-point trimming: if the latest observations exceed the bound computed over the whole
 * history far more often than the quantile allows (p < 1%), the queue changed regime; keep only
 * those latest observations. Returns how many of the most recent observations to keep.
 */
export function trimChangePoint(
  waits: readonly number[],
  quantile: number,
  confidence: number,
): number {
  const n = waits.length;
  const sorted = [...waits].sort((a, b) => a - b);
  const k = binomialUpperIndex(n, quantile, confidence);
  if (k === null) return n;
  const bound = sorted[k - 1]!;
  /** Shortest run that can reveal a shift at p < 1% with q = 0.95 (3 misses in 20). */
  const MIN_RUN = 20;
  for (let m = MIN_RUN; m < n; m *= 2) {
    let misses = 0;
    for (let i = n - m; i < n; i++) if (waits[i]! > bound) misses++;
    if (misses >= significantMisses(m, 1 - quantile)) return m;
  }
  return n;
}

/**
 * Predicts the wait of a job with features `query` from `history`, oldest first, all observed
 * before the prediction. The median comes from the nearest recent jobs in (size, walltime, backlog,
 * simulated start) space; the bound from the binomial method over a wider neighbourhood, after
 * change-point trimming of the history. Waits are in seconds.
 */
export function estimateWait(
  history: readonly WaitObservation[],
  query: WaitFeatures,
  options: EstimateOptions = {},
): WaitPrediction {
  const o = { ...DEFAULTS, ...options };
  if (history.length === 0) {
    // No start observed yet: the queue placement is the only evidence, and it bounds nothing.
    return query.simulatedWaitS === null
      ? { median: 0, bound95: Infinity, observations: 0, method: 'none' }
      : { median: query.simulatedWaitS, bound95: Infinity, observations: 0, method: 'backlog' };
  }
  let recent = history.slice(Math.max(0, history.length - o.window));
  const keep = trimChangePoint(
    recent.map((h) => h.waitS),
    o.quantile,
    o.confidence,
  );
  // Never trim below what the bound needs: a fresh regime with few points still beats none.
  recent = recent.slice(recent.length - Math.max(keep, Math.min(o.boundNeighbours, recent.length)));

  const q = featureVector(query);
  const distance = new Float64Array(recent.length);
  for (let r = 0; r < recent.length; r++) {
    const v = vectorOf(recent[r]!);
    let d = 0;
    for (let i = 0; i < WEIGHTS.length; i++) {
      const a = q[i];
      const b = v[i];
      if (a === null || a === undefined || b === null || b === undefined) continue;
      const w = WEIGHTS[i]![1];
      d += w * w * (a - b) * (a - b);
    }
    distance[r] = d;
  }
  const nearest = (count: number): number[] => {
    if (count >= recent.length) return recent.map((h) => Math.max(h.waitS, FLOOR_S));
    const cut = kthSmallest(Float64Array.from(distance), count);
    const out: number[] = [];
    // Strictly closer first, then ties up to `count`, so the neighbourhood has exactly `count`.
    for (let r = 0; r < recent.length; r++)
      if (distance[r]! < cut) out.push(Math.max(recent[r]!.waitS, FLOOR_S));
    for (let r = 0; r < recent.length && out.length < count; r++)
      if (distance[r] === cut) out.push(Math.max(recent[r]!.waitS, FLOOR_S));
    return out;
  };

  const near = nearest(o.neighbours).map(Math.log);
  near.sort((a, b) => a - b);
  const med = Math.exp(median(near));

  const wide = nearest(o.boundNeighbours);
  wide.sort((a, b) => a - b);
  const k = binomialUpperIndex(wide.length, o.quantile, o.confidence);
  const bound95 = k === null ? Infinity : Math.max(wide[k - 1]!, med);
  return {
    median: med,
    bound95,
    observations: near.length,
    method: history.length < o.neighbours ? 'backlog' : 'knn-qbets',
  };
}
