import type { Socket } from 'socket.io';
import { ConnectAuth } from '@/lib/protocol';
import type { Identity, TokenVerifier } from './Identity';

/** Why a session's rights ended. */
export interface SessionEnd {
  code: 'session-expired' | 'session-revoked';
  message: string;
  /** When the credential expired (epoch ms), or 0 for a revocation. */
  expiresAt: number;
  /** When the gateway noticed (epoch ms). */
  at: number;
}

export interface SessionGuardOptions {
  verifier: TokenVerifier;
  /** How often every session's token is verified again (ms); revocation takes effect within it. */
  recheckMs: number;
  /** Called once per ended session; ends it (notice, then disconnect). */
  onEnd: (socket: Socket, end: SessionEnd) => void;
  now?: () => number;
}

/** Longest delay setTimeout takes (ms, 2³¹ − 1); a later expiry is caught by the periodic sweep. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps a socket's rights tied to its credential for as long as it stays connected, not only at
 * the handshake: each session ends at its token's expiry (a timer of its own), and every
 * `recheckMs` all tokens are verified again, so a revoked share link or a removed user loses its
 * sessions within one interval. Steering calls `check` before acting, so a command never runs on
 * a credential that stopped being valid.
 */
export class SessionGuard {
  private readonly sessions = new Map<
    string,
    { socket: Socket; token: string | undefined; timer: NodeJS.Timeout | null }
  >();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly ended = new WeakSet<Socket>();

  constructor(private readonly o: SessionGuardOptions) {
    this.now = o.now ?? Date.now;
    this.sweepTimer = setInterval(() => void this.sweep(), o.recheckMs);
    this.sweepTimer.unref();
  }

  /** Starts guarding an authenticated socket (its identity is on `socket.data.identity`). */
  track(socket: Socket): void {
    const identity = socket.data.identity as Identity;
    const auth = ConnectAuth.safeParse(socket.handshake.auth);
    const token = auth.success ? auth.data.token : undefined;
    let timer: NodeJS.Timeout | null = null;
    if (identity.expiresAt !== undefined) {
      const delay = identity.expiresAt - this.now();
      if (delay <= 0) return this.end(socket, this.expired(identity));
      if (delay < MAX_TIMER_MS) {
        timer = setTimeout(() => this.end(socket, this.expired(identity)), delay);
        timer.unref();
      }
    }
    this.sessions.set(socket.id, { socket, token, timer });
    socket.once('disconnect', () => this.untrack(socket.id));
  }

  /**
   * Verifies the socket's credential again now; returns why its session ended, or null while it
   * is valid. Ends the session too, unless `deferEnd` (the caller answers first, then calls
   * `end`). Anonymous sessions have no credential to lose.
   */
  async check(socket: Socket, deferEnd = false): Promise<SessionEnd | null> {
    const session = this.sessions.get(socket.id);
    const identity = socket.data.identity as Identity;
    if (this.ended.has(socket)) return this.expiredOrRevoked(identity);
    if (!session?.token) return null;
    let end: SessionEnd | null = null;
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.now()) {
      end = this.expired(identity);
    } else {
      const fresh = await this.o.verifier.verify(session.token);
      if (fresh && fresh.subject === identity.subject && fresh.role === identity.role) return null;
      end = this.expiredOrRevoked(identity);
    }
    if (!deferEnd) this.end(socket, end);
    return end;
  }

  /** Verifies every session's credential again (the timer calls it; so does a revocation). */
  async sweep(): Promise<void> {
    await Promise.all([...this.sessions.values()].map(({ socket }) => this.check(socket)));
  }

  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    for (const id of [...this.sessions.keys()]) this.untrack(id);
  }

  private expired(identity: Identity): SessionEnd {
    return {
      code: 'session-expired',
      message: `your credential expired at ${new Date(identity.expiresAt ?? 0).toISOString()}: sign in again or ask for a new link`,
      expiresAt: identity.expiresAt ?? 0,
      at: this.now(),
    };
  }

  private expiredOrRevoked(identity: Identity): SessionEnd {
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.now())
      return this.expired(identity);
    return {
      code: 'session-revoked',
      message: 'your credential was revoked or is no longer valid: sign in again',
      expiresAt: 0,
      at: this.now(),
    };
  }

  /** Ends a session (once): the notice and the disconnect are `onEnd`'s. */
  end(socket: Socket, end: SessionEnd): void {
    if (this.ended.has(socket)) return;
    this.ended.add(socket);
    this.untrack(socket.id);
    this.o.onEnd(socket, end);
  }

  private untrack(id: string): void {
    const session = this.sessions.get(id);
    if (session?.timer) clearTimeout(session.timer);
    this.sessions.delete(id);
  }
}
