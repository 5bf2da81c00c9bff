/**
 * Scenario 6 of ../shared/RELIABILITY.md: a slow viewer among live ones, under 10 Hz × 3 planes of
 * 256 KiB slices. Either it is conflated (latest-only: fewer frames, never older ones, replaced ones
 * counted) or, when it takes nothing for too long, disconnected with a reason. Either way the
 * gateway's memory stays bounded, the other viewers receive what they received without it (compared
 * as delivered counts, not wall time) and every counter adds up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway';
import { ProducerLoop } from '../testing/ProducerLoop';
import { mib, ResourceSampler } from '../testing/ResourceSampler';
import { TcpProxy } from '../testing/TcpProxy';
import { eventually, startTestGateway } from '../testing/testGateway';
import { expectAccounting, type ViewerProbe as Probe, ViewerProbe } from '../testing/ViewerProbe';
import { watchGateway } from '../testing/watchGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const RUN = 'run-s06';
const MAX_GROWTH = 50 * 2 ** 20;
const STREAM_MS = 12_000;
const WARMUP_MS = 2000;

async function setup(options: { stallTimeoutMs?: number } = {}) {
  const gw: Gateway = await startTestGateway({ metricsIntervalMs: 250, ...options });
  open.push(gw);
  const producer = await new ProducerLoop({ url: gw.url, run: RUN }).ready();
  open.push(producer);
  const witnesses = [0, 1, 2].map(() => new ViewerProbe({ url: gw.url, run: RUN }));
  open.push(...witnesses);
  await Promise.all(witnesses.map((w) => w.ready()));
  return { gw, producer, witnesses };
}

/** Live viewers lose (almost) nothing: what was replaced for them is machine noise, not the slow one. */
function expectUnaffected(witnesses: readonly Probe[], produced: number): void {
  for (const w of witnesses) {
    const c = w.latest!.viewer;
    expect(c.produced).toBeGreaterThanOrEqual(produced);
    expect(c.replaced).toBeLessThanOrEqual(Math.ceil(c.produced * 0.05));
    expect(w.disconnects).toHaveLength(0);
  }
}

describe('s06 slow viewer', () => {
  it('a viewer taking 1 s per frame is conflated to the latest frames, never older ones', async () => {
    const { gw, producer, witnesses } = await setup();
    const slow = new ViewerProbe({ url: gw.url, run: RUN, ack: 1000 });
    open.push(slow);
    await slow.ready();
    producer.start();
    // Baseline after a warm-up, so buffers and JIT of the first frames are not counted as growth.
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const resources = new ResourceSampler(200);
    open.push({ close: () => resources.stop() });
    const baseline = resources.sample().rss;
    await new Promise((r) => setTimeout(r, STREAM_MS));
    producer.stop();
    await producer.settled();
    const peak = resources.peakRss();
    // Once the slow one has caught up, its last frame of every plane is the newest published.
    await eventually(
      () =>
        [...producer.seq].every(([plane, next]) => slow.lastSeq.get(`full/${plane}`) === next - 1),
      10_000,
      'slow viewer reaches the newest frames',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const summaries = await expectAccounting([slow, ...witnesses], { minSamples: 10 });
    const s = slow.latest!.viewer;
    expect(slow.disconnects).toHaveLength(0);
    expect(slow.older).toBe(0);
    // Latest-only: about 2 frames/s per plane reach it (2 in flight, 1 s each), the rest replaced.
    expect(s.replaced).toBeGreaterThan(s.produced / 2);
    expect(s.delivered).toBeLessThan(s.produced / 2);
    expect(slow.missed).toBe(s.replaced);
    expectUnaffected(witnesses, producer.accepted);
    expect(peak - baseline).toBeLessThan(MAX_GROWTH);
    console.log(
      `s06 (1 s handler): produced ${s.produced}, slow viewer delivered ${s.delivered}, replaced ${s.replaced}, missed ${slow.missed}, older 0; ` +
        `witnesses delivered ${summaries
          .slice(1)
          .map((x) => x.counters!.delivered)
          .join(', ')} (replaced ${summaries
          .slice(1)
          .map((x) => x.counters!.replaced)
          .join(', ')}); ` +
        `RSS ${mib(baseline)} → peak ${mib(peak)} (growth ${mib(peak - baseline)})`,
    );
  });

  it('a viewer behind a 10 KB/s link is disconnected with a reason; memory stays bounded', async () => {
    const STALL_TIMEOUT_MS = 5000;
    const { gw, producer, witnesses } = await setup({ stallTimeoutMs: STALL_TIMEOUT_MS });
    const watch = watchGateway(gw);
    const proxy = await TcpProxy.start({
      target: { port: gw.port },
      down: { bytesPerSecond: 10_000 },
      maxConnections: 4,
    });
    open.push(proxy);
    const slow = new ViewerProbe({ url: proxy.url, run: RUN, io: { reconnection: false } });
    open.push(slow);
    await slow.ready();
    const id = slow.socket.id!;
    const resources = new ResourceSampler(200);
    open.push({ close: () => resources.stop() });
    const baseline = resources.sample().rss;

    producer.start();
    const startedAt = Date.now();
    await eventually(
      () => watch.disconnects.some((d) => d.id === id),
      20_000,
      'slow viewer disconnected',
    );
    const gone = watch.disconnects.find((d) => d.id === id)!;
    const notice = watch.notices.find((n) => n.id === id);
    expect(notice?.notice.code).toBe('stalled-seconds');
    expect(notice!.notice.observed).toBeGreaterThan(STALL_TIMEOUT_MS);
    expect(gone.reason).toBe('server namespace disconnect');
    await new Promise((r) => setTimeout(r, Math.max(0, STREAM_MS - (Date.now() - startedAt))));
    producer.stop();
    await producer.settled();
    const peak = resources.peakRss();
    await new Promise((r) => setTimeout(r, 500));
    const summaries = await expectAccounting(witnesses, { minSamples: 10 });
    expectUnaffected(witnesses, producer.accepted);
    expect(peak - baseline).toBeLessThan(MAX_GROWTH);
    console.log(
      `s06 (10 KB/s link): disconnected after ${gone.at - startedAt} ms with ${notice!.notice.code} (${notice!.notice.message}); ` +
        `slow viewer received ${slow.received} frames (${mib(slow.receivedBytes)}) through the proxy; ` +
        `witnesses delivered ${summaries.map((x) => x.counters!.delivered).join(', ')} of ${summaries[0]!.counters!.produced} (replaced ${summaries.map((x) => x.counters!.replaced).join(', ')}); ` +
        `RSS ${mib(baseline)} → peak ${mib(peak)} (growth ${mib(peak - baseline)})`,
    );
  });
});
