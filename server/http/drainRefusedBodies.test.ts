import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway';
import { startTestGateway, TOKENS } from '../testing/testGateway';

interface HttpxyProxy {
  on(event: 'error', listener: (error: Error) => void): void;
  web(req: IncomingMessage, res: ServerResponse, options: object): Promise<void>;
}

/**
 * The UI's /api forwarding as Next 16 does it (next/dist/server/lib/router-utils/proxy-request.js):
 * its own copy of httpxy, changeOrigin, X-Forwarded-Host, and 500 on any proxy error.
 */
function nextLikeProxy(target: string): Server {
  const require = createRequire(import.meta.url);
  const { ProxyServer } = require('next/dist/compiled/httpxy') as {
    ProxyServer: new (options: object) => HttpxyProxy;
  };
  return createServer((req, res) => {
    const proxy = new ProxyServer({
      target: new URL(target + (req.url ?? '/')),
      changeOrigin: true,
      ignorePath: true,
      proxyTimeout: 30_000,
      headers: { 'x-forwarded-host': req.headers.host ?? '' },
    });
    const fail = () => {
      if (!res.headersSent) res.statusCode = 500;
      res.end('Internal Server Error');
    };
    proxy.on('error', fail);
    proxy.web(req, res, {}).catch(fail);
  });
}

describe('refused bodies through the UI proxy', () => {
  let gw: Gateway;
  let proxy: Server;
  let ui: string;
  beforeAll(async () => {
    gw = await startTestGateway({ trustedProxies: ['loopback'] });
    proxy = nextLikeProxy(gw.url);
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const address = proxy.address();
    ui = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    proxy.close();
    await gw.close();
  });
  /** One POST per connection (agent: false), as browsers through the UI send them. */
  const post = (body: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; json: () => unknown }>((resolve, reject) => {
      const req = request(
        `${ui}/api/runs/run-1/commands`,
        {
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${TOKENS.staff}`,
            'content-type': 'application/json',
            'idempotency-key': crypto.randomUUID(),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(text) as unknown }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('passes the gateway’s 413 through for bodies of 200 KB to 8 MB (it was 500)', async () => {
    for (const size of [200_000, 1_000_000, 8_000_000]) {
      const res = await post(JSON.stringify({ kind: 'pause', pad: 'x'.repeat(size) }));
      expect(res.status, `${size} B`).toBe(413);
      expect((res.json() as { code: string }).code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
    }
  });

  it('passes other refusals through too: 400 (deep JSON), 415, 401, and a route’s own status', async () => {
    // 60 KB: under the 64 KiB limit, so the depth check answers.
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    expect((await post(deep)).status).toBe(400);
    expect((await post('x'.repeat(60_000), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('x'.repeat(60_000), { 'content-type': 'text/csv' })).status).toBe(415);
    expect((await post('x'.repeat(300_000), { authorization: 'Bearer nope' })).status).toBe(401);
    // A route's own answer (no consumer has registered run-1) comes through as it is.
    expect((await post(JSON.stringify({ kind: 'pause' }))).status).toBe(404);
  });
});
