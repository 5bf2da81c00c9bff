import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server } from 'socket.io';

interface EngineSession {
  id: string;
  close(discard?: boolean): void;
  once(event: 'close', fn: (reason: string) => void): unknown;
  transport: { name: string; socket?: { terminate?: () => void } };
}

/** How long a connection refused for an oversize body may stay open for its answer to be read. */
const LINGER_MS = 2000;

export interface PollingEngine {
  io: Server;
  /** The engine's path, e.g. /socket.io. */
  path: string;
  /** The engine's maxHttpBufferSize, bytes. */
  maxBytes: number;
}

/**
 * An oversize message ends its engine session and its TCP connection, on both transports. engine.io answers
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
      conn.once('close', (reason) => {
        byId.delete(conn.id);
        // An oversize WebSocket message is refused on its frame header (ws closes with 1009), but
        // ws then keeps reading, and discarding, what the client sends for up to 30 s while it
        // waits for a close frame. Cut the connection instead: nothing more of it is read.
        const transport = conn.transport;
        if (reason === 'transport error' && transport.name === 'websocket')
          transport.socket?.terminate?.();
      });
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
        // Read nothing more, and close gently (FIN after the 413, not a reset that could destroy
        // the answer before the client reads it); a client that keeps the connection open is cut
        // off after LINGER_MS.
        const socket = req.socket;
        socket.pause();
        socket.end();
        setTimeout(() => socket.destroy(), LINGER_MS).unref();
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
