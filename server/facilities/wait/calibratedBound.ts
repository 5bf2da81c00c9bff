import { binomialUpperIndex } from '../estimateWait';

/** Job size classes the bound is calibrated in and the backtest splits by (nodes). */
export const SIZE_CLASSES = ['≤128', '129–256', '257–1023', '≥1024'] as const;
export type SizeClass = (typeof SIZE_CLASSES)[number];

export function sizeClass(nodes: number): SizeClass {
  if (nodes <= 128) return '≤128';
  if (nodes <= 256) return '129–256';
  if (nodes < 1024) return '257–1023';
  return '≥1024';
}

/** Waits under a minute are a minute, for ratios (the scheduler's cycle decides below that). */
const FLOOR_S = 60;

/**
 * A 95% bound calibrated on the predictor's own record (split-conformal with the QBETS binomial
 * rule): per size class, the ratios real wait / point prediction of the most recent jobs that
 * started; the bound is the point times the ratio at the binomial upper rank, so it holds for the
 * q-quantile with the given confidence if the recent past is like the next job. A class with too
 * few ratios of its own uses all classes' ratios; with too few in all, no bound (Infinity).
 */
export class CalibratedBound {
  private readonly ratios = new Map<string, number[]>();
  private readonly all: number[] = [];

  constructor(
    private readonly window = 400,
    private readonly quantile = 0.95,
    private readonly confidence = 0.95,
  ) {}

  /** A job that started: its point prediction at submission and its real wait (s). */
  observe(cls: string, predictedS: number, realS: number): void {
    const r = Math.max(realS, FLOOR_S) / Math.max(predictedS, FLOOR_S);
    let list = this.ratios.get(cls);
    if (!list) this.ratios.set(cls, (list = []));
    list.push(r);
    if (list.length > this.window) list.shift();
    this.all.push(r);
    if (this.all.length > this.window) this.all.shift();
  }

  /** Ratios behind a bound for `cls`. */
  count(cls: string): number {
    return this.ratios.get(cls)?.length ?? 0;
  }

  /** Upper 95% bound (s) for a job of class `cls` whose point prediction is `predictedS`. */
  bound(cls: string, predictedS: number): number {
    const own = this.ratios.get(cls) ?? [];
    const pool = binomialUpperIndex(own.length, this.quantile, this.confidence) ? own : this.all;
    const k = binomialUpperIndex(pool.length, this.quantile, this.confidence);
    if (k === null) return Infinity;
    const sorted = [...pool].sort((a, b) => a - b);
    return Math.max(predictedS, FLOOR_S) * sorted[k - 1]!;
  }
}
