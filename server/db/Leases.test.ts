import { afterEach, beforeEach, expect, it } from 'vitest';
import { Leases } from './Leases';
import { type TestStore, describeEachStore } from './testing/testStores';

describeEachStore('Leases', (open) => {
  let store: TestStore;
  let t = 1_000_000;
  const clock = () => t;
  beforeEach(async () => {
    store = await open();
    t = 1_000_000;
  });
  afterEach(() => store.close());

  it('gives a free lease to one holder and refuses another until it expires', async () => {
    const leases = new Leases(store.db, clock);
    const a = await leases.acquire('facility-pollers', 'gw-a', 10_000);
    expect(a).toEqual({ name: 'facility-pollers', holder: 'gw-a', expiresAt: 1_010_000, fence: 1 });
    expect(await leases.acquire('facility-pollers', 'gw-b', 10_000)).toBeNull();
    expect((await leases.holder('facility-pollers'))?.holder).toBe('gw-a');
    t += 9_999;
    expect(await leases.acquire('facility-pollers', 'gw-b', 10_000)).toBeNull();
    t += 1;
    // Expired: the next taker gets it, with a new fence, and the old holder can no longer renew.
    const b = await leases.acquire('facility-pollers', 'gw-b', 10_000);
    expect(b).toEqual({ name: 'facility-pollers', holder: 'gw-b', expiresAt: 1_020_000, fence: 2 });
    expect(await leases.renew('facility-pollers', 'gw-a', 10_000)).toBeNull();
    expect((await leases.holder('facility-pollers'))?.holder).toBe('gw-b');
  });

  it('renews for its holder only, keeping the fence, and not once expired', async () => {
    const leases = new Leases(store.db, clock);
    await leases.acquire('run:r1', 'gw-a', 5_000);
    t += 4_000;
    expect(await leases.renew('run:r1', 'gw-a', 5_000)).toEqual({
      name: 'run:r1',
      holder: 'gw-a',
      expiresAt: 1_009_000,
      fence: 1,
    });
    expect(await leases.renew('run:r1', 'gw-b', 5_000)).toBeNull();
    // Re-acquiring our own lease renews it, fence unchanged.
    expect((await leases.acquire('run:r1', 'gw-a', 5_000))?.fence).toBe(1);
    t += 5_000;
    expect(await leases.renew('run:r1', 'gw-a', 5_000)).toBeNull();
    expect(await leases.holder('run:r1')).toBeNull();
  });

  it('releases for its holder only, and a released lease is free at once', async () => {
    const leases = new Leases(store.db, clock);
    await leases.acquire('run:r2', 'gw-a', 60_000);
    expect(await leases.release('run:r2', 'gw-b')).toBe(false);
    expect(await leases.acquire('run:r2', 'gw-b', 60_000)).toBeNull();
    expect(await leases.release('run:r2', 'gw-a')).toBe(true);
    expect(await leases.release('run:r2', 'gw-a')).toBe(false);
    expect(await leases.holder('run:r2')).toBeNull();
    // The fence keeps counting across a release, so work under the old lease stays recognisable.
    expect(await leases.acquire('run:r2', 'gw-b', 60_000)).toMatchObject({
      holder: 'gw-b',
      fence: 2,
    });
    // Leases are independent by name.
    expect((await leases.acquire('run:r3', 'gw-a', 60_000))?.holder).toBe('gw-a');
  });

  it('grants a contested lease to exactly one of many concurrent takers', async () => {
    // On PostgreSQL the pool runs these on several connections at once; on SQLite the one
    // connection serialises them, which is the guarantee there.
    const leases = new Leases(store.db, clock);
    const takers = Array.from({ length: 12 }, (_, i) => `gw-${i}`);
    const got = await Promise.all(takers.map((h) => leases.acquire('contested', h, 10_000)));
    const winners = got.filter((l) => l !== null);
    expect(winners).toHaveLength(1);
    expect((await leases.holder('contested'))?.holder).toBe(winners[0]?.holder);
  });

  it('refuses a nonsensical time to live', async () => {
    const leases = new Leases(store.db, clock);
    await expect(leases.acquire('x', 'gw-a', 0)).rejects.toThrow(RangeError);
    await expect(leases.renew('x', 'gw-a', 1.5)).rejects.toThrow(RangeError);
  });
});
