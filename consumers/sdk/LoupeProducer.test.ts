import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command, CommandReply, FrameHeader, StreamKey } from '@/lib/protocol';
import type { Gateway } from '@/server/gateway';
import {
  connected,
  eventually,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '@/server/testing/testGateway';
import { type CommandOutcome, LoupeProducer, type SequenceGap } from './LoupeProducer';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

async function gateway(overrides: Parameters<typeof startTestGateway>[0] = {}): Promise<Gateway> {
  const gw = await startTestGateway(overrides);
  cleanup.push(() => gw.close());
  return gw;
}

function producer(url: string, run = 'sdk-1', token: string = TOKENS.producer): LoupeProducer {
  const p = new LoupeProducer({
    url,
    token,
    run: { run, title: 'SDK test' },
    reconnectDelayMs: 50,
    reconnectDelayMaxMs: 200,
  });
  p.on('error', () => undefined);
  cleanup.push(() => p.close());
  return p;
}

/** Seeded pixel values so a mismatch reproduces. */
function pixels(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

async function subscribedViewer(gw: Gateway, run: string) {
  const socket = viewerClient(gw.url);
  cleanup.push(() => socket.close());
  const frames: { header: FrameHeader; bytes: Buffer }[] = [];
  socket.on('frame', (header, payload, received) => {
    frames.push({ header, bytes: Buffer.from(payload as Uint8Array) });
    received();
  });
  await connected(socket);
  const reply = await socket.emitWithAck('run:subscribe', { run });
  expect(reply.ok).toBe(true);
  return frames;
}

function producerSocket(gw: Gateway) {
  const socket = [...gw.producers.sockets.values()][0];
  if (!socket) throw new Error('no producer connected');
  return socket;
}

describe('LoupeProducer against a real gateway', () => {
  it('publishes slices and bricks that reach a viewer byte for byte', async () => {
    const gw = await gateway();
    const p = producer(gw.url);
    await p.connect();
    const frames = await subscribedViewer(gw, 'sdk-1');

    const sent: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      await p.writable('xy');
      const px = pixels(32 * 48, i);
      sent.push(px);
      const result = p.publishSlice({
        plane: 'xy',
        shape: [32, 48],
        pixels: px,
        voxelSize: [1.3, 1.3, 1.3],
        position: 16,
        volumeShape: [48, 32, 32],
        range: [-0.5, 0.5],
        acquiredAt: Date.now(),
      });
      expect(result).toEqual({ sent: true, seq: i });
    }
    const brick = pixels(4 * 8 * 8, 99);
    expect(
      p.publishBrick({
        view: 'roi',
        shape: [4, 8, 8],
        brickOffset: [8, 0, 4],
        volumeShape: [16, 16, 8],
        region: { x: [0, 8], y: [0, 8], z: [0, 4] },
        pixels: brick,
        voxelSize: [0.65, 0.65, 0.65],
        acquiredAt: Date.now(),
      }),
    ).toEqual({ sent: true, seq: 0 });

    await eventually(() => frames.length >= 4, 5000, 'four frames at the viewer');
    const slices = frames.filter((f) => f.header.stream === 'xy');
    // Flow control may replace an older slice for a slow viewer, but what arrives is exact.
    for (const f of slices) {
      const expected = sent[f.header.seq]!;
      expect(f.bytes.equals(Buffer.from(expected.buffer))).toBe(true);
      expect(f.header).toMatchObject({
        run: 'sdk-1',
        dtype: 'float32',
        shape: [32, 48],
        position: 16,
      });
    }
    const b = frames.find((f) => f.header.stream === 'volume')!;
    expect(b.header).toMatchObject({ view: 'roi', brickOffset: [8, 0, 4], region: { x: [0, 8] } });
    expect(b.bytes.equals(Buffer.from(brick.buffer))).toBe(true);
    await eventually(() => p.stats.acknowledged === 4, 2000, 'acknowledgements');
  });

  it('refuses a frame that breaks the protocol before sending it', async () => {
    const gw = await gateway();
    const p = producer(gw.url);
    await p.connect();
    expect(() =>
      p.publishSlice({
        plane: 'xz',
        shape: [4, 4],
        pixels: new Float32Array(15),
        voxelSize: [1, 1, 1],
        acquiredAt: 0,
      }),
    ).toThrow(/needs 16 pixels, got 15/);
    expect(p.lastSent()).toEqual({});
  });

  it('rejects connect() for a wrong token without retrying', async () => {
    const gw = await gateway();
    const p = producer(gw.url, 'sdk-1', 'not-a-token-at-all-0000');
    await expect(p.connect()).rejects.toThrow(/unauthorized/);
  });

  it('answers commands: applied, failed with the reason, rejected, and never applies one twice', async () => {
    const gw = await gateway();
    const p = producer(gw.url);
    const seen: Command[] = [];
    p.onCommand((command): CommandOutcome => {
      seen.push(command);
      if (command.kind === 'capture') return { status: 'applied', artifact: '/tmp/capture.h5' };
      if (command.kind === 'zoom') throw new Error('region outside the volume');
      return { status: 'applied' };
    });
    await p.connect();
    const socket = producerSocket(gw);
    const send = (c: unknown) => socket.timeout(3000).emitWithAck('command', c as Command);

    expect(await send({ id: 'a', run: 'sdk-1', kind: 'capture' })).toEqual({
      id: 'a',
      status: 'applied',
      artifact: '/tmp/capture.h5',
    });
    expect(await send({ id: 'a', run: 'sdk-1', kind: 'capture' })).toMatchObject({
      status: 'applied',
    });
    expect(seen.filter((c) => c.id === 'a')).toHaveLength(1);
    const region = { x: [0, 900], y: [0, 10], z: [0, 10] };
    expect(await send({ id: 'b', run: 'sdk-1', kind: 'zoom', region })).toEqual({
      id: 'b',
      status: 'failed',
      reason: 'region outside the volume',
    });
    expect(await send({ id: 'c', run: 'sdk-1', kind: 'warp' })).toMatchObject({
      status: 'rejected',
      reason: /invalid command/,
    });
    expect(await send({ id: 'd', run: 'other', kind: 'pause' })).toMatchObject({
      status: 'rejected',
      reason: /not other/,
    });
  });

  it('answers accepted for a slow command and reports its outcome as command:update', async () => {
    const gw = await gateway();
    const p = new LoupeProducer({
      url: gw.url,
      token: TOKENS.producer,
      run: { run: 'sdk-1', title: 't' },
      commandAckWindowMs: 50,
    });
    p.on('error', () => undefined);
    p.on('refused', () => undefined); // this gateway does not take command:update yet (issue 6)
    cleanup.push(() => p.close());
    p.onCommand(async () => {
      await new Promise((r) => setTimeout(r, 300));
      return { status: 'applied', detail: 'done late' };
    });
    await p.connect();
    const socket = producerSocket(gw);
    const updates: unknown[] = [];
    socket.on('command:update', (update: unknown) => updates.push(update));
    const first: CommandReply = await socket
      .timeout(3000)
      .emitWithAck('command', { id: 'slow', run: 'sdk-1', kind: 'pause' });
    expect(first).toEqual({ id: 'slow', status: 'accepted' });
    await eventually(() => updates.length === 1, 3000, 'command:update');
    expect(updates[0]).toEqual({
      run: 'sdk-1',
      reply: { id: 'slow', status: 'applied', detail: 'done late' },
    });
  });

  it('resumes after the gateway restarts mid-stream with no duplicate and no unaccounted gap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-sdk-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbFile = join(dir, 'loupe.db');
    const kept = new Map<StreamKey, number[]>();
    const watch = (gw: Gateway) =>
      gw.registry.on('frame', (_run, frame) => {
        const list = kept.get(frame.key) ?? [];
        list.push(frame.header.seq);
        kept.set(frame.key, list);
      });

    const first = await startTestGateway({ db: dbFile });
    watch(first);
    const port = first.port;
    const p = producer(first.url, 'restart-1');
    const gaps: SequenceGap[] = [];
    p.on('gap', (g) => gaps.push(g));
    let registrations = 0;
    p.on('registered', () => registrations++);
    await p.connect();

    // Publish as fast as the link allows, 2 slice streams, until told to stop.
    let publishing = true;
    let offline = 0;
    const loop = (async () => {
      let i = 0;
      while (publishing) {
        for (const plane of ['xy', 'yz'] as const) {
          const r = p.publishSlice({
            plane,
            shape: [16, 16],
            pixels: pixels(256, i++),
            voxelSize: [1, 1, 1],
            acquiredAt: Date.now(),
          });
          if (!r.sent && r.reason === 'offline') offline++;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    await eventually(
      () => (kept.get('full/xy')?.length ?? 0) > 50,
      5000,
      'frames before the restart',
    );
    await first.close();
    const second = await gateway({ db: dbFile, port });
    watch(second);
    await eventually(() => registrations === 2, 8000, 're-registration');
    const before = kept.get('full/xy')!.length;
    await eventually(
      () => kept.get('full/xy')!.length > before + 50,
      5000,
      'frames after the restart',
    );
    publishing = false;
    await loop;
    await eventually(
      () => p.stats.acknowledged + p.stats.lost >= p.stats.sent,
      3000,
      'in-flight frames settled',
    );

    expect(offline).toBeGreaterThan(0); // the producer really was cut off
    const lastSent = p.lastSent();
    for (const key of ['full/xy', 'full/yz'] as const) {
      const seqs = kept.get(key)!;
      expect(new Set(seqs).size).toBe(seqs.length); // no duplicate
      const accounted = new Set(seqs);
      for (const g of gaps.filter((g) => g.key === key)) {
        for (let s = g.from; s <= g.to; s++) {
          expect(accounted.has(s)).toBe(false);
          accounted.add(s);
        }
      }
      // Every number up to the last sent was kept by a gateway or reported lost.
      const last = lastSent[key]!;
      expect(accounted.size).toBe(last + 1);
      expect(Math.max(...accounted)).toBe(last);
    }
    console.log(
      `restart: ${kept.get('full/xy')!.length + kept.get('full/yz')!.length} frames kept, ${p.stats.lost} lost in flight in ${gaps.length} reported gaps, ${offline} publishes refused while offline`,
    );
  }, 30_000);
});
