import { describe, expect, it } from 'vitest';
import { MAX_CONTROL_HISTORY } from '@/lib/protocol';
import { ControlLease } from './ControlLease';

const ada = { subject: 'ada', role: 'scientist' };
const kai = { subject: 'kai', role: 'scientist' };
const sam = { subject: 'sam', role: 'staff' };

/** A lease on a hand-driven clock whose timers fire when the test says so. */
function lease(requestTimeoutMs = 1000) {
  let t = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const l = new ControlLease({
    requestTimeoutMs,
    now: () => t,
    setTimer: (fn, ms) => {
      const timer = { at: t + ms, fn, live: true };
      timers.push(timer);
      return { cancel: () => void (timer.live = false) };
    },
  });
  const advance = (ms: number) => {
    t += ms;
    for (const timer of timers)
      if (timer.live && timer.at <= t) {
        timer.live = false;
        timer.fn();
      }
  };
  return { l, advance };
}

describe('ControlLease', () => {
  it('a free run is open to all; the first request claims it and then only the holder steers', () => {
    const { l } = lease();
    expect(l.check(kai, 'r').allowed).toBe(true);
    const claimed = l.act(ada, 'r', 'request');
    expect(claimed).toMatchObject({ ok: true, handoff: { event: 'claimed', to: ada } });
    expect(l.check(ada, 'r').allowed).toBe(true);
    expect(l.check(kai, 'r')).toEqual({
      allowed: false,
      reason: 'ada (scientist) holds control of run r: request it first',
    });
    expect(l.check(kai, 'other').allowed).toBe(true); // per run
  });

  it('a second scientist asks, the holder grants, and control changes hands', () => {
    const { l } = lease();
    l.act(ada, 'r', 'request');
    expect(l.act(kai, 'r', 'request')).toMatchObject({ ok: true, handoff: { event: 'requested' } });
    expect(l.state('r').request).toMatchObject({ subject: 'kai', expiresAt: 1000 });
    // Only the holder answers; one request waits at a time.
    expect(l.act(kai, 'r', 'grant')).toMatchObject({ ok: false, code: 'not_holder' });
    expect(l.act(sam, 'r', 'request')).toMatchObject({ ok: false, code: 'request_pending' });
    expect(l.act(ada, 'r', 'grant')).toMatchObject({
      ok: true,
      handoff: { event: 'granted', by: ada, to: kai },
    });
    expect(l.state('r')).toMatchObject({ holder: { subject: 'kai' }, request: null });
    expect(l.check(ada, 'r').allowed).toBe(false);
    expect(l.state('r').history.map((h) => h.event)).toEqual(['claimed', 'requested', 'granted']);
  });

  it('a request the holder does not answer lapses after the timeout; a denied one ends at once', () => {
    const { l, advance } = lease(1000);
    const changes: string[] = [];
    l.on('change', (_s, h) => changes.push(h.event));
    l.act(ada, 'r', 'request');
    l.act(kai, 'r', 'request');
    advance(999);
    expect(l.state('r').request).not.toBeNull();
    advance(1);
    expect(l.state('r')).toMatchObject({ holder: { subject: 'ada' }, request: null });
    expect(changes).toEqual(['claimed', 'requested', 'expired']);
    l.act(kai, 'r', 'request');
    expect(l.act(ada, 'r', 'deny')).toMatchObject({ ok: true, handoff: { event: 'denied' } });
    expect(l.act(ada, 'r', 'deny')).toMatchObject({ ok: false, code: 'no_request' });
    // The denied request's timer must not fire later as a lapse of a new one.
    advance(500);
    l.act(kai, 'r', 'request');
    advance(600);
    expect(l.state('r').request).toMatchObject({ subject: 'kai' });
  });

  it('staff take control from the holder; release hands it to the waiting request or frees the run', () => {
    const { l } = lease();
    l.act(ada, 'r', 'request');
    l.act(kai, 'r', 'request');
    expect(l.act(sam, 'r', 'take')).toMatchObject({
      ok: true,
      handoff: { event: 'taken', to: sam },
    });
    expect(l.state('r')).toMatchObject({ holder: { subject: 'sam' }, request: null });
    expect(l.act(ada, 'r', 'release')).toMatchObject({ ok: false, code: 'not_holder' });
    l.act(ada, 'r', 'request');
    expect(l.act(sam, 'r', 'release')).toMatchObject({ ok: true, handoff: { to: ada } });
    expect(l.act(ada, 'r', 'release')).toMatchObject({ ok: true, handoff: { to: null } });
    expect(l.state('r').holder).toBeNull();
  });

  it('changes nothing when the record of an action cannot be written', () => {
    const { l } = lease();
    expect(() =>
      l.act(ada, 'r', 'request', () => {
        throw new Error('audit down');
      }),
    ).toThrow('audit down');
    expect(l.state('r').holder).toBeNull();
    expect(l.state('r').history).toEqual([]);
  });

  it('drops a holder who left, and keeps a bounded history', () => {
    const { l } = lease();
    l.act(ada, 'r', 'request');
    expect(l.drop('r', 'kai')).toBeNull();
    expect(l.drop('r', 'ada')).toMatchObject({ ok: true, handoff: { event: 'dropped', by: ada } });
    expect(l.state('r').holder).toBeNull();
    for (let i = 0; i < 30; i++) l.act(i % 2 ? ada : kai, 'r', i % 4 < 2 ? 'request' : 'release');
    expect(l.state('r').history.length).toBe(MAX_CONTROL_HISTORY);
  });
});
