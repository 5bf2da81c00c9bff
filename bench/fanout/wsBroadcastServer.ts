/**
 * Child process: the baseline — a minimal raw `ws` broadcast server. The producer's messages are
 * sent as-is to every viewer; the only guard is the usual one of such servers, skipping a viewer
 * whose send buffer is over a limit, without which a stalled viewer grows it without bound.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { ChildMessage } from './messages';

const RSS_EVERY_MS = 500;
/** Send-buffer limit per viewer: four 1024² uint16 frames. */
const MAX_BUFFERED = 8 * 1024 * 1024;
const send = (m: ChildMessage) => process.connected && process.send?.(m);

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: false,
  maxPayload: 128 * 1024 * 1024,
});
const viewers = new Set<WebSocket>();
server.on('error', (error) => console.error('ws baseline:', error));
server.on('connection', (socket, request) => {
  socket.on('error', () => socket.terminate());
  if (request.url === '/viewer') {
    viewers.add(socket);
    socket.on('close', () => viewers.delete(socket));
    return;
  }
  socket.on('message', (data: Buffer) => {
    for (const v of viewers) if (v.bufferedAmount < MAX_BUFFERED) v.send(data, { binary: true });
  });
});
server.on('listening', () => {
  const address = server.address();
  send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});
setInterval(() => send({ type: 'rss', rss: process.memoryUsage().rss }), RSS_EVERY_MS).unref();
process.on('disconnect', () => server.close(() => process.exit(0)));
