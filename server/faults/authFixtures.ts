import { encodeFrame, type FrameHeader } from '@/lib/protocol';
import type { Gateway } from '../gateway';
import {
  connected,
  producerClient,
  viewerClient,
  type ProducerClient,
  type ViewerClient,
} from '../testing/testGateway';

/** Things a scenario opened, closed in reverse order after each test. */
export class Opened {
  private readonly things: { close(): unknown }[] = [];
  add<T extends { close(): unknown }>(thing: T): T {
    this.things.push(thing);
    return thing;
  }
  async closeAll(): Promise<void> {
    for (const thing of this.things.splice(0).reverse()) await thing.close();
  }
}

/** One small uint16 slice of `run` (5×9 pixels, seeded by `seq`). */
export function slice(run: string, seq: number, plane: 'xy' | 'xz' | 'yz' = 'xy') {
  const pixels = Uint16Array.from({ length: 45 }, (_, i) => (i * 977 + seq * 31) % 65536);
  const t = Date.now();
  return encodeFrame(
    {
      run,
      stream: plane,
      seq,
      dtype: 'uint16',
      shape: [5, 9],
      voxelSize: [1, 1, 1],
      acquiredAt: t,
      reconstructedAt: t,
      publishedAt: t,
    },
    pixels,
  );
}

/** A connected producer that registered `run`. */
export async function producerOf(
  opened: Opened,
  gw: Gateway,
  token: string,
  run: string,
): Promise<ProducerClient> {
  const p = opened.add(producerClient(gw.url, token));
  await connected(p);
  const reply = await p.emitWithAck('run:register', { run, title: `run ${run}` });
  if (!reply.ok) throw new Error(`registering ${run}: ${reply.error}`);
  return p;
}

/** A viewer subscribed to `run`, recording the frames it receives (acknowledging each). */
export async function watcher(
  opened: Opened,
  gw: Gateway,
  token: string | undefined,
  run: string,
): Promise<{ socket: ViewerClient; frames: FrameHeader[]; closedAt: () => number | null }> {
  const socket = opened.add(viewerClient(gw.url, token));
  const frames: FrameHeader[] = [];
  let closedAt: number | null = null;
  socket.on('frame', (header, _payload, received) => {
    frames.push(header);
    received();
  });
  socket.on('disconnect', () => {
    closedAt ??= Date.now();
  });
  await connected(socket);
  const reply = await socket.emitWithAck('run:subscribe', { run });
  if (!reply.ok) throw new Error(`subscribing ${run}: ${reply.error}`);
  return { socket, frames, closedAt: () => closedAt };
}

/** Publishes frames of `run` at about `hz` until stopped; counts what the gateway accepted. */
export function stream(p: ProducerClient, run: string, hz: number) {
  let seq = 0;
  let accepted = 0;
  const timer = setInterval(() => {
    const frame = slice(run, seq++);
    // A frame in flight when the gateway closes is not an error of the scenario.
    void p.emitWithAck('frame', frame.header, frame.payload).then(
      (a) => {
        if (a.ok) accepted++;
      },
      () => undefined,
    );
  }, 1000 / hz);
  return {
    stop: () => clearInterval(timer),
    close: () => clearInterval(timer),
    get sent() {
      return seq;
    },
    get accepted() {
      return accepted;
    },
  };
}

export function share(gw: Gateway, token: string, run: string, ttlHours = 1) {
  return fetch(`${gw.url}/api/runs/${run}/share`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ttlHours }),
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
