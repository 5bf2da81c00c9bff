/**
 * Scenario 11 of ../shared/RELIABILITY.md: plain `ws` clients send seeded random and hand-crafted
 * engine.io / socket.io frames to both engines (viewer and producer, anonymous and authenticated)
 * while a producer streams to a witness viewer. 0 exits, 0 uncaught exceptions, every fuzzing
 * connection refused or closed without leaving a socket behind, the witness keeps receiving with
 * its counters exact. LOUPE_FUZZ_SEED and LOUPE_FUZZ_FRAMES reproduce or extend a run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
} from '@/lib/protocol';
import { seededRandom } from '@/lib/random/seededRandom';
import type { Gateway } from '../gateway';
import { type FuzzFrame, malformedFrame } from '../testing/malformedFrames';
import { ProducerLoop } from '../testing/ProducerLoop';
import { mib, ResourceSampler } from '../testing/ResourceSampler';
import { eventually, startTestGateway, TOKENS } from '../testing/testGateway';
import { expectAccounting, ViewerProbe } from '../testing/ViewerProbe';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const SEED = Number(process.env.LOUPE_FUZZ_SEED ?? 20_261_201);
/** Frames per engine. */
const FRAMES = Number(process.env.LOUPE_FUZZ_FRAMES ?? 10_000);
const CONCURRENCY = 8;
const MAX_PER_CONNECTION = 16;
/** A connection the server has not closed this long after its last frame is closed by us. */
const LINGER_MS = 300;
const RUN = 'run-s11';

interface Tally {
  frames: number;
  byKind: Map<string, number>;
  connections: number;
  joined: number;
  refusedAtConnect: number;
  /** Refused at the engine handshake (the producer engine checks the token there): nothing sent. */
  refusedAtHandshake: number;
  framesNotSent: number;
  closedByServer: number;
  protocolErrors: number;
}

/** One fuzzing connection: engine handshake, maybe a namespace, then a burst of bad frames. */
function fuzzConnection(
  gw: Gateway,
  path: string,
  ns: string,
  auth: Record<string, unknown> | null,
  frames: FuzzFrame[],
  tally: Tally,
): Promise<void> {
  return new Promise((resolve) => {
    tally.connections++;
    const token = typeof auth?.token === 'string' ? auth.token : null;
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
      // As the real clients do: browsers send their page's Origin, producers their token.
      headers: {
        origin: gw.url,
        ...(token && path === PRODUCER_SOCKET_PATH && { authorization: `Bearer ${token}` }),
      },
    });
    let opened = false;
    ws.on('open', () => (opened = true));
    let sent = false;
    let ours = false;
    const finish = setTimeout(() => {
      ours = true;
      ws.terminate();
    }, 5000);
    const burst = () => {
      if (sent || ws.readyState !== WebSocket.OPEN) return;
      sent = true;
      for (const f of frames) {
        ws.send(f.data);
        tally.frames++;
        tally.byKind.set(f.kind, (tally.byKind.get(f.kind) ?? 0) + 1);
      }
      setTimeout(() => {
        ours = true;
        ws.terminate();
      }, LINGER_MS);
    };
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : String(data);
      if (text.startsWith('0{')) {
        if (auth) ws.send(`40${ns},${JSON.stringify(auth)}`);
        else burst();
      } else if (text.startsWith(`40${ns}`)) {
        tally.joined++;
        burst();
      } else if (text.startsWith(`44${ns}`)) {
        tally.refusedAtConnect++;
        burst();
      } else if (text.startsWith('2')) ws.send('3');
      if (text.includes('"protocol:error"')) tally.protocolErrors++;
    });
    ws.on('error', () => {
      if (opened || sent) return;
      tally.refusedAtHandshake++;
      tally.framesNotSent += frames.length;
      sent = true;
    });
    ws.on('close', () => {
      clearTimeout(finish);
      if (!ours) tally.closedByServer++;
      resolve();
    });
  });
}

function newTally(): Tally {
  return {
    frames: 0,
    byKind: new Map(),
    connections: 0,
    joined: 0,
    refusedAtConnect: 0,
    refusedAtHandshake: 0,
    framesNotSent: 0,
    closedByServer: 0,
    protocolErrors: 0,
  };
}

async function fuzzEngine(
  gw: Gateway,
  random: () => number,
  path: string,
  ns: string,
  auths: (Record<string, unknown> | null)[],
): Promise<Tally> {
  const tally = newTally();
  let planned = 0;
  const plan = () => {
    if (planned >= FRAMES) return null;
    const n = Math.min(FRAMES - planned, 1 + Math.floor(random() * MAX_PER_CONNECTION));
    planned += n;
    const frames = Array.from({ length: n }, () => malformedFrame(random, ns));
    return { auth: auths[Math.floor(random() * auths.length)]!, frames };
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let next = plan(); next; next = plan())
        await fuzzConnection(gw, path, ns, next.auth, next.frames, tally);
    }),
  );
  return tally;
}

