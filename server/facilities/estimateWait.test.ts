import { describe, expect, it } from 'vitest';
import {
  binomialUpperIndex,
  estimateWait,
  trimChangePoint,
  type WaitObservation,
} from './estimateWait';
import type { WaitFeatures } from './queueFeatures';
import { seededRandom } from '@/lib/random/seededRandom';

/** A seeded generator so every run draws the same waits. */
const rng = seededRandom;

const shape: WaitFeatures = {
  nodes: 128,
  walltimeS: 3600,
  queuedNodeHours: 1000,
  queuedJobs: 20,
  runningNodeHoursLeft: 2000,
  freeNodes: 10,
  simulatedWaitS: null,
  simulatedWaitFullS: null,
};

/** Exponential waits with mean `mean` s: median = mean·ln 2, 95% quantile = mean·ln 20. */
function exponentialHistory(random: () => number, n: number, mean: number): WaitObservation[] {
  return Array.from({ length: n }, (_, i) => ({
    startedAt: i,
    waitS: -mean * Math.log(1 - random()),
    features: shape,
  }));
}

describe('binomialUpperIndex', () => {
  it('needs 59 observations for a 95%/95% bound, and then it is the largest', () => {
    expect(binomialUpperIndex(58, 0.95, 0.95)).toBeNull();
    expect(binomialUpperIndex(59, 0.95, 0.95)).toBe(59);
    const k = binomialUpperIndex(1000, 0.95, 0.95)!;
    // The 95% quantile sits at rank 950; the bound's rank is a little above it.
    expect(k).toBeGreaterThan(955);
    expect(k).toBeLessThan(975);
  });
});

describe('estimateWait on synthetic waits with known quantiles', () => {
  it('exceeds the 95% bound about 5% of the time and finds the median', () => {
    const random = rng(42);
    const mean = 7200;
    let above = 0;
    let medians = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const history = exponentialHistory(random, 300, mean);
      const e = estimateWait(history, shape, { boundNeighbours: 300, neighbours: 100 });
      const next = -mean * Math.log(1 - random());
      if (next > e.bound95) above++;
      medians += e.median;
      expect(e.observations).toBe(100);
      expect(e.method).toBe('knn-qbets');
    }
    const share = above / trials;
    expect(share).toBeGreaterThan(0.02);
    expect(share).toBeLessThan(0.09);
    expect(medians / trials).toBeGreaterThan(mean * Math.LN2 * 0.9);
    expect(medians / trials).toBeLessThan(mean * Math.LN2 * 1.1);
  }, 10_000);

  it('takes its median from the nearest job shapes, not from all jobs', () => {
    const random = rng(7);
    const small = exponentialHistory(random, 200, 600);
    const big = exponentialHistory(random, 200, 86_400).map((h) => ({
      ...h,
      features: { ...shape, nodes: 2048, walltimeS: 86_400 },
    }));
    const history = [...small, ...big].map((h, i) => ({ ...h, startedAt: i }));
    const forSmall = estimateWait(history, shape);
    const forBig = estimateWait(history, { ...shape, nodes: 2048, walltimeS: 86_400 });
    expect(forSmall.median).toBeLessThan(1200);
    expect(forBig.median).toBeGreaterThan(30_000);
  });

  it('trims history after an upward change of regime so the bound follows it', () => {
    const random = rng(3);
    const calm = exponentialHistory(random, 1000, 600).map((h) => h.waitS);
    const busy = exponentialHistory(random, 80, 20_000).map((h) => h.waitS);
    const keep = trimChangePoint([...calm, ...busy], 0.95, 0.95);
    expect(keep).toBeLessThanOrEqual(160);
    expect(trimChangePoint(calm, 0.95, 0.95)).toBe(calm.length);
  });

  it('gives as typical wait a point inside the heavier mode of bimodal waits', () => {
    // 60% backfilled within minutes, 40% queued a day: typical is short; 20% / 80%: typical is long.
    const waits = [...Array.from({ length: 60 }, (_, i) => 120 + 2 * i), ...Array(40).fill(86_400)];
    const history = waits.map((waitS, i) => ({ startedAt: i, waitS, features: shape }));
    const e = estimateWait(history, shape);
    expect(e.typical).toBeGreaterThan(120 / 3);
    expect(e.typical).toBeLessThan(240 * 3);
    expect(estimateWait(history.slice(50), shape).typical).toBeGreaterThan(86_400 / 3);
  });

  it('predicts no wait for a job that fits now, and keeps its bound', () => {
    const history = exponentialHistory(rng(11), 200, 7200);
    const fits = { ...shape, freeNodes: 512, easyWaitS: 0 };
    const e = estimateWait(history, fits);
    expect(e.typical).toBe(0);
    expect(e.bound95).toBeGreaterThan(7200);
    expect(estimateWait(history, fits, { zeroWaitClass: false }).typical).toBeGreaterThan(600);
    // Free nodes too few, or the simulation says it would delay the head: the neighbours decide.
    expect(estimateWait(history, { ...fits, freeNodes: 64 }).typical).toBeGreaterThan(600);
    expect(estimateWait(history, { ...fits, easyWaitS: 3600 }).typical).toBeGreaterThan(600);
  });

  it('counts still-queued jobs as waits at least as long as they have waited', () => {
    // Observed starts waited ~10 min, but 150 alike are still queued after 5 h: the estimate rises.
    // The queued ones met today's queue (like the query); the started ones an older, shorter one.
    const history = exponentialHistory(rng(13), 200, 600).map((h) => ({
      ...h,
      features: { ...shape, queuedJobs: 5 },
    }));
    const censored = Array.from({ length: 150 }, () => ({ features: shape, elapsedS: 18_000 }));
    const plain = estimateWait(history, shape);
    const withQueued = estimateWait(history, shape, { censored });
    expect(plain.median).toBeLessThan(1200);
    expect(withQueued.median).toBeGreaterThan(18_000);
    expect(withQueued.bound95).toBeGreaterThan(18_000);
  });

  it('has no bound without observations', () => {
    expect(estimateWait([], shape).method).toBe('none');
    expect(estimateWait([], { ...shape, simulatedWaitS: 900 })).toMatchObject({
      method: 'backlog',
      median: 900,
      bound95: Infinity,
    });
  });
});
