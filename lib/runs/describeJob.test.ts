import { describe, expect, it } from 'vitest';
import type { RunJob } from '@/lib/protocol';
import { describeJob, formatDuration, jobEndedMessage } from './describeJob';

const job = (over: Partial<RunJob>): RunJob => ({
  command: 'c1',
  system: 'perlmutter',
  jobId: '42',
  state: 'queued',
  facilityState: null,
  message: null,
  exitCode: null,
  walltimeS: 1800,
  submittedAt: 0,
  startEstimate: null,
  startedAt: null,
  endedAt: null,
  ...over,
});
const iso = (ms: number) => new Date(ms).toISOString();

describe("a job's state as the run page says it", () => {
  it('queued with the site’s own estimate, running, ended', () => {
    expect(describeJob(job({ startEstimate: 3_600_000 }), iso)).toBe(
      'Job 42 on perlmutter queued; the site expects it to start at 1970-01-01T01:00:00.000Z',
    );
    expect(describeJob(job({ state: 'held', message: 'JobHeldAdmin' }), iso)).toBe(
      'Job 42 on perlmutter held — JobHeldAdmin',
    );
    expect(describeJob(job({ state: 'active', startedAt: 60_000 }), iso)).toBe(
      'Job 42 on perlmutter running since 1970-01-01T00:01:00.000Z',
    );
    // An IRI job: no facility word of its own, the exit code where the message has none.
    expect(
      describeJob(
        job({ state: 'failed', exitCode: 137, message: 'killed', startedAt: 0, endedAt: 90_000 }),
        iso,
      ),
    ).toBe('Job 42 on perlmutter ended: FAILED after 2 min, exit code 137 — killed');
    expect(jobEndedMessage(job({ state: 'canceled', endedAt: 5 }))).toBe(
      'Job 42 on perlmutter ended: CANCELED before it started',
    );
  });

  it('formats run times as staff read them', () => {
    expect(formatDuration(44_600)).toBe('45 s');
    expect(formatDuration(600_000)).toBe('10 min');
    expect(formatDuration(7_500_000)).toBe('2 h 05 min');
    expect(formatDuration(-5)).toBe('0 s');
  });
});
