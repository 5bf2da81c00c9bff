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
  /** Seconds: the kernel-weighted median of the nearest jobs' waits. */
  median: number;
  /**
   * Seconds: the single guess most often within 2× and 3× of the real wait (the weighted centre of
   * the densest band of neighbour waits). Waits are skewed and often bimodal (backfilled at once or
   * queued for hours), so this beats the median as a point prediction; the backtest scores it.
   */
  typical: number;
  /** Seconds; Infinity when too few observations support a 95% bound. */
  bound95: number;
  observations: number;
  method: EstimateMethod;
}

export interface EstimateOptions {
  /** Most recent observations considered (the rest is too old to describe today's queue). */
  window?: number;
  /** Neighbours behind the median and the typical wait, weighted by closeness. */
  neighbours?: number;
  /**
   * Kernel width, as a share of the squared distance of the middle neighbour: a neighbour at
   * distance d weighs exp(−d / (kernel · d_middle)).
   */
  kernel?: number;
  /** Neighbours behind the 95% bound (the binomial method needs ≥ 59 for 95%/95%). */
  boundNeighbours?: number;
  /** Quantile bounded and the confidence of the bound. */
  quantile?: number;
  confidence?: number;
  /** Feature weights in the neighbour distance, replacing the defaults key by key. */
  weights?: Partial<Record<keyof WaitFeatures, number>>;
  /**
   * Jobs still queued at the prediction instant, each with the features it met at submission and
   * how long it has waited so far: censored observations (its wait is at least `elapsedS`).
   */
  censored?: readonly CensoredObservation[];
  /** Predict no wait for a job that fits now (see estimateWait); on by default. */
  zeroWaitClass?: boolean;
}

/** A job still waiting: its wait is known only to exceed `elapsedS`. */
export interface CensoredObservation {
  features: WaitFeatures;
  elapsedS: number;
}

/**
 * Tuned by replaying the ALCF Theta 2022 trace (waitBacktest.ts): 2000 recent starts (about five
 * weeks there) and 100 neighbours under a narrow kernel (0.3) placed the most typical waits within
 * 2× and 3× of the real wait (30 unweighted neighbours, 20–300 neighbours and kernels 0.1–1 tried).
 */
const DEFAULTS: Required<Omit<EstimateOptions, 'weights' | 'censored'>> = {
  window: 2000,
  neighbours: 100,
  kernel: 0.3,
  boundNeighbours: 120,
  quantile: 0.95,
  confidence: 0.95,
  zeroWaitClass: true,
};

/** Waits under a minute are one minute: below that the scheduler's cycle, not the queue, decides. */
const FLOOR_S = 60;

type Key = keyof WaitFeatures;
/**
 * Weight of each feature (in log space) in the neighbour distance; chosen on the Theta replay.
 * The EASY-backfill start (issue 17) added 0.6 points within 2× on the full trace (43.3 → 43.9%).
 * Weight 0 keeps a feature in the vector but out of the distance.
 */
const WEIGHTS: readonly [Key, number][] = [
  ['nodes', 1],
  ['walltimeS', 1],
  ['queuedNodeHours', 0.5],
  ['runningNodeHoursLeft', 0.5],
  ['queuedJobs', 0.5],
  ['freeNodes', 0.5],
  ['simulatedWaitS', 1],
  ['simulatedWaitFullS', 1],
  ['easyWaitS', 1],
];
/** Features that are durations get the one-minute floor before the log; counts get log(1 + x). */
const DURATIONS = new Set<Key>(['walltimeS', 'simulatedWaitS', 'simulatedWaitFullS', 'easyWaitS']);