describe('s11 malformed-frame fuzz', () => {
  it(`survives ${FRAMES} seeded malformed frames per engine (seed ${SEED})`, async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    open.push({
      close: () => {
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onUncaught);
      },
    });

    const gw = await startTestGateway({ metricsIntervalMs: 250 });
    open.push(gw);
    const engineCloses = new Map<string, number>();
    for (const engine of [gw.viewers.server.engine, gw.producers.server.engine])
      engine.on('connection', (socket: { on(e: 'close', f: (reason: string) => void): void }) =>
        socket.on('close', (reason) =>
          engineCloses.set(reason, (engineCloses.get(reason) ?? 0) + 1),
        ),
      );
    const producer = await new ProducerLoop({ url: gw.url, run: RUN, shape: [64, 64] }).ready();
    open.push(producer);
    const witness = new ViewerProbe({ url: gw.url, run: RUN });
    open.push(witness);
    await witness.ready();
    producer.start();
    await eventually(() => witness.samples >= 2, 10_000, 'witness metrics');
    const resources = new ResourceSampler(250);
    open.push({ close: () => resources.stop() });
    const rssBefore = resources.sample().rss;
    const witnessBefore = witness.received;
    const producedBefore = producer.accepted;
    const started = Date.now();

    const random = seededRandom(SEED);
    const viewerTally = await fuzzEngine(gw, random, VIEWER_SOCKET_PATH, VIEWER_NAMESPACE, [
      null,
      { protocolVersion: PROTOCOL_VERSION },
      { protocolVersion: PROTOCOL_VERSION, token: TOKENS.viewer },
      { protocolVersion: PROTOCOL_VERSION, token: TOKENS.scientist },
      { protocolVersion: 'x', token: { $ne: null } },
    ]);
    const producerTally = await fuzzEngine(gw, random, PRODUCER_SOCKET_PATH, PRODUCER_NAMESPACE, [
      null,
      { protocolVersion: PROTOCOL_VERSION },
      { protocolVersion: PROTOCOL_VERSION, token: TOKENS.producer2 },
      { protocolVersion: PROTOCOL_VERSION, token: 'garbage' },
    ]);
    const seconds = (Date.now() - started) / 1000;
    const peak = resources.peakRss(started);
    producer.stop();
    await producer.settled();
    await new Promise((r) => setTimeout(r, 500));

    expect(uncaught).toEqual([]);
    expect(viewerTally.frames + producerTally.frames + producerTally.framesNotSent).toBe(
      2 * FRAMES,
    );
    expect(viewerTally.refusedAtHandshake).toBe(0);
    expect(viewerTally.joined).toBeGreaterThan(0);
    expect(producerTally.joined).toBeGreaterThan(0);
    // No token, or a bad one: refused at the engine handshake, before any frame is read.
    expect(producerTally.refusedAtHandshake).toBeGreaterThan(0);
    // Nothing of the fuzz is left: only the witness and the producer remain connected.
    await eventually(
      () => gw.viewers.sockets.size === 1 && gw.producers.sockets.size === 1,
      5000,
      'fuzz sockets gone',
    );
    // Every fuzzing connection was torn down at the engine, and most by the gateway itself.
    const closes = [...engineCloses.values()].reduce((a, b) => a + b, 0);
    const sessions =
      viewerTally.connections + producerTally.connections - producerTally.refusedAtHandshake;
    expect(closes).toBe(sessions);
    expect(
      viewerTally.closedByServer + producerTally.closedByServer - producerTally.refusedAtHandshake,
    ).toBeGreaterThan(closes * 0.9);
    expect(gw.viewers.server.engine.clientsCount).toBe(1);
    expect(gw.producers.server.engine.clientsCount).toBe(1);
    // The gateway still serves: HTTP, a new viewer, and the witness kept receiving throughout.
    expect((await fetch(`${gw.url}/api/health`)).ok).toBe(true);
    const late = new ViewerProbe({ url: gw.url, run: RUN });
    open.push(late);
    await late.ready();
    const [w] = await expectAccounting([witness, late], { minSamples: 1 });
    expect(witness.disconnects).toHaveLength(0);
    const witnessDuring = witness.received - witnessBefore;
    const producedDuring = producer.accepted - producedBefore;
    expect(witnessDuring).toBeGreaterThanOrEqual(producedDuring * 0.9);

    const kinds = new Map<string, number>();
    for (const t of [viewerTally, producerTally])
      for (const [k, n] of t.byKind) kinds.set(k, (kinds.get(k) ?? 0) + n);
    const show = (t: Tally) =>
      `${t.frames} frames over ${t.connections} connections (${t.joined} joined the namespace, ${t.refusedAtConnect} refused at connect, ${t.refusedAtHandshake} refused at the handshake, ${t.closedByServer} closed by the gateway, ${t.protocolErrors} protocol:error replies)`;
    console.log(
      `s11 (seed ${SEED}, ${seconds.toFixed(1)} s): viewer engine ${show(viewerTally)}; producer engine ${show(producerTally)}; ` +
        `kinds ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}; engine closes ${[...engineCloses].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `uncaught 0; witness received ${witnessDuring} of ${producedDuring} published meanwhile, counters ${JSON.stringify(w!.counters)}; ` +
        `RSS ${mib(rssBefore)} → peak ${mib(peak)}`,
    );
  });
});
