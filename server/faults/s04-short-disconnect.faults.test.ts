/**
 * Scenario 4 of ../shared/RELIABILITY.md: a viewer's engine closes for 5 s, then it reconnects by
 * itself. Re-subscribed without a reload (same client object), a fresh snapshot (the latest slice of
 * every plane) at once, and the frames published meanwhile counted as missed, never silently lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway';
import { ProducerLoop } from '../testing/ProducerLoop';
import { startTestGateway, eventually } from '../testing/testGateway';
import { expectAccounting, ViewerProbe } from '../testing/ViewerProbe';
import { watchGateway } from '../testing/watchGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const RUN = 'run-s04';
const OUTAGE_MS = 5000;

describe('s04 short viewer disconnect', () => {
  it('reconnects, re-subscribes, gets the snapshot at once, and counts the frames it missed', async () => {
    const gw: Gateway = await startTestGateway({ metricsIntervalMs: 200 });
    open.push(gw);
    const watch = watchGateway(gw);
    const producer = await new ProducerLoop({ url: gw.url, run: RUN }).ready();
    open.push(producer);
    // The reconnect delay is the outage: the client waits 5 s, then dials again by itself.
    const viewer = new ViewerProbe({
      url: gw.url,
      run: RUN,
      io: { reconnectionDelay: OUTAGE_MS, reconnectionDelayMax: OUTAGE_MS, randomizationFactor: 0 },
    });
    open.push(viewer);
    const witness = new ViewerProbe({ url: gw.url, run: RUN });
    open.push(witness);
    await Promise.all([viewer.ready(), witness.ready()]);

    producer.start();
    await eventually(() => viewer.received >= 30 && viewer.samples >= 2, 20_000, 'live frames');
    const beforeOutage = new Map(viewer.lastSeq);
    const receivedBefore = viewer.received;
    const missedBefore = viewer.missed;

    viewer.socket.io.engine.close();
    await eventually(() => viewer.disconnects.length === 1, 5000, 'viewer disconnect');
    // The client closed its engine ('forced close'); the gateway saw the transport go.
    expect(viewer.disconnects[0]!.reason).toBe('forced close');
    await eventually(() => watch.disconnects.length === 1, 5000, 'gateway sees the close');
    expect(watch.disconnects[0]!.reason).toBe('transport close');
    const outageStart = Date.now();
    // The producer keeps publishing through the outage, then pauses just before the viewer is
    // back: every frame the viewer gets on its return then comes from the snapshot.
    await new Promise((r) => setTimeout(r, OUTAGE_MS - 1000));
    producer.stop();
    await producer.settled();
    const lastPublished = new Map(
      [...producer.seq].map(([plane, next]) => [`full/${plane}`, next - 1]),
    );
    expect(viewer.socket.connected).toBe(false);
    expect(viewer.received).toBe(receivedBefore);

    await eventually(() => viewer.sessions === 2, 15_000, 're-subscription');
    const back = Date.now() - outageStart;
    await eventually(
      () => viewer.firstFrames.filter((f) => f.session === 2).length === 3,
      5000,
      'snapshot of three planes',
    );
    const snapshot = viewer.firstFrames.filter((f) => f.session === 2);
    // The snapshot is the latest slice of every plane, delivered on subscribing.
    for (const f of snapshot) expect(f.seq).toBe(lastPublished.get(f.key));
    expect(snapshot.every((f) => f.at - viewer.sessionStartedAt < 2000)).toBe(true);

    // Missed = what was published between the last frame before the outage and the snapshot.
    let expectedMissed = 0;
    for (const [key, last] of lastPublished)
      expectedMissed += last - (beforeOutage.get(key) ?? -1) - 1;
    expect(expectedMissed).toBeGreaterThan(20);
    expect(viewer.missed - missedBefore).toBe(expectedMissed);

    // Live again after the snapshot.
    producer.start();
    await eventually(() => viewer.sessionReceived >= 30, 20_000, 'live frames after return');
    producer.stop();
    await producer.settled();
    await new Promise((r) => setTimeout(r, 300));

    const [v, w] = await expectAccounting([viewer, witness], { minSamples: 5 });
    // The witness stayed connected through it all and saw every frame.
    expect(witness.disconnects).toHaveLength(0);
    expect(w!.counters!.replaced).toBeLessThan(w!.counters!.produced * 0.05 + 3);
    expect(watch.connections.length).toBe(3);
    console.log(
      `s04: back after ${back} ms; snapshot ${snapshot.map((f) => `${f.key}#${f.seq}`).join(' ')}; ` +
        `missed during the outage ${expectedMissed} (probe: ${viewer.missed} in total); ` +
        `viewer session 2 ${JSON.stringify(v!.counters)}, witness ${JSON.stringify(w!.counters)}`,
    );
  });
});
