import { afterEach, beforeEach, expect, it } from 'vitest';
import { type TestStore, describeEachStore } from '../db/testing/testStores';
import { FacilityStore } from './FacilityStore';
import type { WaitFeatures } from './queueFeatures';

const features: WaitFeatures = {
  nodes: 2,
  walltimeS: 1800,
  queuedNodeHours: 12.5,
  queuedJobs: 3,
  runningNodeHoursLeft: null,
  freeNodes: 4,
  simulatedWaitS: 42.5,
  simulatedWaitFullS: null,
};

describeEachStore('FacilityStore', (open) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(() => store.close());

  it('keeps history per system in a time range, oldest first, with nulls and floats intact', async () => {
    const facilities = new FacilityStore(store.db);
    for (const [system, at, median] of [
      ['polaris', 3_000, 120.25],
      ['polaris', 1_000, null],
      ['aurora', 2_000, 60],
      ['polaris', 9_000, 10],
    ] as const)
      await facilities.addSnapshot({
        system,
        at,
        status: 'up',
        stale: at === 1_000 ? 1 : 0,
        queued: 5,
        running: null,
        queued_node_hours: 1.5,
        free_nodes: 7,
        wait_median_s: median,
        wait_bound95_s: median === null ? null : median * 2,
        snapshot: '{}',
      });
    const points = await facilities.history('polaris', 0, 5_000);
    expect(points.map((p) => [p.at, p.stale, p.waitMedianS, p.waitBound95S])).toEqual([
      [1_000, true, null, null],
      [3_000, false, 120.25, 240.5],
    ]);
    expect(points[0]).toMatchObject({
      queued: 5,
      running: null,
      queuedNodeHours: 1.5,
      freeNodes: 7,
    });
  });

  it('stores an observed wait once, whoever stores it, and reads back each system’s newest', async () => {
    const facilities = new FacilityStore(store.db);
    const wait = (system: string, id: string, start: number) => ({
      system,
      job_id: id,
      queue: 'debug',
      nodes: 2,
      walltime_s: 1800,
      submit_s: start - 60,
      start_s: start,
      wait_s: 60,
      features: JSON.stringify(features),
    });
    expect(await facilities.addWait(wait('polaris', 'j1', 100))).toBe(true);
    // A second gateway (a second store on the same database) that saw the same job start.
    expect(await facilities.addWait(wait('polaris', 'j1', 100))).toBe(false);
    for (let i = 2; i <= 5; i++) await facilities.addWait(wait('polaris', `j${i}`, 100 * i));
    await facilities.addWait(wait('aurora', 'a1', 50));
    const recent = await facilities.recentWaits(3);
    expect(recent.map((w) => [w.system, w.jobId])).toEqual([
      ['aurora', 'a1'],
      ['polaris', 'j3'],
      ['polaris', 'j4'],
      ['polaris', 'j5'],
    ]);
    expect(recent[0]).toMatchObject({ queue: 'debug', startS: 50, waitS: 60, features });
  });

  it('records site decisions with their ids, newest first', async () => {
    const facilities = new FacilityStore(store.db);
    const first = await facilities.addDecision({
      who: 'sam',
      role: 'staff',
      system: 'polaris',
      recommended: 'aurora',
      override: 1,
      note: 'aurora is draining',
      at: 1_000,
      job: JSON.stringify({ nodes: 2, walltime: 1800 }),
    });
    const second = await facilities.addDecision({
      who: 'sam',
      role: 'staff',
      system: 'aurora',
      recommended: 'aurora',
      override: 0,
      note: null,
      at: 2_000,
      job: null,
    });
    expect(second).toBeGreaterThan(first);
    expect(await facilities.decisions(10)).toEqual([
      expect.objectContaining({ id: second, system: 'aurora', override: false, job: null }),
      expect.objectContaining({
        id: first,
        system: 'polaris',
        override: true,
        note: 'aurora is draining',
        job: { nodes: 2, walltime: 1800 },
      }),
    ]);
  });
});
