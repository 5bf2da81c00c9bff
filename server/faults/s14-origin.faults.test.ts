import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
} from '@/lib/protocol';
import type { Gateway } from '../gateway';
import { startTestGateway, TOKENS } from '../testing/testGateway';
import { pollingHandshake, socketIoAttempt, websocketHandshake } from './handshakes';

/**
 * Scenario 14, Origin check (cross-site WebSocket hijacking) on the browsers' engine: a foreign,
 * `null` or near-miss Origin is refused at the engine's handshake on both transports; no Origin is
 * refused unless the client presents a token (browsers always send Origin or Sec-Fetch-Site);
 * allowed origins match exactly. Producers are not Origin-dependent: their token decides.
 */
const UI = 'http://127.0.0.1:3000';
const BAD_ORIGINS = [
  'https://evil.example',
  'null',
  `${UI}/`,
  'http://127.0.0.1:3000.evil.example',
  'http://127.0.0.1:30000',
  'HTTP://127.0.0.1:3000',
  'https://127.0.0.1:3000',
  'http://user@127.0.0.1:3000',
  'http://localhost:3000',
];
const ATTEMPTS = 10;

describe('s14: Origin check on the viewer engine', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ allowedOrigins: [UI] });
  });
  afterAll(() => gw.close());

  it(`refuses every foreign or near-miss Origin on polling and WebSocket (${BAD_ORIGINS.length} origins × ${ATTEMPTS} × 2)`, async () => {
    const before = gw.guards.refused.origin;
    let refused = 0;
    let total = 0;
    for (const origin of BAD_ORIGINS) {
      for (let i = 0; i < ATTEMPTS; i++) {
        const polling = await pollingHandshake(gw.url, VIEWER_SOCKET_PATH, { origin });
        const ws = await websocketHandshake(gw.url, VIEWER_SOCKET_PATH, { origin });
        total += 2;
        if (polling === 403) refused++;
        if (ws === 400) refused++;
      }
    }
    expect(refused).toBe(total);
    expect(gw.guards.refused.origin - before).toBe(total);
  });

  it('refuses them through socket.io-client too, with a connect_error, on both transports', async () => {
    for (const transport of ['polling', 'websocket'] as const) {
      for (const origin of ['https://evil.example', 'null']) {
        const result = await socketIoAttempt(gw.url, {
          namespace: VIEWER_NAMESPACE,
          path: VIEWER_SOCKET_PATH,
          transport,
          headers: { origin },
          token: TOKENS.staff,
        });
        expect(result, `${transport} ${origin}`).toMatch(/^refused/);
      }
    }
  });

  it('refuses an anonymous handshake with no Origin, and a cross-site one without Origin', async () => {
    for (const transport of ['polling', 'websocket'] as const) {
      const none = await socketIoAttempt(gw.url, {
        namespace: VIEWER_NAMESPACE,
        path: VIEWER_SOCKET_PATH,
        transport,
      });
      expect(none).toBe(
        'refused: no Origin: a browser page of this Loupe, or a bearer token, is required',
      );
      const crossSite = await socketIoAttempt(gw.url, {
        namespace: VIEWER_NAMESPACE,
        path: VIEWER_SOCKET_PATH,
        transport,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(crossSite).toMatch(/^refused: a cross-site request may not open a viewer/);
    }
  });

  it('admits the allowed origin exactly, the gateway’s own origin, same-origin polling, and token clients', async () => {
    const ok = (headers: Record<string, string> | undefined, token?: string) =>
      Promise.all(
        (['polling', 'websocket'] as const).map((transport) =>
          socketIoAttempt(gw.url, {
            namespace: VIEWER_NAMESPACE,
            path: VIEWER_SOCKET_PATH,
            transport,
            ...(headers && { headers }),
            ...(token && { token }),
          }),
        ),
      );
    expect(await ok({ origin: UI })).toEqual(['connected', 'connected']);
    expect(await ok({ origin: new URL(gw.url).origin })).toEqual(['connected', 'connected']);
    // A same-origin XHR GET carries no Origin, but the browser says where it comes from.
    expect(await ok({ 'sec-fetch-site': 'same-origin' })).toEqual(['connected', 'connected']);
    // Scripts and benches: no Origin, a bearer token.
    expect(await ok(undefined, TOKENS.viewer)).toEqual(['connected', 'connected']);
  });

  it('producers are not Origin-dependent: a valid token connects whatever the Origin, none without', async () => {
    for (const transport of ['polling', 'websocket'] as const) {
      const attempt = (token?: string) =>
        socketIoAttempt(gw.url, {
          namespace: PRODUCER_NAMESPACE,
          path: PRODUCER_SOCKET_PATH,
          transport,
          headers: { origin: 'https://evil.example' },
          ...(token && { token }),
        });
      expect(await attempt(TOKENS.producer)).toBe('connected');
      // Refused at the engine handshake, before any session: the transport reports the error.
      expect(await attempt()).toMatch(/^refused: /);
    }
  });

  it('REST: a state change from a foreign Origin is refused; X-Forwarded-Host from a client that is not a trusted proxy is ignored', async () => {
    // No trusted proxy: the header used to make any Origin "same-origin" (finding 8).
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.url}/api/runs/run-1/commands`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKENS.staff}`,
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
          ...headers,
        },
        body: JSON.stringify({ kind: 'pause' }),
      });
    const forged = await post({
      origin: 'http://evil.example',
      'x-forwarded-host': 'evil.example',
    });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({
      error: 'origin http://evil.example is not allowed: it may not change anything here',
    });
    for (const transport of ['polling', 'websocket'] as const) {
      const viewer = await socketIoAttempt(gw.url, {
        namespace: VIEWER_NAMESPACE,
        path: VIEWER_SOCKET_PATH,
        transport,
        headers: { origin: 'http://evil.example', 'x-forwarded-host': 'evil.example' },
        token: TOKENS.staff,
      });
      expect(viewer).toMatch(/^refused/);
    }
  });
});
