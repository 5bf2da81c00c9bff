import net from 'node:net';
import { seededRandom } from '@/lib/random/seededRandom';

/** How the proxy shapes one direction of every connection. */
export interface LinkShape {
  /** Bytes per second forwarded per connection and direction; Infinity or 0 for no limit. */
  bytesPerSecond?: number;
  /** Added to every chunk's delivery time (ms). */
  latencyMs?: number;
  /** Uniform extra delay in [0, jitterMs) per chunk, seeded; order is kept (ms). */
  jitterMs?: number;
  /**
   * Periodic stalls: nothing is forwarded during the last `forMs` of every `everyMs` (a Wi-Fi
   * roam, a congested uplink), counted from the connection's start. The bytes wait, none are lost.
   */
  stalls?: { everyMs: number; forMs: number };
}

/** Megabits per second as the bytes per second a LinkShape takes. */
export function mbit(megabitsPerSecond: number): number {
  return (megabitsPerSecond * 1e6) / 8;
}

export interface TcpProxyOptions {
  /** Where connections go: the real server, on loopback. */
  target: { host?: string; port: number };
  /** Shaping of server → client bytes (what a slow viewer receives). */
  down?: LinkShape;
  /** Shaping of client → server bytes. */
  up?: LinkShape;
  /** Connections accepted at once; later ones are refused (destroyed) so a test stays bounded. */
  maxConnections?: number;
  /**
   * Bytes the proxy holds per direction before it stops reading from the sender (TCP backpressure
   * then reaches the sender's kernel and user-space buffers, as with a real slow link). Default 1 MiB.
   */
  maxQueuedBytes?: number;
  /** Seed of the jitter. */
  seed?: number;
  /** Port to listen on; default 0 (ephemeral). The e2e slow-link spec needs a port the UI's origin list names. */
  port?: number;
}

interface Chunk {
  data: Buffer;
  /** Earliest delivery, ms epoch (latency + jitter, never before the previous chunk). */
  at: number;
}

/** Smallest piece a throttled pipe writes: 20 ms worth of bytes, so pacing is smooth. */
const PACING_MS = 20;

