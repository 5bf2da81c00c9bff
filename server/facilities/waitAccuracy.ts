import type { WaitAccuracy } from '@/lib/protocol';
import { estimateWait, type WaitObservation } from './estimateWait';

export interface WaitAccuracyOptions {
  /** Most recent observed waits scored. */
  recent?: number;
  /** Fewer scored waits than this say nothing: shares are null. */
  minScored?: number;
  /** The estimator scored (the production one by default). */
  predict?: (
    history: readonly WaitObservation[],
    job: WaitObservation,
  ) => {
    point: number;
    bound95: number;
  };
}

/** Waits under a minute are a minute, for ratios (the issue 17 backtest's rule). */
const FLOOR_S = 60;

const defaultPredict: Required<WaitAccuracyOptions>['predict'] = (history, job) => {
  const e = estimateWait(history, job.features);
  return { point: e.typical, bound95: e.bound95 };
};

/**
 * How good the estimates have been on one system, from the waits Loupe itself observed: each of
 * the `recent` latest observations is predicted again from only the observations that had started
 * before that job was submitted (submit = start − wait), with the features it met at submission,
 * and scored against its real wait. `history` is oldest first, as FacilityService keeps it.
 * Bounds that were Infinity (too few neighbours) count as unbounded, not as held.
 */
export function waitAccuracy(
  history: readonly WaitObservation[],
  options: WaitAccuracyOptions = {},
): WaitAccuracy {
  const recent = options.recent ?? 100;
  const minScored = options.minScored ?? 20;
  const predict = options.predict ?? defaultPredict;
  let scored = 0;
  let within2 = 0;
  let bounded = 0;
  let exceeded = 0;
  for (let i = Math.max(0, history.length - recent); i < history.length; i++) {
    const job = history[i]!;
    const submit = job.startedAt - job.waitS;
    // Observations are sorted by start: those that started before this job's submission.
    let known = 0;
    while (known < i && history[known]!.startedAt < submit) known++;
    if (known === 0) continue;
    const p = predict(history.slice(0, known), job);
    scored++;
    const r = Math.max(p.point, FLOOR_S) / Math.max(job.waitS, FLOOR_S);
    if (r <= 2 && r >= 0.5) within2++;
    if (Number.isFinite(p.bound95)) {
      bounded++;
      if (job.waitS > p.bound95) exceeded++;
    }
  }
  return {
    scored,
    within2: scored >= minScored ? within2 / scored : null,
    boundExceeded: bounded >= minScored ? exceeded / bounded : null,
  };
}
