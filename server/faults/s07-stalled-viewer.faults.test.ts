/**
 * Scenario 7 of ../shared/RELIABILITY.md: one viewer's TCP link stops forwarding (no data, no FIN)
 * while 256 KiB slices keep coming at 10 Hz × 3 planes. The gateway disconnects it within
 * pingInterval + pingTimeout, its memory does not grow meanwhile, and nobody else notices.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerLoop } from '../testing/ProducerLoop';
import { mib, ResourceSampler } from '../testing/ResourceSampler';
import { TcpProxy } from '../testing/TcpProxy';
import { eventually, startTestGateway } from '../testing/testGateway';
import { expectAccounting, ViewerProbe } from '../testing/ViewerProbe';
import { watchGateway } from '../testing/watchGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const RUN = 'run-s07';
const PING_INTERVAL_MS = 2000;
const PING_TIMEOUT_MS = 2000;
const SLACK_MS = 1500;
/**
 * What the gateway may hold for a stalled viewer: 3 slots × (2 in flight + 1 pending) × 256 KiB
 * ≈ 2.3 MiB, plus socket buffers; 32 MiB leaves room for the test process's own noise (the
 * producer, the witnesses and the proxy live in it too) and still catches a per-frame leak
 * (≥ 40 s of frames at 7.5 MiB/s would be 300 MiB).
 */
const MAX_GROWTH = 32 * 2 ** 20;

describe('s07 stalled TCP viewer', () => {
  it('is disconnected within pingInterval + pingTimeout with no memory growth', async () => {
    const gw = await startTestGateway({
      metricsIntervalMs: 250,
      pingIntervalMs: PING_INTERVAL_MS,
      pingTimeoutMs: PING_TIMEOUT_MS,
      stallTimeoutMs: 60_000,
    });
    open.push(gw);
    const watch = watchGateway(gw);
    const proxy = await TcpProxy.start({ target: { port: gw.port }, maxConnections: 4 });
    open.push(proxy);
    const producer = await new ProducerLoop({ url: gw.url, run: RUN }).ready();
    open.push(producer);
    // No reconnection: it stays away, so what is measured after is the gateway without it.
    const stalled = new ViewerProbe({ url: proxy.url, run: RUN, io: { reconnection: false } });
    open.push(stalled);
    const witnesses = [0, 1].map(() => new ViewerProbe({ url: gw.url, run: RUN }));
    open.push(...witnesses);
    await Promise.all([stalled.ready(), ...witnesses.map((w) => w.ready())]);
    const id = stalled.socket.id!;

    producer.start();
    await eventually(() => stalled.received >= 30, 20_000, 'live frames');
    const resources = new ResourceSampler(200);
    open.push({ close: () => resources.stop() });
    await new Promise((r) => setTimeout(r, 2000));
    const baseline = resources.sample().rss;
    const witnessBefore = witnesses.map((w) => w.received);

    proxy.stall();
    const stalledAt = Date.now();
    await eventually(
      () => watch.disconnects.some((d) => d.id === id),
      PING_INTERVAL_MS + PING_TIMEOUT_MS + SLACK_MS + 3000,
      'gateway disconnect',
    );
    const gone = watch.disconnects.find((d) => d.id === id)!;
    const detectedAfter = gone.at - stalledAt;
    expect(gone.reason).toBe('ping timeout');
    expect(detectedAfter).toBeLessThanOrEqual(PING_INTERVAL_MS + PING_TIMEOUT_MS + SLACK_MS);
    expect(gw.viewers.sockets.has(id)).toBe(false);

    // Keep streaming with the dead link still open at the proxy: nothing may pile up for it.
    await new Promise((r) => setTimeout(r, 5000));
    const peak = resources.peakRss(stalledAt);
    const growth = peak - baseline;
    expect(growth).toBeLessThan(MAX_GROWTH);
    // The proxy holds at most its queue bound for the dead connection; the rest is back-pressure.
    expect(proxy.queuedBytes).toBeLessThanOrEqual(2 * 1024 * 1024 + 512 * 1024);

    producer.stop();
    await producer.settled();
    await new Promise((r) => setTimeout(r, 300));
    const summaries = await expectAccounting(witnesses, { minSamples: 10 });
    const during = witnesses.map((w, i) => w.received - witnessBefore[i]!);
    // The witnesses kept receiving throughout; they were not held back by the stalled one.
    for (const s of summaries)
      expect(s.counters!.replaced).toBeLessThan(s.counters!.produced * 0.05 + 3);
    expect(Math.min(...during)).toBeGreaterThan(100);
    proxy.resume();
    console.log(
      `s07: gateway disconnected the stalled viewer after ${detectedAfter} ms (limit ${PING_INTERVAL_MS}+${PING_TIMEOUT_MS} ms, reason ${gone.reason}); ` +
        `RSS baseline ${mib(baseline)}, peak over the stall ${mib(peak)} (growth ${mib(growth)}); proxy held ${mib(proxy.queuedBytes)}; ` +
        `witnesses received ${during.join(', ')} frames meanwhile; witness counters ${summaries.map((s) => JSON.stringify(s.counters)).join(' ')}`,
    );
  });
});
