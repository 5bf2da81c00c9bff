import { GatewayRestarting } from '@/lib/protocol';

/** What a client shows while its link to the gateway is down. */
export interface ReconnectState {
  /** `waiting`: the next attempt is at `retryAt`; `stopped`: no attempt will be made by itself. */
  phase: 'connected' | 'waiting' | 'connecting' | 'stopped';
  /** Epoch ms of the next attempt while `waiting`, else null. */
  retryAt: number | null;
  /** The gateway announced a restart (`gateway:restarting`) and has not been reached since. */
  restarting: boolean;
  /** Failed attempts since the link was last up. */
  attempts: number;
  /** Why the link is down: the disconnect reason, the last error or the gateway's notice. */
  reason: string | null;
}

export interface ReconnectOptions {
  /** First backoff delay, ms; doubles per failed attempt up to `maxDelayMs`; jittered ±50 %. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** A connect error that retrying cannot fix (bad token, protocol version): stop instead. */
  isPermanent?: (error: Error) => boolean;
  /**
   * Retry also after the server disconnected this client without a restart notice (an older
   * gateway's shutdown). Producers do; a browser does not, since the gateway drops a viewer on
   * purpose only when it stopped taking frames.
   */
  retryServerDisconnect?: boolean;
  onChange?: (state: ReconnectState) => void;
  random?: () => number;
  now?: () => number;
}

/**
 * The part of a socket.io-client Socket the scheduler drives. The socket must be created with
 * `reconnection: false`: the scheduler owns every retry, so it can say when the next one is.
 */
export interface ReconnectableSocket {
  readonly connected: boolean;
  connect(): unknown;
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'disconnect', listener: (reason: string) => void): unknown;
  on(event: 'connect_error', listener: (error: Error) => void): unknown;
  on(event: 'gateway:restarting', listener: (notice: GatewayRestarting) => void): unknown;
}

/**
 * Reconnects a Socket.IO client to the gateway with jittered exponential backoff, and treats the
 * gateway's `gateway:restarting` notice as "come back after about `retryAfterMs`", not as a final
 * disconnect. Socket.IO itself never retries a disconnect the server asked for, so without this a
 * gateway restart would leave every browser offline until reloaded.
 *
 * Stops (phase `stopped`) only when told to, when the client disconnected itself, when the server
 * disconnected it without announcing a restart (e.g. a stalled viewer), or on a permanent error.
 * The jitter spreads a whole audience's reconnects over the window instead of one burst.
 */
export class ReconnectScheduler {
  private readonly o: Required<Omit<ReconnectOptions, 'onChange'>> &
    Pick<ReconnectOptions, 'onChange'>;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private restartDelayMs: number | null = null;
  /** The announced retry-after while a restart is under way: the backoff does not grow past it. */
  private restartRetryMs: number | null = null;
  private stopped = false;
  private state: ReconnectState;

  constructor(
    private readonly socket: ReconnectableSocket,
    options: ReconnectOptions = {},
  ) {
    this.o = {
      firstDelayMs: 500,
      maxDelayMs: 5000,
      isPermanent: () => false,
      retryServerDisconnect: false,
      random: Math.random,
      now: Date.now,
      ...options,
    };
    this.state = {
      phase: socket.connected ? 'connected' : 'connecting',
      retryAt: null,
      restarting: false,
      attempts: 0,
      reason: null,
    };
    socket.on('connect', () => {
      this.restartDelayMs = null;
      this.restartRetryMs = null;
      this.clearTimer();
      this.set({ phase: 'connected', retryAt: null, restarting: false, attempts: 0, reason: null });
    });
    socket.on('gateway:restarting', (notice) => {
      const parsed = GatewayRestarting.safeParse(notice);
      if (!parsed.success) return;
      this.restartDelayMs = this.jitter(parsed.data.retryAfterMs);
      this.restartRetryMs = Math.max(parsed.data.retryAfterMs, this.o.firstDelayMs);
      this.set({ restarting: true, reason: parsed.data.reason });
    });
    socket.on('disconnect', (reason) => {
      if (this.stopped || reason === 'io client disconnect') return this.halt(reason);
      // A server that drops us on purpose without a restart notice means it (stall, superseded).
      if (
        reason === 'io server disconnect' &&
        this.restartDelayMs === null &&
        !this.o.retryServerDisconnect
      )
        return this.halt(reason);
      const delay = this.restartDelayMs ?? this.backoff();
      this.restartDelayMs = null;
      this.schedule(delay, reason);
    });
    socket.on('connect_error', (error) => {
      if (this.stopped) return;
      if (this.o.isPermanent(error)) return this.halt(error.message);
      this.schedule(this.backoff(), error.message);
    });
  }

  get current(): Readonly<ReconnectState> {
    return this.state;
  }

  /** No more attempts (the client is closing, or gave up for good). */
  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.set({ phase: 'stopped', retryAt: null });
  }

  /** Attempts now (a user's "reconnect" click, the browser coming back online). */
  retryNow(): void {
    this.stopped = false;
    this.clearTimer();
    if (this.socket.connected) return;
    this.set({ phase: 'connecting', retryAt: null });
    this.socket.connect();
  }

  private schedule(delayMs: number, reason: string): void {
    this.clearTimer();
    this.set({ phase: 'waiting', retryAt: this.o.now() + delayMs, reason });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || this.socket.connected) return;
      this.set({ phase: 'connecting', retryAt: null });
      this.socket.connect();
    }, delayMs);
  }

  private halt(reason: string): void {
    this.clearTimer();
    this.set({ phase: 'stopped', retryAt: null, reason });
  }

  private backoff(): number {
    const { firstDelayMs, maxDelayMs } = this.o;
    // A gateway that announced its restart is expected back soon: keep trying at about the
    // cadence it asked for instead of backing off to the cap (jittered all the same).
    const cap =
      this.restartRetryMs === null ? maxDelayMs : Math.min(maxDelayMs, this.restartRetryMs);
    const base = Math.min(cap, firstDelayMs * 2 ** this.state.attempts);
    this.state = { ...this.state, attempts: this.state.attempts + 1 };
    return this.jitter(base);
  }

  /** Uniform in [0.5, 1.5) × ms. */
  private jitter(ms: number): number {
    return Math.round(ms * (0.5 + this.o.random()));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private set(patch: Partial<ReconnectState>): void {
    this.state = { ...this.state, ...patch };
    this.o.onChange?.(this.state);
  }
}
