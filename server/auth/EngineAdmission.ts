import type { IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';

/** Decides whether an engine.io handshake may open a session (engine.io's `allowRequest`). */
export type AllowRequest = (
  req: IncomingMessage,
  callback: (error: string | null | undefined, success: boolean) => void,
) => void;

export interface EngineAdmissionOptions {
  /**
   * Engine sessions per client address that have not (yet) joined a namespace, i.e. have not
   * passed the namespace's authentication. Beyond it new handshakes from that address are refused.
   */
  maxPendingPerAddress: number;
  /** Checked before anything else (Origin, draining); a string is the refusal. */
  precheck?: (req: IncomingMessage) => string | null;
  /**
   * Authenticates the handshake itself, from its headers, before an engine session exists; resolves
   * to a refusal or null. Only an engine whose clients can send headers (producers) uses it.
   */
  authenticate?: (req: IncomingMessage) => Promise<string | null>;
}

/**
 * Admission to one Socket.IO engine: bounds what a client that has not authenticated can cost.
 * Before authentication a client holds at most an engine session whose messages are capped by the
 * engine's `maxHttpBufferSize` and which socket.io closes after `connectTimeout`; this caps how many
 * such sessions one address may hold, and, where the engine authenticates at the handshake, gives
 * an unauthenticated client no session at all (so no large message of theirs is ever read).
 */
export class EngineAdmission {
  private readonly pending = new Map<string, number>();
  private readonly checking = new Map<string, number>();
  /** Each counted session's address, taken at the handshake (a closed socket forgets its own). */
  private readonly counted = new WeakMap<object, string>();
  /** Handshakes refused since start, by reason (for tests and metrics). */
  readonly refused = new Map<string, number>();

  constructor(private readonly o: EngineAdmissionOptions) {}

  readonly allowRequest: AllowRequest = (req, callback) => {
    const refuse = (reason: string) => {
      this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
      callback(reason, false);
      // engine.io answered with an error status; the body (a POST can carry one) is never read.
      if (!req.headers.upgrade) req.socket.end();
    };
    const early = this.o.precheck?.(req);
    if (early) return refuse(early);
    const address = addressOf(req);
    const cap = this.o.maxPendingPerAddress;
    if (!this.o.authenticate) {
      if ((this.pending.get(address) ?? 0) >= cap)
        return refuse('too many unauthenticated connections from this address');
      return callback(null, true);
    }
    // Authenticated at the handshake: no session exists before the token checks out, so what is
    // capped is the handshakes still being checked (an OIDC verification may take a while).
    const checking = this.checking.get(address) ?? 0;
    if (checking >= cap) return refuse('too many unauthenticated connections from this address');
    this.checking.set(address, checking + 1);
    const done = () => {
      const left = (this.checking.get(address) ?? 1) - 1;
      if (left > 0) this.checking.set(address, left);
      else this.checking.delete(address);
    };
    this.o.authenticate(req).then(
      (refusal) => {
        done();
        if (refusal) refuse(refusal);
        else callback(null, true);
      },
      () => {
        done();
        refuse('authentication failed');
      },
    );
  };

  /** Counts the engine's sessions as pending until their socket joins a namespace. */
  track(io: Server, namespaces: { on(event: 'connection', fn: (s: SocketLike) => void): void }[]) {
    io.engine.on('connection', (conn: EngineConn) => {
      const address = addressOf(conn.request);
      this.counted.set(conn, address);
      this.pending.set(address, (this.pending.get(address) ?? 0) + 1);
      conn.once('close', () => this.release(conn));
    });
    for (const ns of namespaces) ns.on('connection', (socket) => this.release(socket.conn));
  }

  /** Unauthenticated sessions per address right now. */
  pendingFrom(address: string): number {
    return this.pending.get(address) ?? 0;
  }

  private release(conn: EngineConn): void {
    const address = this.counted.get(conn);
    if (address === undefined) return;
    this.counted.delete(conn);
    const left = (this.pending.get(address) ?? 1) - 1;
    if (left > 0) this.pending.set(address, left);
    else this.pending.delete(address);
  }
}

interface EngineConn {
  request: IncomingMessage;
  once(event: 'close', fn: () => void): unknown;
}
interface SocketLike {
  conn: EngineConn;
}

function addressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** The bearer token of a producer's handshake: `Authorization: Bearer …`, else `?token=`. */
export function handshakeToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S{1,4096})$/i.exec(header);
    return match?.[1] ?? null;
  }
  const query = new URL(req.url ?? '/', 'http://gateway.invalid').searchParams.get('token');
  return query && query.length <= 4096 ? query : null;
}
