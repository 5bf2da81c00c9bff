import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeFrame,
  MAX_PRODUCER_MESSAGE_BYTES,
  type FrameHeader,
  type SliceHeaderInput,
  type ProtocolError,
} from '@/lib/protocol';
import type { Gateway } from './gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
  type ProducerClient,
  type ViewerClient,
} from './testing/testGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function gateway(): Promise<Gateway> {
  const gw = await startTestGateway();
  open.push(gw);
  return gw;
}

function slice(plane: 'xy' | 'xz' | 'yz', seq: number, over: Partial<SliceHeaderInput> = {}) {
  const shape: [number, number] = [5, 9];
  const pixels = Uint16Array.from(
    { length: 45 },
    (_, i) => (i * 977 + seq * 31 + plane.length) % 65536,
  );
  return encodeFrame(
    {
      run: 'run-1',
      stream: plane,
      seq,
      dtype: 'uint16',
      shape,
      voxelSize: [1, 1, 1],
      acquiredAt: Date.now(),
      reconstructedAt: Date.now(),
      publishedAt: Date.now(),
      ...over,
    },
    pixels,
  );
}

async function producer(gw: Gateway, token: string = TOKENS.producer): Promise<ProducerClient> {
  const p = producerClient(gw.url, token);
  open.push(p);
  await connected(p);
  const reply = await p.emitWithAck('run:register', { run: 'run-1', title: 'Test run' });
  expect(reply).toEqual({ ok: true, run: 'run-1', lastKept: {} });
  return p;
}

interface Received {
  header: FrameHeader;
  bytes: Buffer;
}
async function viewer(
  gw: Gateway,
  run = 'run-1',
): Promise<{ socket: ViewerClient; frames: Received[] }> {
  const socket = viewerClient(gw.url);
  open.push(socket);
  const frames: Received[] = [];
  socket.on('frame', (header, payload, received) => {
    frames.push({ header, bytes: Buffer.from(payload as Uint8Array) });
    received();
  });
  await connected(socket);
  const reply = await socket.emitWithAck('run:subscribe', { run });
  expect(reply.ok).toBe(true);
  return { socket, frames };
}

async function publish(p: ProducerClient, frame: ReturnType<typeof slice>) {
  return p.emitWithAck('frame', frame.header, frame.payload);
}

