import { describe, expect, it } from 'vitest';
import { DisconnectNotice, RunMetrics } from './runMetrics';

const valid: RunMetrics = {
  run: 'run-1',
  at: 1_700_000_000_000,
  viewer: {
    produced: 10,
    delivered: 6,
    replaced: 3,
    rejected: 1,
    pending: 0,
    acknowledged: 6,
    bufferedBytes: 0,
  },
  streams: [{ key: 'full/xy', framesPerSecond: 9.8, lastSeq: 41 }],
  producer: {
    connected: true,
    accepted: 42,
    rejected: 1,
    refusedPushes: 0,
    lastFrameAt: 1_700_000_000_000,
  },
  viewers: 3,
};

describe('run metrics messages', () => {
  it('accepts a valid sample and notice', () => {
    expect(RunMetrics.parse(valid)).toEqual(valid);
    expect(
      DisconnectNotice.parse({ code: 'stalled-bytes', message: 'm', limit: 1, observed: 2 }).code,
    ).toBe('stalled-bytes');
  });

  it('refuses negative or fractional counters, unknown keys and unknown codes', () => {
    expect(
      RunMetrics.safeParse({ ...valid, viewer: { ...valid.viewer, delivered: -1 } }).success,
    ).toBe(false);
    expect(
      RunMetrics.safeParse({ ...valid, viewer: { ...valid.viewer, replaced: 1.5 } }).success,
    ).toBe(false);
    expect(RunMetrics.safeParse({ ...valid, extra: 1 }).success).toBe(false);
    expect(
      RunMetrics.safeParse({
        ...valid,
        streams: [{ key: 'full/q', framesPerSecond: 1, lastSeq: 0 }],
      }).success,
    ).toBe(false);
    expect(
      DisconnectNotice.safeParse({ code: 'bored', message: 'm', limit: 1, observed: 2 }).success,
    ).toBe(false);
  });
});
