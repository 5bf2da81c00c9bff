import { afterEach, describe, expect, it } from 'vitest';
import {
  lodOf,
  type DisconnectNotice,
  encodeFrame,
  type FrameHeader,
  parseHeader,
  MAX_VIEWER_MESSAGE_BYTES,
  type RunMetrics,
} from '@/lib/protocol';
import type { Gateway, GatewayOptions } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  type ProducerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function gateway(options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const gw = await startTestGateway({ metricsIntervalMs: 50, ...options });
  open.push(gw);
  return gw;
}

async function producer(gw: Gateway): Promise<ProducerClient> {
  const p = producerClient(gw.url, TOKENS.producer);
  open.push(p);
  await connected(p);
  const reply = await p.emitWithAck('run:register', { run: 'run-1', title: 'Fan-out test' });
  expect(reply.ok).toBe(true);
  return p;
}

/** A slice of `stream` (xy when absent), or a brick when `stream` is `volume`. */
function frame(over: Record<string, unknown> & { seq: number }, edge = 8) {
  const volume = over.stream === 'volume';
  const count = volume ? edge * edge * edge : edge * edge;
  const pixels = Uint16Array.from({ length: count }, (_, i) => (i + over.seq * 7) % 65536);
  const header = parseHeader({
    run: 'run-1',
    stream: 'xy',
    dtype: 'uint16',
    shape: volume ? [edge, edge, edge] : [edge, edge],
    voxelSize: [1, 1, 1],
    acquiredAt: Date.now(),
    reconstructedAt: Date.now(),
    publishedAt: Date.now(),
    ...over,
  });
  return encodeFrame(header, pixels);
}

interface Held {
  header: FrameHeader;
  bytes: Buffer;
  ack: () => void;
  at: number;
}

/** A viewer that records frames and metrics; `stalled` ones keep their acknowledgements back. */
async function viewer(gw: Gateway, stalled = false) {
  const socket = viewerClient(gw.url);
  open.push(socket);
  const frames: Held[] = [];
  const metrics: RunMetrics[] = [];
  const notices: DisconnectNotice[] = [];
  socket.on('frame', (header, payload, ack) => {
    frames.push({ header, bytes: Buffer.from(payload as Uint8Array), ack, at: Date.now() });
    if (!stalled) ack();
  });
  socket.on('run:metrics', (m) => metrics.push(m));
  socket.on('viewer:disconnect', (n) => notices.push(n));
  await connected(socket);
  expect((await socket.emitWithAck('run:subscribe', { run: 'run-1' })).ok).toBe(true);
  return { socket, frames, metrics, notices };
}

const seqs = (frames: Held[]) => frames.map((f) => f.header.seq);

