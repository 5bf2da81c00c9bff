import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSwf, replay } from './waitBacktest';

// The real trace lives in the shared folder beside the repository (never copied into it).
const NAME = 'ALCF-Theta-2022.swf';
const CANDIDATES = [
  process.env.LOUPE_TRACES_DIR,
  resolve(fileURLToPath(new URL('../../', import.meta.url)), '../shared/data/traces'),
  '/work/shared/data/traces',
].filter((d): d is string => !!d);
const found = CANDIDATES.map((d) => resolve(d, NAME)).find((p) => existsSync(p));
if (!found) throw new Error(`${NAME} not found in ${CANDIDATES.join(', ')}; set LOUPE_TRACES_DIR`);
const TRACE = found;

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