function transform(key: Key, value: number | null | undefined): number | null {
  if (value === undefined) return null;
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

function vectorOf(features: WaitFeatures): (number | null)[] {
  let v = vectors.get(features);
  if (!v) {
    v = featureVector(features);
    vectors.set(features, v);
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

/** The weighted median of `values` (ties in weight resolved toward the lower value). */
export function weightedMedian(values: readonly number[], weights: readonly number[]): number {
  if (values.length === 0) return NaN;
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const total = weights.reduce((s, w) => s + w, 0);
  let acc = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    acc += weights[i]!;
    // Exactly half on each side: the midpoint, as the unweighted median of an even count.
    if (Math.abs(acc - total / 2) <= 1e-12 * total && j + 1 < order.length)
      return (values[i]! + values[order[j + 1]!]!) / 2;
    if (acc >= total / 2) return values[i]!;
  }
  return values[order[order.length - 1]!]!;
}

const LOG2 = Math.LN2;
const LOG3 = Math.log(3);
/** How much a neighbour within 3× counts next to one within 2× (which counts for both). */
const WITHIN3_WEIGHT = 2;

/**
 * The log value c that maximises Σ weight · (WITHIN3_WEIGHT·[|x − c| ≤ ln 3] + [|x − c| ≤ ln 2]) over
 * the log waits x: the guess that most neighbours would have found within 3× and 2×. Candidates are
 * each x and x + ln 2, x + ln 3 (the band edges); ties go to the one nearest `prefer`.
 */
export function densestBand(
  logValues: readonly number[],
  weights: readonly number[],
  prefer: number,
): number {
  let best = -Infinity;
  let bestC = prefer;
  const eps = 1e-9;
  for (const x of logValues) {
    for (const c of [x, x + LOG2, x + LOG3]) {
      let score = 0;
      for (let u = 0; u < logValues.length; u++) {
        const d = Math.abs(logValues[u]! - c);
        if (d <= LOG3 + eps) score += WITHIN3_WEIGHT * weights[u]!;
        if (d <= LOG2 + eps) score += weights[u]!;
      }
      if (
        score > best + eps ||
        (Math.abs(score - best) <= eps && Math.abs(c - prefer) < Math.abs(bestC - prefer))
      ) {
        best = score;
        bestC = c;
      }
    }
  }
  return bestC;
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
      ? { median: 0, typical: 0, bound95: Infinity, observations: 0, method: 'none' }
      : {
          median: query.simulatedWaitS,
          typical: query.simulatedWaitS,
          bound95: Infinity,
          observations: 0,
          method: 'backlog',
        };
  }
  const observed = history.slice(Math.max(0, history.length - o.window));
  const keep = trimChangePoint(
    observed.map((h) => h.waitS),
    o.quantile,
    o.confidence,
  );
  // Never trim below what the bound needs: a fresh regime with few points still beats none.
  const recent: { features: WaitFeatures; waitS: number; censored: boolean }[] = observed
    .slice(observed.length - Math.max(keep, Math.min(o.boundNeighbours, observed.length)))
    .map((h) => ({ features: h.features, waitS: h.waitS, censored: false }));
  for (const c of o.censored ?? [])
    recent.push({ features: c.features, waitS: c.elapsedS, censored: true });

  const weights = WEIGHTS.map(([key, w]) => o.weights?.[key] ?? w);
  const q = featureVector(query);
  const distance = new Float64Array(recent.length);
  for (let r = 0; r < recent.length; r++) {
    const v = vectorOf(recent[r]!.features);
    let d = 0;
    for (let i = 0; i < WEIGHTS.length; i++) {
      const a = q[i];
      const b = v[i];
      const w = weights[i]!;
      if (w === 0 || a === null || a === undefined || b === null || b === undefined) continue;
      d += w * w * (a - b) * (a - b);
    }
    distance[r] = d;
  }
  /** Indices into `recent` of the `count` nearest, strictly closer first, then ties up to `count`. */
  const nearestIndices = (count: number): number[] => {
    if (count >= recent.length) return recent.map((_, r) => r);
    const cut = kthSmallest(Float64Array.from(distance), count);
    const out: number[] = [];
    for (let r = 0; r < recent.length; r++) if (distance[r]! < cut) out.push(r);
    for (let r = 0; r < recent.length && out.length < count; r++)
      if (distance[r] === cut) out.push(r);
    return out;
  };
  const nearest = (count: number) => {
    const idx = nearestIndices(count);
    const d = idx.map((r) => distance[r]!);
    // The middle neighbour's distance sets the kernel's scale; all-equal distances weigh alike.
    const middle = kthSmallest(Float64Array.from(d), Math.max(1, Math.ceil(d.length / 2)));
    const scale = o.kernel * middle;
    const w = d.map((x) => (scale > 0 ? Math.exp(-x / scale) : 1));
    const waits = idx.map((r) => Math.max(recent[r]!.waitS, FLOOR_S));
    // A censored neighbour waits at least its elapsed time: impute the weighted median of the
    // completed neighbour waits beyond it (twice its elapsed time when none is longer).
    const done = idx.map((r) => !recent[r]!.censored);
    for (let j = 0; j < idx.length; j++) {
      if (done[j]) continue;
      const longer: number[] = [];
      const lw: number[] = [];
      for (let u = 0; u < idx.length; u++)
        if (done[u] && waits[u]! > waits[j]!) {
          longer.push(waits[u]!);
          lw.push(w[u]!);
        }
      waits[j] = longer.length ? weightedMedian(longer, lw) : 2 * waits[j]!;
    }
    return { waits, logWaits: waits.map((x) => Math.log(x)), weights: w };
  };

  const near = nearest(o.neighbours);
  const med = Math.exp(weightedMedian(near.logWaits, near.weights));
  // The zero-wait class: a job that fits in the free nodes now without delaying the head's
  // reservation (EASY simulation says 0) usually starts at the scheduler's next cycle.
  const startsAtOnce =
    o.zeroWaitClass &&
    query.easyWaitS === 0 &&
    query.freeNodes !== null &&
    query.freeNodes >= query.nodes;
  const typical = startsAtOnce
    ? 0
    : Math.exp(densestBand(near.logWaits, near.weights, Math.log(med)));

  const wide = nearest(o.boundNeighbours).waits;
  wide.sort((a, b) => a - b);
  const k = binomialUpperIndex(wide.length, o.quantile, o.confidence);
  const bound95 = k === null ? Infinity : Math.max(wide[k - 1]!, med);
  return {
    median: med,
    typical,
    bound95,
    observations: near.waits.length,
    method: history.length < o.neighbours ? 'backlog' : 'knn-qbets',
  };
}
