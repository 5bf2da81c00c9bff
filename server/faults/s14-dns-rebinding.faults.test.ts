import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connect } from 'node:net';
import {
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
} from '@/lib/protocol';
import type { Gateway } from '../gateway';
import { startTestGateway, TOKENS } from '../testing/testGateway';
import { pollingHandshake, socketIoAttempt, websocketHandshake } from './handshakes';

/** A raw HTTP request with exactly these headers (fetch will not send a foreign Host). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 talks to a loopback
 * Loupe as its own origin — `Host: evil.example`, `Origin: http://evil.example` — so the Origin
 * check alone lets it through. The Host allow-list refuses it everywhere: REST (the dev sign-in's
 * tokens above all), both Socket.IO engines on both transports, and behind the UI's proxy.
 */
describe('s14: DNS rebinding (Host + matching Origin)', () => {
  let gw: Gateway;
  let evil: { host: string; origin: string };
  beforeAll(async () => {
    gw = await startTestGateway({ devSignIn: true, trustedProxies: ['loopback'] });
    evil = { host: `evil.example:${gw.port}`, origin: `http://evil.example:${gw.port}` };
  });
  afterAll(() => gw.close());

  it('REST: the dev users, runs, health and a command are all refused, and no token leaves', async () => {
    const before = gw.guards.refused.host;
    const asked = [
      await raw(gw.url, 'GET', '/api/dev/users', evil),
      await raw(gw.url, 'GET', '/api/runs', { ...evil, authorization: `Bearer ${TOKENS.staff}` }),
      await raw(gw.url, 'GET', '/api/health/ready', evil),
      await raw(
        gw.url,
        'POST',
        '/api/runs/run-1/commands',
        {
          ...evil,
          authorization: `Bearer ${TOKENS.staff}`,
          'content-type': 'application/json',
          'idempotency-key': 'rebound-1',
        },
        JSON.stringify({ kind: 'pause' }),
      ),
    ];
    for (const answer of asked) {
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('host evil.example');
      for (const token of Object.values(TOKENS)) expect(answer.body).not.toContain(token);
    }
    expect(gw.guards.refused.host - before).toBe(asked.length);
    expect(await gw.commands.list('run-1')).toHaveLength(0);
    // The same request with the right Host gets the list: the refusal is the Host, nothing else.
    const fine = await raw(gw.url, 'GET', '/api/dev/users', { host: `127.0.0.1:${gw.port}` });
    expect(fine.status).toBe(200);
    expect(fine.body).toContain(TOKENS.staff);
  });

  it('both engines, both transports: refused at the handshake, even with a valid token', async () => {
    const before = gw.guards.refused.host;
    for (const path of [VIEWER_SOCKET_PATH, PRODUCER_SOCKET_PATH]) {
      expect(await pollingHandshake(gw.url, path, evil)).toBe(403);
      expect(await websocketHandshake(gw.url, path, evil)).toBe(400);
    }
    // socket.io-client can set Host only on its WebSocket transport (XHR forbids the header).
    for (const transport of ['websocket'] as const) {
      expect(
        await socketIoAttempt(gw.url, {
          namespace: VIEWER_NAMESPACE,
          path: VIEWER_SOCKET_PATH,
          transport,
          headers: evil,
          token: TOKENS.staff,
        }),
      ).toMatch(/^refused/);
      expect(
        await socketIoAttempt(gw.url, {
          namespace: PRODUCER_NAMESPACE,
          path: PRODUCER_SOCKET_PATH,
          transport,
          headers: evil,
          token: TOKENS.producer,
        }),
      ).toMatch(/^refused/);
    }
    expect(gw.guards.refused.host - before).toBe(6);
  });

  it('behind the UI proxy: the browser’s Host arrives as X-Forwarded-Host from a trusted proxy, and is checked', async () => {
    // What Next's rewrite sends: Host = the gateway (changeOrigin), X-Forwarded-Host = the browser's.
    const proxied = { host: `127.0.0.1:${gw.port}`, 'x-forwarded-host': 'evil.example:3000' };
    const users = await raw(gw.url, 'GET', '/api/dev/users', {
      ...proxied,
      origin: 'http://evil.example:3000',
    });
    expect(users.status).toBe(403);
    expect(users.body).not.toContain(TOKENS.staff);
    expect(await pollingHandshake(gw.url, VIEWER_SOCKET_PATH, proxied)).toBe(403);
    expect(await websocketHandshake(gw.url, VIEWER_SOCKET_PATH, proxied)).toBe(400);
    // A browser on localhost:3000 through the same proxy is served.
    const ok = await raw(gw.url, 'GET', '/api/dev/users', {
      host: `127.0.0.1:${gw.port}`,
      'x-forwarded-host': 'localhost:3000',
    });
    expect(ok.status).toBe(200);
  });

  it('a missing Host is refused too', async () => {
    // HTTP/1.0 without Host: Node accepts it, the gateway must not.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('GET /api/dev/users HTTP/1.0\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.[01] 403/);
    expect(answer).not.toContain(TOKENS.staff);
  });
});

describe('dev sign-in and X-Forwarded-For: believed only from configured proxies', () => {
  it('a forwarded client address from a trusted proxy counts; from anyone else it is ignored', async () => {
    const trusted = await startTestGateway({ devSignIn: true, trustedProxies: ['loopback'] });
    const untrusted = await startTestGateway({ devSignIn: true, trustedProxies: [] });
    try {
      const ask = (gw: Gateway) =>
        raw(gw.url, 'GET', '/api/dev/users', {
          host: `127.0.0.1:${gw.port}`,
          'x-forwarded-for': '198.51.100.7',
        });
      // The proxy says the client is another machine: no tokens for it.
      const viaProxy = await ask(trusted);
      expect(viaProxy.status).toBe(403);
      expect(viaProxy.body).toContain('this machine only');
      // Nobody vouches for the header: the real peer (loopback) is what counts.
      expect((await ask(untrusted)).status).toBe(200);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });

  it('the gateway will not serve dev sign-in while listening beyond loopback', async () => {
    await expect(startTestGateway({ devSignIn: true, host: '0.0.0.0' })).rejects.toThrow(
      /refusing to enable it on 0\.0\.0\.0/,
    );
  });
});