/** One direction of one connection: queue, pace, write; stops reading when its queue is full. */
class Pipe {
  private readonly queue: Chunk[] = [];
  private queued = 0;
  private nextFreeAt = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingDrain = false;
  private ended = false;
  private flushed: (() => void) | null = null;
  private readonly startedAt = Date.now();
  forwarded = 0;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly shape: () => LinkShape,
    private readonly stalled: () => boolean,
    private readonly random: () => number,
    private readonly maxQueued: number,
  ) {
    from.on('data', (data: Buffer) => {
      const { latencyMs = 0, jitterMs = 0 } = this.shape();
      const at = Math.max(this.lastAt, Date.now() + latencyMs + this.random() * jitterMs);
      this.lastAt = at;
      this.queue.push({ data, at });
      this.queued += data.byteLength;
      if (this.queued >= this.maxQueued) from.pause();
      this.pump();
    });
    // A FIN is forwarded only after the queued bytes, and never while stalled.
    from.on('end', () => {
      this.ended = true;
      this.pump();
    });
  }

  get queuedBytes(): number {
    return this.queued;
  }

  pump(): void {
    if (this.timer || this.waitingDrain || this.to.destroyed) return;
    while (!this.stalled()) {
      const head = this.queue[0];
      if (!head) {
        if (this.ended) this.to.end();
        const flushed = this.flushed;
        this.flushed = null;
        flushed?.();
        return;
      }
      const now = Date.now();
      const rate = this.shape().bytesPerSecond ?? 0;
      const limited = rate > 0 && Number.isFinite(rate);
      let wait = Math.max(head.at, limited ? this.nextFreeAt : 0) - now;
      const stalls = this.shape().stalls;
      if (stalls && stalls.forMs > 0 && stalls.everyMs > stalls.forMs) {
        const phase = (now - this.startedAt) % stalls.everyMs;
        if (phase >= stalls.everyMs - stalls.forMs) wait = Math.max(wait, stalls.everyMs - phase);
      }
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      const piece = limited ? Math.max(1, Math.floor((rate * PACING_MS) / 1000)) : Infinity;
      let out = head.data;
      if (out.byteLength > piece) {
        head.data = out.subarray(piece);
        out = out.subarray(0, piece);
      } else {
        this.queue.shift();
      }
      this.queued -= out.byteLength;
      this.forwarded += out.byteLength;
      if (limited)
        this.nextFreeAt = Math.max(now, this.nextFreeAt) + (out.byteLength / rate) * 1000;
      if (this.queued < this.maxQueued && this.from.isPaused() && !this.stalled())
        this.from.resume();
      if (!this.to.write(out)) {
        this.waitingDrain = true;
        this.to.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
  }

  /** Calls `then` once nothing is queued (now, or after the queue drains). */
  whenFlushed(then: () => void): void {
    if (this.queued === 0 || this.to.destroyed) return then();
    this.flushed = then;
    this.pump();
  }

  /** Stop reading the sender too, so nothing is taken from its kernel buffer while stalled. */
  hold(): void {
    this.from.pause();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  release(): void {
    if (this.queued < this.maxQueued) this.from.resume();
    this.pump();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** One proxied connection: the client's socket, the upstream socket and a pipe each way. */
export interface ProxiedConnection {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes forwarded so far, server → client and client → server. */
  readonly forwarded: { down: number; up: number };
}

/**
 * A TCP proxy for fault tests, on 127.0.0.1: shapes bandwidth, latency and jitter per connection,
 * can stall (stop forwarding both ways without FIN or RST, like a cable pulled out or a laptop
 * asleep), resume, or reset connections abruptly. Bounded: at most `maxConnections`, and at most
 * `maxQueuedBytes` held per direction, beyond which the sender is back-pressured.
 */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly live = new Map<
    net.Socket,
    { up: net.Socket; down: Pipe; upPipe: Pipe; stalled: boolean }
  >();
  private down: LinkShape;
  private up: LinkShape;
  private stalledAll = false;
  private readonly random: () => number;
  /** Connections accepted since start, and refused for being over maxConnections. */
  accepted = 0;
  refused = 0;

  private constructor(private readonly options: TcpProxyOptions) {
    this.down = options.down ?? {};
    this.up = options.up ?? {};
    this.random = seededRandom(options.seed ?? 1);
    this.server = net.createServer((client) => this.onConnection(client));
    this.server.on('error', () => undefined);
  }

  /** Starts a proxy on an ephemeral loopback port. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get connections(): ProxiedConnection[] {
    return [...this.live].map(([client, c]) => ({
      client,
      upstream: c.up,
      forwarded: { down: c.down.forwarded, up: c.upPipe.forwarded },
    }));
  }

  /** Bytes held in the proxy's queues now, all connections and directions. */
  get queuedBytes(): number {
    let sum = 0;
    for (const c of this.live.values()) sum += c.down.queuedBytes + c.upPipe.queuedBytes;
    return sum;
  }

  /** Changes the shaping of live and future connections. */
  shape(shape: { down?: LinkShape; up?: LinkShape }): void {
    if (shape.down) this.down = shape.down;
    if (shape.up) this.up = shape.up;
    for (const c of this.live.values()) {
      c.down.pump();
      c.upPipe.pump();
    }
  }

  /** Stops forwarding on every connection (and on new ones) until resume(): no data, no FIN. */
  stall(): void {
    this.stalledAll = true;
    for (const c of this.live.values()) {
      c.stalled = true;
      c.down.hold();
      c.upPipe.hold();
    }
  }

  resume(): void {
    this.stalledAll = false;
    for (const c of this.live.values()) {
      c.stalled = false;
      c.down.release();
      c.upPipe.release();
    }
  }

  /** Abruptly resets every connection (RST to both sides, no FIN). */
  reset(): void {
    for (const [client, c] of this.live) {
      c.down.close();
      c.upPipe.close();
      client.resetAndDestroy();
      c.up.resetAndDestroy();
    }
    this.live.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: net.Socket): void {
    if (this.live.size >= (this.options.maxConnections ?? 1000)) {
      this.refused++;
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    this.accepted++;
    client.pause();
    const up = net.connect({
      host: this.options.target.host ?? '127.0.0.1',
      port: this.options.target.port,
    });
    up.pause();
    const maxQueued = this.options.maxQueuedBytes ?? 1024 * 1024;
    const state = { stalled: this.stalledAll };
    const stalled = () => state.stalled;
    const entry = Object.assign(state, {
      up,
      down: new Pipe(up, client, () => this.down, stalled, this.random, maxQueued),
      upPipe: new Pipe(client, up, () => this.up, stalled, this.random, maxQueued),
    });
    this.live.set(client, entry);
    up.once('connect', () => {
      if (entry.stalled) return;
      client.resume();
      up.resume();
    });
    const drop = (error?: Error) => {
      if (!this.live.has(client)) return;
      this.live.delete(client);
      entry.down.close();
      entry.upPipe.close();
      // An error on one side becomes a reset on the other, as a real middlebox would do.
      if (error) {
        client.resetAndDestroy();
        up.resetAndDestroy();
      } else {
        // end, not destroy: bytes still in the sockets' write buffers go out before the FIN.
        client.end();
        up.end();
        setTimeout(() => {
          client.destroy();
          up.destroy();
        }, 1000).unref();
      }
    };
    client.on('error', drop);
    up.on('error', drop);
    // A side that closed cleanly still gets what the other sent before, then the FIN.
    client.on('close', () => entry.upPipe.whenFlushed(() => drop()));
    up.on('close', () => entry.down.whenFlushed(() => drop()));
  }
}
