import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureResponse {
  status?: number;
  /** Raw body: real-shaped JSON, or garbage (HTML, truncated JSON). */
  body: string;
  contentType?: string;
  /** Answer this late (ms), to provoke timeouts. */
  delayMs?: number;
}

/** A loopback server answering fixed payloads by path; `routes` may be changed between requests. */
export async function startFixtureServer(
  routes: Map<string, FixtureResponse>,
  /** Requests seen per path (fault tests count them: no storm). */
  hits?: Map<string, number>,
) {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits?.set(path, (hits.get(path) ?? 0) + 1);
    const r = routes.get(path);
    const send = () => {
      if (!r) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"detail":"not found"}');
        return;
      }
      res.writeHead(r.status ?? 200, { 'content-type': r.contentType ?? 'application/json' });
      res.end(r.body);
    };
    if (r?.delayMs) setTimeout(send, r.delayMs).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
