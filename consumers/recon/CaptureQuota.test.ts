import { describe, expect, it } from 'vitest';
import { CaptureQuota } from './CaptureQuota';

describe('CaptureQuota', () => {
  it('refuses the capture that would pass the byte quota, and the one past the file limit', () => {
    const quota = new CaptureQuota({ maxBytes: 10 * 2 ** 20, maxFiles: 3 });
    expect(quota.refusal(4 * 2 ** 20)).toBeNull();
    quota.record(4 * 2 ** 20);
    expect(quota.refusal(4 * 2 ** 20)).toBeNull();
    quota.record(4 * 2 ** 20);
    expect(quota.refusal(4 * 2 ** 20)).toBe(
      'capture quota exceeded: this capture needs ~4.0 MiB, 8.0 MiB of 10.0 MiB used',
    );
    expect(quota.refusal(1 * 2 ** 20)).toBeNull();
    quota.record(1 * 2 ** 20);
    expect(quota.refusal(1)).toBe(
      'capture limit reached: 3 of 3 files already written by this consumer',
    );
    expect(quota.used).toEqual({ bytes: 9 * 2 ** 20, files: 3 });
  });

  it('rejects nonsensical limits at construction', () => {
    expect(() => new CaptureQuota({ maxFiles: -1 })).toThrow(/maxFiles must be a number ≥ 0/);
    expect(() => new CaptureQuota({ maxBytes: Number.NaN })).toThrow(/maxBytes/);
  });
});
