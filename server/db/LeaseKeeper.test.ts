import { afterEach, beforeEach, expect, it } from 'vitest';
import { LeaseKeeper } from './LeaseKeeper';
import { Leases } from './Leases';
import { type TestStore, describeEachStore } from './testing/testStores';

const until = async (cond: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describeEachStore('LeaseKeeper', (open) => {
  let store: TestStore;
  const keepers: LeaseKeeper[] = [];
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    for (const k of keepers.splice(0)) await k.stop();
    await store.close();
  });

  function keeper(holder: string, log: string[]) {
    const k = new LeaseKeeper({
      leases: new Leases(store.db),
      name: 'facility-pollers',
      holder,
      // Long beside the renew period, so a busy machine's late timer never lets the lease lapse.
      ttlMs: 2000,
      renewMs: 50,
      onAcquired: (l) => log.push(`${holder} on ${l.fence}`),
      onLost: () => log.push(`${holder} off`),
    });
    keepers.push(k);
    return k;
  }

  it('runs the work on one gateway at a time and hands it over when the holder stops', async () => {
    const log: string[] = [];
    const a = keeper('gw-a', log);
    a.start();
    await until(() => a.lease !== null);
    const b = keeper('gw-b', log);
    b.start();
    // b keeps trying for several renew periods while a renews: it never gets the lease.
    await new Promise((r) => setTimeout(r, 300));
    expect(b.lease).toBeNull();
    expect(log).toEqual(['gw-a on 1']);
    await a.stop();
    await until(() => b.lease !== null);
    expect(log).toEqual(['gw-a on 1', 'gw-a off', 'gw-b on 2']);
  });

  it('takes over a lease whose holder died without releasing it, once it expires', async () => {
    const leases = new Leases(store.db);
    // A gateway that took the lease and was then killed: nobody renews it.
    const dead = await leases.acquire('facility-pollers', 'gw-dead', 300);
    expect(dead).not.toBeNull();
    const log: string[] = [];
    const b = keeper('gw-b', log);
    b.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(b.lease).toBeNull();
    await until(() => b.lease !== null);
    expect(Date.now()).toBeGreaterThanOrEqual(dead!.expiresAt);
    expect(log).toEqual(['gw-b on 2']);
  });

  it('stops the work when it cannot renew before its lease would expire', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    let broken = false;
    // The keeper's clock is ours, so the test decides when "now" is instead of racing timers.
    let clock: number | null = null;
    const leases = new Leases(store.db);
    const failing = Object.assign(Object.create(leases) as Leases, {
      renew: (...args: Parameters<Leases['renew']>) =>
        broken ? Promise.reject(new Error('store unreachable')) : leases.renew(...args),
    });
    const k = new LeaseKeeper({
      leases: failing,
      name: 'facility-pollers',
      holder: 'gw-a',
      ttlMs: 400,
      renewMs: 50,
      onAcquired: () => log.push('on'),
      onLost: () => log.push('off'),
      onError: (e) => errors.push(e.message),
      now: () => clock ?? Date.now(),
    });
    keepers.push(k);
    k.start();
    await until(() => k.lease !== null);
    clock = Date.now();
    broken = true;
    await until(() => errors.length >= 1);
    // No renewal lands from here on, so the lease we hold expires at this time.
    const expiresAt = k.lease!.expiresAt;
    // Well before the expiry: failed renewals are retried and the work goes on.
    clock = expiresAt - 200;
    await until(() => errors.length >= 4);
    expect(k.lease).not.toBeNull();
    expect(log).toEqual(['on']);
    // One renew period before the expiry: the next try could land too late, so it stops now.
    clock = expiresAt - 50;
    await until(() => k.lease === null);
    expect(log).toEqual(['on', 'off']);
    expect(errors.every((m) => m === 'store unreachable')).toBe(true);
  });
});
