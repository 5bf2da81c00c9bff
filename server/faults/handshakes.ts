import { request } from 'node:http';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { PRODUCER_SOCKET_PATH, PROTOCOL_VERSION } from '@/lib/protocol';

/** Status of a raw engine.io long-polling handshake (`GET <path>/?EIO=4&transport=polling`). */
export function pollingHandshake(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}/?EIO=4&transport=polling`, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `open` when a raw engine.io WebSocket upgrade succeeds, else the HTTP status it got. */
export function websocketHandshake(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}/?EIO=4&transport=websocket`, {
      headers,
    });
    ws.on('open', () => {
      resolve('open');
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

/**
 * A real socket.io-client connection attempt; `connected`, or `refused: <reason>` from
 * connect_error (a refusal's own message when the namespace refused, else the transport's).
 */
export function socketIoAttempt(
  url: string,
  options: {
    namespace: string;
    path: string;
    transport: 'polling' | 'websocket';
    headers?: Record<string, string>;
    token?: string;
  },
): Promise<string> {
  const socket = io(url + options.namespace, {
    path: options.path,
    transports: [options.transport],
    reconnection: false,
    timeout: 10_000,
    // Producers present their token at the engine handshake, as the SDKs do.
    extraHeaders: {
      ...options.headers,
      ...(options.token &&
        options.path === PRODUCER_SOCKET_PATH && { authorization: `Bearer ${options.token}` }),
    },
    auth: { protocolVersion: PROTOCOL_VERSION, ...(options.token && { token: options.token }) },
  });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      resolve('connected');
      socket.close();
    });
    socket.once('connect_error', (error) => {
      resolve(`refused: ${error.message}`);
      socket.close();
    });
  });
}
