import { describe, expect, it } from 'vitest';
import type { DisconnectNotice } from '@/lib/protocol';
import { RunMetricsStore } from './RunMetricsStore';

describe('RunMetricsStore notice', () => {
  it('tells its subscribers when the notice is set and cleared, and not when it stays', () => {
    const store = new RunMetricsStore();
    const seen: (string | null)[] = [];
    const off = store.subscribeNotice(() => seen.push(store.notice?.message ?? null));
    const notice: DisconnectNotice = {
      code: 'stalled-seconds',
      message: 'this tab fell 30 s behind',
      limit: 30,
      observed: 31,
    };
    store.setNotice(notice);
    store.setNotice(notice);
    store.setNotice(null);
    off();
    store.setNotice(notice);
    expect(seen).toEqual(['this tab fell 30 s behind', null]);
    expect(store.notice).toBe(notice);
  });
});
