import { request as httpRequest } from 'node:http';
import { expect, test } from '@playwright/test';
import WebSocket from 'ws';
import { signInAs } from './auth';

const UI_PORT = Number(process.env.LOUPE_E2E_PORT ?? 3210);
const UI = `http://127.0.0.1:${UI_PORT}`;
const EVIL = { host: `evil.example:${UI_PORT}`, origin: `http://evil.example:${UI_PORT}` };

/** A raw request to the UI server with exactly these headers (a browser cannot forge Host). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${UI}${path}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket upgrade of the viewers' engine through the UI: `open`, a status, or `timeout`. */
function upgrade(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${UI_PORT}/socket.io/?EIO=4&transport=websocket`, {
      headers,
    });
    const timer = setTimeout(() => {
      resolve('timeout');
      ws.terminate();
    }, 5000);
    ws.on('open', () => {
      clearTimeout(timer);
      resolve('open');
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(`status ${res.statusCode}`);
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      resolve(`error ${error.message}`);
    });
  });
}

test('DNS rebinding through the UI: pages, the sign-in list and the sockets refuse another Host', async () => {
  for (const path of ['/', '/signin', '/runs/demo', '/api/dev/users', '/api/runs']) {
    const answer = await raw('GET', path, EVIL);
    expect(answer.status, path).toBe(403);
    expect(answer.body).toContain('host evil.example');
    expect(answer.body).not.toMatch(/"token"/);
  }
  // The viewers' engine through the UI's rewrite: the gateway refuses the upgrade (X-Forwarded-Host
  // names evil.example); Next relays no answer for a refused upgrade, so the client never opens.
  expect(await upgrade(EVIL)).not.toBe('open');
  expect(
    await upgrade({ host: `127.0.0.1:${UI_PORT}`, origin: `http://127.0.0.1:${UI_PORT}` }),
  ).toBe('open');
  // The same requests naming this machine are served.
  const users = await raw('GET', '/api/dev/users', { host: `127.0.0.1:${UI_PORT}` });
  expect(users.status).toBe(200);
  expect(users.body).toMatch(/"token"/);
  expect((await raw('GET', '/', { host: `localhost:${UI_PORT}` })).status).toBe(200);
});

test('the UI passes the gateway’s refusals through: 413 for a large body, 400 for deep JSON', async ({
  page,
}) => {
  await signInAs(page, 'sam');
  const statuses = await page.evaluate(async () => {
    const post = async (body: string) =>
      (
        await fetch('/api/runs/demo/commands', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${localStorage.getItem('loupe.token')}`,
            'content-type': 'application/json',
            'idempotency-key': crypto.randomUUID(),
          },
          body,
        })
      ).status;
    return {
      large: await post(JSON.stringify({ kind: 'pause', pad: 'x'.repeat(1_000_000) })),
      deep: await post('['.repeat(30_000) + ']'.repeat(30_000)),
    };
  });
  expect(statuses).toEqual({ large: 413, deep: 400 });
});
