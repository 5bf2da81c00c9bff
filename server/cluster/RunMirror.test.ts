import { describe, expect, it } from 'vitest';
import type { RunSummary } from '@/lib/protocol';
import { OwnedRuns, RunMirror } from './RunMirror';

function run(id: string, state: RunSummary['state'], producerConnected = true): RunSummary {
  return {
    id,
    title: id,
    state,
    producerConnected,
    createdAt: 1,
    updatedAt: 2,
    framesReceived: 0,
    streams: [],
  };
}

function owned(gateway: string, runs: RunSummary[], extra: Partial<OwnedRuns> = {}): OwnedRuns {
  return OwnedRuns.parse({ gateway, ttlMs: 3000, complete: true, released: [], runs, ...extra });
}

describe('RunMirror', () => {
  it('adds the runs other gateways own to the local list, and ignores its own messages', () => {
    const mirror = new RunMirror('g1', () => 0);
    mirror.offer(owned('g2', [run('remote', 'paused')]));
    mirror.offer(owned('g1', [run('echo', 'streaming')]));
    expect(mirror.merge([run('local', 'streaming')]).map((r) => [r.id, r.state])).toEqual([
      ['local', 'streaming'],
      ['remote', 'paused'],
    ]);
  });

  it('drops a run when its owner’s word lapses (the lease length), and on release', () => {
    let now = 0;
    const mirror = new RunMirror('g1', () => now);
    mirror.offer(owned('g2', [run('a', 'streaming'), run('b', 'streaming')]));
    now = 2999;
    expect(mirror.get('a')?.state).toBe('streaming');
    mirror.offer(owned('g2', [run('b', 'paused')], { complete: false }));
    now = 3000;
    // `a` was not repeated: gone; `b` was renewed at 2999.
    expect(mirror.get('a')).toBeUndefined();
    expect(mirror.get('b')?.state).toBe('paused');
    mirror.offer(owned('g2', [], { complete: false, released: ['b'] }));
    expect(mirror.merge([])).toEqual([]);
  });

  it('a complete message replaces what its gateway said before; another gateway’s runs stay', () => {
    const mirror = new RunMirror('g1', () => 0);
    mirror.offer(owned('g2', [run('a', 'streaming')]));
    mirror.offer(owned('g3', [run('c', 'streaming')]));
    mirror.offer(owned('g2', [run('b', 'streaming')]));
    expect(mirror.merge([]).map((r) => r.id)).toEqual(['c', 'b']);
    mirror.forget('g3');
    expect(mirror.merge([]).map((r) => r.id)).toEqual(['b']);
  });

  it('a live remote owner wins over a stale local entry, never over a local producer', () => {
    const mirror = new RunMirror('g1', () => 0);
    mirror.offer(owned('g2', [run('moved', 'streaming'), run('here', 'paused')]));
    const merged = mirror.merge([run('moved', 'waiting', false), run('here', 'streaming', true)]);
    expect(Object.fromEntries(merged.map((r) => [r.id, r.state]))).toEqual({
      moved: 'streaming',
      here: 'streaming',
    });
  });

  it('names the runs that are new or changed, so a lost run update is made good', () => {
    const mirror = new RunMirror('g1', () => 0);
    expect(mirror.offer(owned('g2', [run('a', 'streaming')])).map((r) => r.id)).toEqual(['a']);
    // Repeated unchanged (frame counts aside): nothing to pass on.
    expect(mirror.offer(owned('g2', [{ ...run('a', 'streaming'), framesReceived: 9 }]))).toEqual(
      [],
    );
    expect(mirror.offer(owned('g2', [run('a', 'paused')])).map((r) => r.state)).toEqual(['paused']);
  });

  it('refuses malformed messages at the boundary', () => {
    expect(OwnedRuns.safeParse({ gateway: 'g2', ttlMs: 3000, runs: [] }).success).toBe(false);
    expect(
      OwnedRuns.safeParse({
        gateway: 'g2',
        ttlMs: 3000,
        complete: true,
        released: [],
        runs: [{ id: 'x' }],
      }).success,
    ).toBe(false);
  });
});
