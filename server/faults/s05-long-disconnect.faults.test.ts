/**
 * Scenario 5 of ../shared/RELIABILITY.md: a viewer's link stops forwarding (no data, no FIN) for
 * longer than the gateway's ping timeout. The gateway disconnects it by its heartbeat; when the link
 * comes back the viewer reconnects by itself, gets a full resync (the snapshot), and the frames
 * published meanwhile are counted as missed. Bounded: heartbeats of 1 s + 1 s, an 8 s outage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PLANES } from '@/lib/protocol';
import { ProducerLoop } from '../testing/ProducerLoop';
import { TcpProxy } from '../testing/TcpProxy';
import { eventually, startTestGateway } from '../testing/testGateway';
import { expectAccounting, ViewerProbe } from '../testing/ViewerProbe';
import { watchGateway } from '../testing/watchGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const RUN = 'run-s05';
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 1000;
const OUTAGE_MS = 8000;
/** Timer granularity of the heartbeat check, plus a busy machine's scheduling delay. */
const SLACK_MS = 1500;

describe('s05 long viewer disconnect', () => {
  it('is disconnected by the heartbeat, resyncs from the snapshot on return, and reports the gap', async () => {
    const gw = await startTestGateway({
      metricsIntervalMs: 200,
      pingIntervalMs: PING_INTERVAL_MS,
      pingTimeoutMs: PING_TIMEOUT_MS,
      // The frame-stall rule must not be what disconnects it here: the heartbeat must.
      stallTimeoutMs: 60_000,
    });
    open.push(gw);
    const watch = watchGateway(gw);
    const proxy = await TcpProxy.start({ target: { port: gw.port }, maxConnections: 20 });
    open.push(proxy);
    const producer = await new ProducerLoop({ url: gw.url, run: RUN }).ready();
    open.push(producer);
    const viewer = new ViewerProbe({
      url: proxy.url,
      run: RUN,
      io: { reconnectionDelay: 500, reconnectionDelayMax: 1000, timeout: 3000 },
    });
    open.push(viewer);
    const witness = new ViewerProbe({ url: gw.url, run: RUN });
    open.push(witness);
    await Promise.all([viewer.ready(), witness.ready()]);
    const firstId = viewer.socket.id;

    producer.start();
    await eventually(() => viewer.received >= 30 && viewer.samples >= 2, 20_000, 'live frames');
    const beforeStall = new Map(viewer.lastSeq);
    const missedBefore = viewer.missed;
    const seqAtStall = new Map(producer.seq);
    proxy.stall();
    const stalledAt = Date.now();

    await eventually(
      () => watch.disconnects.some((d) => d.id === firstId),
      PING_INTERVAL_MS + PING_TIMEOUT_MS + SLACK_MS + 2000,
      'gateway disconnect',
    );
    const gone = watch.disconnects.find((d) => d.id === firstId)!;
    expect(gone.reason).toBe('ping timeout');
    const detectedAfter = gone.at - stalledAt;
    expect(detectedAfter).toBeLessThanOrEqual(PING_INTERVAL_MS + PING_TIMEOUT_MS + SLACK_MS);
    // Its viewer channel is gone with it: nothing is kept for a viewer that is not there.
    expect(gw.viewers.sockets.has(firstId!)).toBe(false);

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stalledAt))));
    expect(viewer.sessions).toBe(1);
    // Read before the viewer can resubscribe: its snapshot is at least this new.
    const seqAtResume = new Map(producer.seq);
    proxy.resume();
    await eventually(() => viewer.sessions === 2, 15_000, 'resubscription after the outage');
    await eventually(
      () => viewer.firstFrames.filter((f) => f.session === 2).length === PLANES.length,
      5000,
      'snapshot of every plane',
    );
    const resync = viewer.firstFrames.filter((f) => f.session === 2);

    // Every frame published during the outage, but the one the snapshot brought, is a gap (a race
    // free lower bound: the snapshot is at least as new as the last frame before the link came back).
    let lostAtLeast = 0;
    for (const plane of PLANES) lostAtLeast += seqAtResume.get(plane)! - seqAtStall.get(plane)! - 1;
    let gap = 0;
    for (const f of resync) gap += f.seq - (beforeStall.get(f.key) ?? -1) - 1;
    const missed = viewer.missed - missedBefore;
    expect(missed).toBeGreaterThanOrEqual(gap);
    expect(gap).toBeGreaterThanOrEqual(lostAtLeast);
    expect(lostAtLeast).toBeGreaterThan(PLANES.length * 40);

    await eventually(() => viewer.sessionReceived >= 30, 20_000, 'live again');
    producer.stop();
    await producer.settled();
    await new Promise((r) => setTimeout(r, 300));
    const [v, w] = await expectAccounting([viewer, witness], { minSamples: 5 });
    expect(witness.disconnects).toHaveLength(0);
    console.log(
      `s05: gateway disconnected the silent viewer after ${detectedAfter} ms (reason ${gone.reason}, ` +
        `heartbeat ${PING_INTERVAL_MS}+${PING_TIMEOUT_MS} ms); client reasons ${viewer.disconnects.map((d) => d.reason).join(', ')}; ` +
        `outage ${OUTAGE_MS} ms; resync ${resync.map((f) => `${f.key}#${f.seq}`).join(' ')}; gap ${gap} frames, missed ${missed}; ` +
        `viewer session 2 ${JSON.stringify(v!.counters)}; witness ${JSON.stringify(w!.counters)}; proxy connections ${proxy.accepted}`,
    );
  });
});
