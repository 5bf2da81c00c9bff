/**
 * Child process: one viewer behind its own throttling proxy. Args: label, gateway port, Mbit/s,
 * delay towards the viewer (ms), `on` (reports a 1000 × 1000 device-pixel view per plane, mode
 * auto) or `off` (never reports: every frame whole, as before levels of detail).
 */
import { mbit, TcpProxy } from '@/server/testing/TcpProxy';
import {
  PLANES,
  PROTOCOL_VERSION,
  streamKey,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
} from '@/lib/protocol';
import { io } from 'socket.io-client';
import type { LinkChildMessage, LinkParentMessage, LinkResult } from './messages';

const [label = 'viewer', portArg = '0', mbitArg = '5', delayArg = '50', adapt = 'off'] =
  process.argv.slice(2);
const send = (m: LinkChildMessage) => process.connected && process.send?.(m);

const proxy = await TcpProxy.start({
  target: { port: Number(portArg) },
  down: { bytesPerSecond: mbit(Number(mbitArg)), latencyMs: Number(delayArg) },
  up: { bytesPerSecond: mbit(Number(mbitArg)) },
  // The bytes in flight during the delay (else the proxy caps the rate at queue / delay) plus
  // ~100 ms of buffer, as a router holds; the kernels' socket buffers add more.
  maxQueuedBytes: Math.max(
    64 * 1024,
    Math.ceil(mbit(Number(mbitArg)) * (Number(delayArg) / 1000 + 0.1)),
  ),
});

const socket = io(proxy.url + VIEWER_NAMESPACE, {
  path: VIEWER_SOCKET_PATH,
  transports: ['websocket'],
  reconnection: false,
  // A page of the origin it reached (the Host header is the proxy's: the gateway's own origin).
  extraHeaders: { origin: proxy.url },
  auth: { protocolVersion: PROTOCOL_VERSION },
});

interface Arrival {
  at: number;
  plane: number;
  age: number;
  level: number;
}
const arrivals: Arrival[] = [];
let windowStart = { at: 0, wire: 0 };
let window: { from: number; to: number } | null = null;
let wireAtEnd: number | null = null;
let estimate: number | null = null;
let disconnected: string | null = null;
const wire = () => proxy.connections.reduce((sum, c) => sum + c.forwarded.down, 0);

socket.on('frame', (header, _payload, received) => {
  const at = Date.now();
  received();
  const plane = PLANES.indexOf(header.stream as (typeof PLANES)[number]);
  if (plane < 0) return;
  arrivals.push({ at, plane, age: at - header.publishedAt, level: header.lod?.level ?? 0 });
  if (arrivals.length > 10_000) arrivals.shift();
});
socket.on('run:metrics', (m) => (estimate = m.link?.bytesPerSecond ?? estimate));
socket.on('disconnect', (reason) => (disconnected = reason));
socket.on('connect_error', (error) => console.error(`${label}: ${error.message}`));
socket.on('connect', () => {
  // As the browser does: the display first, so even the snapshot comes at the right level.
  if (adapt === 'on')
    socket.emit('view:display', {
      run: 'bench-links',
      mode: 'auto',
      views: PLANES.map((p) => ({ key: streamKey('full', p), width: 1000, height: 1000 })),
    });
  socket.emit('run:subscribe', { run: 'bench-links' }, () => undefined);
  send({ type: 'ready' });
});

process.on('message', (m: LinkParentMessage) => {
  if (m.type === 'measure') {
    window = { from: m.from, to: m.to };
    const startIn = Math.max(0, m.from - Date.now());
    setTimeout(() => (windowStart = { at: Date.now(), wire: wire() }), startIn);
    setTimeout(() => (wireAtEnd = wire()), Math.max(0, m.to - Date.now()));
    return;
  }
  const w = window ?? { from: 0, to: Date.now() };
  const inWindow = arrivals.filter((a) => a.at >= w.from && a.at <= w.to);
  const seconds = (w.to - w.from) / 1000;
  const byLevel: [number, number, number, number] = [0, 0, 0, 0];
  for (const a of inWindow) byLevel[a.level] = (byLevel[a.level] ?? 0) + 1;
  const result: LinkResult = {
    label,
    perPlaneHz: [0, 1, 2].map((p) => inWindow.filter((a) => a.plane === p).length / seconds) as [
      number,
      number,
      number,
    ],
    ages: inWindow.map((a) => a.age).sort((a, b) => a - b),
    wireBytes: (wireAtEnd ?? wire()) - windowStart.wire,
    byLevel,
    estimateBytesPerSecond: estimate,
    disconnected,
  };
  send({ type: 'result', result });
  socket.disconnect();
  void proxy.close().then(() => process.exit(0));
});
