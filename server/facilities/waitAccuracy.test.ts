import { describe, expect, it } from 'vitest';
import type { WaitObservation } from './estimateWait';
import type { WaitFeatures } from './queueFeatures';
import { waitAccuracy } from './waitAccuracy';
import { seededRandom } from '@/lib/random/seededRandom';

const shape: WaitFeatures = {
  nodes: 8,
  walltimeS: 3600,
  queuedNodeHours: 100,
  queuedJobs: 5,
  runningNodeHoursLeft: 200,
  freeNodes: 0,
  simulatedWaitS: null,
  simulatedWaitFullS: null,
};

/** Jobs submitted every 10 min, each waiting `waitOf(i)` s; sorted by start as the service keeps them. */
function observed(n: number, waitOf: (i: number) => number): WaitObservation[] {
  return Array.from({ length: n }, (_, i) => {
    const waitS = waitOf(i);
    return { startedAt: 600 * i + waitS, waitS, features: shape };
  }).sort((a, b) => a.startedAt - b.startedAt);
}

describe('waitAccuracy', () => {
  it('scores each recent wait only against what had started before its submission', () => {
    const history = observed(200, (i) => 300 + ((i * 37) % 5) * 900);
    const seen: number[] = [];
    const a = waitAccuracy(history, {
      recent: 50,
      predict: (known, job) => {
        const submit = job.startedAt - job.waitS;
        for (const k of known) expect(k.startedAt).toBeLessThan(submit);
        seen.push(known.length);
        return { point: job.waitS * 1.5, bound95: job.waitS * 2 };
      },
    });
    expect(a.scored).toBe(50);
    expect(seen).toHaveLength(50);
    // Every job was predicted within 1.5× and under its bound.
    expect(a.within2).toBe(1);
    expect(a.boundExceeded).toBe(0);
  });

  it('counts misses by more than 2× both ways and bounds that failed', () => {
    const history = observed(100, () => 3600);
    let k = 0;
    const a = waitAccuracy(history, {
      recent: 40,
      // Alternately 3× too long, 3× too short (bound then exceeded), and right.
      predict: () => {
        const m = [3, 1 / 3, 1, 1][k++ % 4]!;
        return { point: 3600 * m, bound95: 3600 * m * 1.5 };
      },
    });
    expect(a.scored).toBe(40);
    expect(a.within2).toBeCloseTo(0.5, 5);
    expect(a.boundExceeded).toBeCloseTo(0.25, 5);
  });

  it('says nothing from too few scored waits, and unbounded guesses do not count as held', () => {
    const few = waitAccuracy(observed(10, () => 600));
    expect(few.scored).toBeLessThan(20);
    expect(few.within2).toBeNull();
    expect(few.boundExceeded).toBeNull();
    const unbounded = waitAccuracy(
      observed(100, () => 600),
      {
        predict: () => ({ point: 600, bound95: Infinity }),
      },
    );
    expect(unbounded.within2).toBe(1);
    expect(unbounded.boundExceeded).toBeNull();
  });

  it('with the production estimator on steady exponential waits, keeps its bound about 95%', () => {
    const random = seededRandom(5);
    const history = observed(400, () => -1800 * Math.log(1 - random()));
    const a = waitAccuracy(history, { recent: 150 });
    expect(a.scored).toBe(150);
    expect(a.boundExceeded).not.toBeNull();
    expect(a.boundExceeded!).toBeLessThan(0.12);
    // An exponential wait is within 2× of a fixed guess about 40–50% of the time at best.
    expect(a.within2!).toBeGreaterThan(0.25);
  });
});
