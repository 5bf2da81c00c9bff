/**
 * Child process: one viewer, over Socket.IO to the Loupe gateway (`sio`) or over raw ws to the
 * baseline (`ws`). Records frames, bytes and publish → receive latency inside the measurement
 * window. A stalled viewer is frozen from outside (SIGSTOP/SIGCONT), like a sleeping laptop.
 */
import { WebSocket } from 'ws';
import {
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type FrameHeader,
  type GatewayToViewer,
  type ViewerToGateway,
} from '@/lib/protocol';
import { io, type Socket } from 'socket.io-client';
import type { ChildMessage, ParentMessage, ViewerResult } from './messages';

const [mode, url, idText, stalledText] = process.argv.slice(2);
const id = Number(idText);
const result: ViewerResult = {
  id,
  stalled: stalledText === '1',
  frames: 0,
  bytes: 0,
  latencies: [],
  afterResume: 0,
  oldestAfterResume: 0,
  staleAfterResume: 0,
  disconnected: null,
  first: 0,
  last: 0,
};
let window = { from: Infinity, to: -Infinity };
let resumed = false;
/** A frame older than this on arrival is stale: the scene has moved on. */
const STALE_MS = 1000;
const send = (m: ChildMessage) => process.send?.(m);

function received(sentAt: number, bytes: number): void {
  const now = Date.now();
  if (resumed) {
    result.afterResume++;
    result.oldestAfterResume = Math.max(result.oldestAfterResume, now - sentAt);
    if (now - sentAt > STALE_MS) result.staleAfterResume++;
  }
  if (now < window.from || now > window.to) return;
  if (result.frames === 0) result.first = now;
  result.last = now;
  result.frames++;
  result.bytes += bytes;
  result.latencies.push(now - sentAt);
}

if (mode === 'sio') {
  const socket: Socket<GatewayToViewer, ViewerToGateway> = io(url + VIEWER_NAMESPACE, {
    path: VIEWER_SOCKET_PATH,
    transports: ['websocket'],
    reconnection: false,
    // As a page of the gateway's own origin: an anonymous viewer without an Origin is refused.
    extraHeaders: { origin: new URL(url!).origin },
    auth: { protocolVersion: PROTOCOL_VERSION },
  });
  socket.on('frame', (header: FrameHeader, payload, ack) => {
    // The producer puts its send time in reconstructedAt (and publishedAt; acceptedAt is the gateway's).
    received(header.reconstructedAt, (payload as Uint8Array).byteLength);
    ack();
  });
  socket.on('disconnect', (reason) => (result.disconnected = reason));
  socket.on('connect', async () => {
    const answer = await socket.emitWithAck('run:subscribe', { run: 'bench' });
    if (!answer.ok) throw new Error(answer.error);
    send({ type: 'ready' });
  });
} else {
  const socket = new WebSocket(`${url}/viewer`, {
    perMessageDeflate: false,
    maxPayload: 128 * 1024 * 1024,
  });
  socket.on('message', (data: Buffer) => {
    const length = data.readUInt32LE(0);
    const header = JSON.parse(data.subarray(4, 4 + length).toString()) as { sentAt: number };
    received(header.sentAt, data.byteLength - 4 - length);
  });
  socket.on('close', () => (result.disconnected = 'closed'));
  socket.on('error', (e) => (result.disconnected = e.message));
  socket.on('open', () => send({ type: 'ready' }));
}

// A frozen process notices when it wakes: timers run before the socket data queued meanwhile.
const TICK_MS = 100;
/** A gap this long between ticks means the process was stopped. */
const STOPPED_GAP_MS = 1000;
let lastTick = Date.now();
setInterval(() => {
  const now = Date.now();
  if (now - lastTick > STOPPED_GAP_MS) resumed = true;
  lastTick = now;
}, TICK_MS);

process.on('message', (m: ParentMessage) => {
  if (m.type === 'measure') window = { from: m.from, to: m.to };
  else if (m.type === 'report') {
    send({ type: 'result', result });
    setTimeout(() => process.exit(0), 100);
  }
});