describe('fan-out with flow control', () => {
  it('a stalled viewer does not delay a live one, gets only the newest on resuming, and the counters add up', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const live = await viewer(gw);
    const stalled = await viewer(gw, true);
    const N = 30;
    for (let seq = 0; seq < N; seq++) {
      expect(await p.emitWithAck('frame', ...args(frame({ seq })))).toEqual({ ok: true });
      // The live viewer has every frame before the next is published: nobody waits for the stalled one.
      await eventually(() => live.frames.length === seq + 1, 2000, `live frame ${seq}`);
    }
    // A replayed sequence number is refused and counted as such.
    expect((await p.emitWithAck('frame', ...args(frame({ seq: 3 })))).ok).toBe(false);
    expect(seqs(live.frames)).toEqual([...Array(N).keys()]);
    expect(seqs(stalled.frames)).toEqual([0, 1]);

    const stalledMetrics = () => stalled.metrics.at(-1)?.viewer;
    await eventually(() => stalledMetrics()?.produced === N + 1, 2000, 'stalled metrics');
    expect(stalledMetrics()).toMatchObject({
      produced: N + 1,
      delivered: 2,
      pending: 1,
      replaced: N - 3,
      rejected: 1,
      acknowledged: 0,
    });

    // Resume: acknowledge what was held; only the newest frame follows, then nothing.
    for (const f of stalled.frames.splice(0)) f.ack();
    await eventually(() => stalled.frames.length === 1, 2000, 'newest after resume');
    expect(seqs(stalled.frames)).toEqual([N - 1]);
    stalled.frames[0]!.ack();
    await new Promise((r) => setTimeout(r, 150));
    expect(stalled.frames).toHaveLength(1);

    const before = stalled.metrics.length;
    await eventually(() => stalled.metrics.length > before + 1, 2000, 'fresh metrics');
    for (const v of [live, stalled]) {
      const c = v.metrics.at(-1)!.viewer;
      expect(c.produced).toBe(c.delivered + c.replaced + c.rejected + c.pending);
      expect(c.pending).toBe(0);
      expect(c.acknowledged).toBe(c.delivered);
    }
    expect(live.metrics.at(-1)!.viewer).toMatchObject({
      produced: N + 1,
      delivered: N,
      replaced: 0,
      rejected: 1,
    });
    expect(stalled.metrics.at(-1)!.viewer).toMatchObject({
      produced: N + 1,
      delivered: 3,
      replaced: N - 3,
      rejected: 1,
    });
    expect(live.metrics.at(-1)!.producer).toMatchObject({
      connected: true,
      accepted: N,
      rejected: 1,
    });
    expect(live.metrics.at(-1)!.viewers).toBe(2);
  });

  it('disconnects a viewer stalled beyond the time limit and says why; the others keep going', async () => {
    const gw = await gateway({ stallTimeoutMs: 300 });
    const p = await producer(gw);
    const live = await viewer(gw);
    const stalled = await viewer(gw, true);
    const gone = new Promise<string>((resolve) => stalled.socket.once('disconnect', resolve));
    let seq = 0;
    const timer = setInterval(
      () => void p.emitWithAck('frame', ...args(frame({ seq: seq++ }))),
      50,
    );
    open.push({ close: () => clearInterval(timer) });
    expect(await gone).toBe('io server disconnect');
    expect(stalled.notices[0]).toMatchObject({ code: 'stalled-seconds', limit: 300 });
    expect(stalled.notices[0]!.message).toMatch(/took no frame for/);
    const count = live.frames.length;
    await eventually(
      () => live.frames.length > count + 3,
      2000,
      'live frames after the disconnect',
    );
    expect(live.socket.connected).toBe(true);
  });

  it('disconnects a viewer holding more bytes than the limit', async () => {
    const gw = await gateway({ maxBufferedBytes: 1000 });
    const p = await producer(gw);
    const stalled = await viewer(gw, true);
    const gone = new Promise<string>((resolve) => stalled.socket.once('disconnect', resolve));
    // 16² uint16 = 512 B each: two in flight and one pending pass the 1000 B limit.
    for (let seq = 0; seq < 4; seq++) await p.emitWithAck('frame', ...args(frame({ seq }, 16)));
    expect(await gone).toBe('io server disconnect');
    expect(stalled.notices[0]).toMatchObject({ code: 'stalled-bytes', limit: 1000 });
    expect(stalled.notices[0]!.observed).toBeGreaterThan(1000);
  });

  it('gives a late joiner the latest slices and the current volume, one brick per position', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const volume = {
      stream: 'volume' as const,
      volumeShape: [16, 8, 8] as [number, number, number],
    };
    await p.emitWithAck('frame', ...args(frame({ seq: 0, ...volume, brickOffset: [0, 0, 0] })));
    await p.emitWithAck('frame', ...args(frame({ seq: 1, ...volume, brickOffset: [8, 0, 0] })));
    await p.emitWithAck('frame', ...args(frame({ seq: 2, ...volume, brickOffset: [0, 0, 0] })));
    for (const stream of ['xy', 'xz', 'yz'] as const) {
      await p.emitWithAck('frame', ...args(frame({ seq: 0, stream })));
      await p.emitWithAck('frame', ...args(frame({ seq: 1, stream })));
    }
    const late = await viewer(gw);
    await eventually(() => late.frames.length === 5, 2000, 'snapshot');
    await new Promise((r) => setTimeout(r, 100));
    expect(late.frames.map((f) => `${f.header.stream}:${f.header.seq}`).sort()).toEqual([
      'volume:1',
      'volume:2',
      'xy:1',
      'xz:1',
      'yz:1',
    ]);
    const brick = late.frames.find((f) => f.header.seq === 2 && f.header.stream === 'volume')!;
    expect(brick.header).toMatchObject({ brickOffset: [0, 0, 0] });
    expect(brick.bytes.equals(Buffer.from(frame({ seq: 2, ...volume }).payload))).toBe(true);
  });

  it('delivers frames far above the viewer engine’s inbound cap whole: the cap limits what viewers send, not what they receive', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const v = await viewer(gw);
    const big = frame({ seq: 0 }, 1024); // 2 MiB, 32× MAX_VIEWER_MESSAGE_BYTES
    expect(big.payload.byteLength).toBeGreaterThan(32 * MAX_VIEWER_MESSAGE_BYTES - 1);
    expect(await p.emitWithAck('frame', big.header, big.payload)).toEqual({ ok: true });
    await eventually(() => v.frames.length === 1, 5000, 'big frame');
    expect(v.frames[0]!.bytes.equals(Buffer.from(big.payload))).toBe(true);
  });

  it('forwards the consumer’s own health report to viewers', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const v = await viewer(gw);
    p.emit('run:metrics', {
      run: 'run-1',
      at: Date.now(),
      projectionsPerSecond: 120,
      slicesPerSecond: 30,
      bricksPerSecond: 4,
      voxelAngleUpdatesPerSecond: 1e9,
      coverageDeg: 180,
      cycleMs: 33,
      lagMs: 80,
      paused: false,
    });
    await eventually(
      () => v.metrics.at(-1)?.producer.sample?.projectionsPerSecond === 120,
      2000,
      'producer sample',
    );
  });

  it('a viewer that reports a small view gets a reduced level, counted as delivered by level', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const small = await viewer(gw);
    const whole = await viewer(gw);
    // 8×8 slices on a 2-device-pixel view: ¼ resolution (2×2) still covers it.
    small.socket.emit('view:display', {
      run: 'run-1',
      mode: 'auto',
      views: [{ key: 'full/xy', width: 2, height: 2 }],
    });
    // The report has no acknowledgement: publish until a frame shows it applied (bounded).
    let seq = 0;
    while (!small.frames.some((f) => lodOf(f.header)) && seq < 50) {
      expect(await p.emitWithAck('frame', ...args(frame({ seq: seq++ })))).toEqual({ ok: true });
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually(() => whole.frames.length === seq, 2000, 'every frame whole');
    const reduced = small.frames.find((f) => lodOf(f.header))!;
    expect(reduced).toBeDefined();
    const k = reduced.header.seq;
    expect(reduced.header.shape).toEqual([2, 2]);
    expect(lodOf(reduced.header)).toEqual({
      level: 2,
      fullShape: [8, 8],
      origin: [0, 0],
      extent: [8, 8],
    });
    // Pixel i is (i + 7k) % 65536 = row × 8 + col + 7k: the top-left 4×4 block averages to
    // 13.5 + 7k, rounded half up.
    expect(new Uint16Array(new Uint8Array(reduced.bytes).buffer)[0]).toBe(Math.floor(14 + 7 * k));
    expect(whole.frames.every((f) => lodOf(f.header) === undefined)).toBe(true);
    expect(whole.frames[0]!.header.shape).toEqual([8, 8]);
    await eventually(
      () => small.metrics.at(-1)?.viewer.produced === seq && !!small.metrics.at(-1)?.link,
      2000,
      'link report',
    );
    const m = small.metrics.at(-1)!;
    // Every frame after the report applied went at ¼; all are counted as delivered, by level.
    const reducedCount = seq - k;
    expect(m.viewer.deliveredByLevel).toEqual([k, 0, reducedCount, 0]);
    expect(m.viewer.delivered).toBe(seq);
    expect(m.link?.streams).toEqual([
      { key: 'full/xy', level: 2, cropped: false, framesPerSecond: expect.any(Number) },
    ]);
    expect(whole.metrics.at(-1)?.link).toBeUndefined();
    // A malformed report is refused, not applied.
    const errors: unknown[] = [];
    small.socket.on('protocol:error', (e) => errors.push(e));
    small.socket.emit('view:display', { run: 'run-1', mode: 'turbo', views: [] } as never);
    await eventually(() => errors.length === 1, 2000, 'refusal');
  });
});

function args(f: ReturnType<typeof frame>): [FrameHeader, Uint8Array] {
  return [f.header, f.payload];
}
