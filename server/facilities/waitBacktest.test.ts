import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSwf, replay } from './waitBacktest';

const TRACE = '/work/shared/data/traces/ALCF-Theta-2022.swf';

describe('wait backtest on a prefix of the ALCF Theta 2022 trace', () => {
  it('replays job by job and beats the naive baseline', () => {
    const { jobs, maxNodes } = parseSwf(readFileSync(TRACE, 'utf8'));
    expect(maxNodes).toBe(4360);
    expect(jobs.length).toBe(23_911);
    const result = replay(jobs.slice(0, 4000), maxNodes!);
    expect(result.jobs).toBe(4000);
    expect(result.ours.within2).toBeGreaterThan(result.baseline.within2);
    expect(result.ours.within3).toBeGreaterThan(result.baseline.within3);
    // A 95% bound that holds: exceeded sometimes, but not more than the stated 5% plus slack.
    expect(result.ours.aboveBound).toBeGreaterThan(0.005);
    expect(result.ours.aboveBound).toBeLessThan(0.08);
  }, 30_000);

  it('parses SWF and skips malformed or never-run jobs', () => {
    const text = [
      '; MaxNodes: 16',
      '1 100 50 10 4 -1 -1 4 60 -1 0 -1 -1 -1 -1 -1 -1 0',
      '2 90 -1 10 4 -1 -1 4 60 -1 0 -1 -1 -1 -1 -1 -1 0',
      'garbage line',
      '3 95 5 10 2 -1 -1 -1 -1 -1 0 -1 -1 -1 -1 -1 -1 0',
    ].join('\n');
    const { jobs, maxNodes } = parseSwf(text);
    expect(maxNodes).toBe(16);
    expect(jobs.map((j) => j.id)).toEqual([3, 1]);
    expect(jobs[0]).toMatchObject({ nodes: 2, walltimeS: 10 });
  });
});
