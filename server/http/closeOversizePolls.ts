import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server } from 'socket.io';

interface EngineSession {
  id: string;
  close(discard?: boolean): void;
  once(event: 'close', fn: () => void): unknown;
}

export interface PollingEngine {
  io: Server;
  /** The engine's path, e.g. /socket.io. */
  path: string;
  /** The engine's maxHttpBufferSize, bytes. */
  maxBytes: number;
}

/**
 * An oversize long-polling POST ends its engine session and its TCP connection. engine.io answers
 * such a POST 413 but keeps the session open and lets the rest of the body stream in; a client over
 * the limit has broken the protocol, so nothing more of it is read. A POST that declares its length
 * up front is refused before any of its body is read.
 *
 * Call after every Socket.IO server is attached: it wraps the HTTP server's request listeners (as
 * engine.io itself does) so it sees each POST before the engines do.
 */
export function closeOversizePolls(http: HttpServer, engines: PollingEngine[]): void {
  const sessions = engines.map(({ io }) => {
    const byId = new Map<string, EngineSession>();
    io.engine.on('connection', (conn: EngineSession) => {
      byId.set(conn.id, conn);
      conn.once('close', () => byId.delete(conn.id));
    });
    return byId;
  });
  const listeners = http.listeners('request') as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  http.removeAllListeners('request');
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const index =
      req.method === 'POST' ? engines.findIndex((e) => req.url?.startsWith(`${e.path}/`)) : -1;
    const engine = engines[index];
    if (engine) {
      const sid = new URL(req.url ?? '/', 'http://gateway.invalid').searchParams.get('sid');
      const session = sid ? sessions[index]?.get(sid) : undefined;
      const end = () => {
        session?.close(true);
        req.socket.destroy();
      };
      if (Number(req.headers['content-length']) > engine.maxBytes) {
        res.writeHead(413, { connection: 'close' }).end();
        res.once('finish', end);
        return;
      }
      res.once('finish', () => {
        if (res.statusCode === 413) end();
      });
    }
    for (const listener of listeners) listener.call(http, req, res);
  });
}