describe('gateway', () => {
  it('delivers a published slice byte-identical to two viewers', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const a = await viewer(gw);
    const b = await viewer(gw);
    const frame = slice('xy', 0);
    expect(await publish(p, frame)).toEqual({ ok: true });
    await eventually(() => a.frames.length === 1 && b.frames.length === 1, 5000, 'both viewers');
    for (const v of [a, b]) {
      expect(v.frames[0]!.bytes.equals(Buffer.from(frame.payload))).toBe(true);
      expect(v.frames[0]!.header).toMatchObject({
        run: 'run-1',
        stream: 'xy',
        seq: 0,
        shape: [5, 9],
      });
    }
  });

  it('gives a late viewer the latest slice of each plane at once', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    for (let seq = 0; seq < 3; seq++) {
      for (const plane of ['xy', 'xz', 'yz'] as const) await publish(p, slice(plane, seq));
    }
    const late = await viewer(gw);
    await eventually(() => late.frames.length === 3, 5000, 'snapshot');
    expect(late.frames.map((f) => `${f.header.stream}:${f.header.seq}`).sort()).toEqual([
      'xy:2',
      'xz:2',
      'yz:2',
    ]);
    expect(
      late.frames
        .find((f) => f.header.stream === 'xz')!
        .bytes.equals(Buffer.from(slice('xz', 2).payload)),
    ).toBe(true);
  });

  it('refuses a producer without a valid token at the engine handshake', async () => {
    const gw = await gateway();
    for (const token of [undefined, 'not-a-token-at-all', TOKENS.viewer]) {
      const p = producerClient(gw.url, token);
      open.push(p);
      const error = await connected(p).then(
        () => null,
        (e: Error) => e,
      );
      // Refused before an engine session exists: the client never gets to send a message.
      expect(error?.message).toBe('websocket error');
    }
    expect(gw.producers.sockets.size).toBe(0);
    expect(gw.registry.list()).toEqual([]);
  });

  it('refuses a client of another protocol version, saying which is older', async () => {
    const gw = await gateway();
    for (const [version, code] of [
      [0, 'client-too-old'],
      [99, 'server-too-old'],
    ] as const) {
      const p = producerClient(gw.url, TOKENS.producer, version);
      open.push(p);
      const error = await connected(p).then(
        () => null,
        (e: Error & { data?: { code: string; message: string } }) => e,
      );
      expect(error?.data?.code).toBe(code);
      expect(error?.data?.message).toMatch(/protocol/);
    }
  });

  it('rejects a malformed frame to its sender and keeps serving the others', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    const v = await viewer(gw);
    const errors: ProtocolError[] = [];
    p.on('protocol:error', (e) => errors.push(e));
    const good = slice('xy', 0);
    const cases: [unknown, unknown][] = [
      [{ ...good.header, shape: [5, 10] }, good.payload], // wrong byte length
      [{ ...good.header, dtype: 'complex64' }, good.payload],
      [{ ...good.header, seq: -1 }, good.payload],
      ['not a header', good.payload],
      [good.header, Array.from(good.payload)], // pixels as a JSON array
    ];
    for (const [h, payload] of cases) {
      const answer = await p.emitWithAck('frame', h as FrameHeader, payload as Uint8Array);
      expect(answer.ok).toBe(false);
    }
    // Two attachments in one message.
    const two = await (
      p.emitWithAck as (...a: unknown[]) => Promise<{ ok: boolean; error?: string }>
    )('frame', good.header, good.payload, good.payload);
    expect(two).toMatchObject({ ok: false, error: expect.stringMatching(/one binary attachment/) });
    await eventually(() => errors.length === cases.length + 1, 5000, 'protocol errors');
    expect(errors[0]!.message).toMatch(/needs 100 bytes, got 90/);
    expect(v.frames).toHaveLength(0);
    expect(await publish(p, good)).toEqual({ ok: true });
    await eventually(() => v.frames.length === 1, 5000, 'good frame after bad ones');
    expect(p.connected).toBe(true);
  });

  it('refuses a frame for a run registered by another producer, and a replayed sequence', async () => {
    const gw = await gateway();
    const p = await producer(gw);
    expect(await publish(p, slice('xy', 0))).toEqual({ ok: true });
    expect(await publish(p, slice('xy', 0))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not after 0/),
    });
    const other = producerClient(gw.url, TOKENS.producer2);
    open.push(other);
    await connected(other);
    expect(await publish(other, slice('xy', 5))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/another producer/),
    });
  });

  it('drops a producer message larger than the frame limit without taking the gateway down', async () => {
    const gw = await startTestGateway();
    open.push(gw);
    const p = await producer(gw);
    const v = await viewer(gw);
    // Just above the producer engine's cap (a 4096² float32 slice plus header).
    const huge = new Uint8Array(MAX_PRODUCER_MESSAGE_BYTES + 1024);
    const closedP = new Promise<string>((resolve) =>
      p.once('disconnect', (reason) => resolve(reason)),
    );
    p.emit('frame', slice('xy', 1).header, huge);
    expect(await closedP).toMatch(/transport (close|error)/);
    const again = await producer(gw);
    expect(await publish(again, slice('xy', 2))).toEqual({ ok: true });
    await eventually(() => v.frames.length === 1, 5000, 'frame after the oversize one');
  });

  it('caps what a viewer may send', async () => {
    const gw = await gateway();
    const v = viewerClient(gw.url);
    open.push(v);
    await connected(v);
    const closed = new Promise<string>((resolve) =>
      v.once('disconnect', (reason) => resolve(reason)),
    );
    v.emit('run:subscribe', { run: 'x'.repeat(200 * 1024) }, () => undefined);
    expect(await closed).toMatch(/transport (close|error)/);
  });

  it('lists runs over REST', async () => {
    const gw = await gateway();
    await producer(gw);
    const res = await fetch(`${gw.url}/api/runs`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      runs: { id: string; state: string; producerConnected: boolean }[];
    };
    expect(body.runs).toMatchObject([{ id: 'run-1', state: 'streaming', producerConnected: true }]);
    expect((await fetch(`${gw.url}/api/runs/nope`)).status).toBe(404);
    expect(
      (
        await fetch(`${gw.url}/api/runs`, {
          headers: { authorization: 'Bearer wrong-token-xxxxxxxx' },
        })
      ).status,
    ).toBe(401);
  });
});
