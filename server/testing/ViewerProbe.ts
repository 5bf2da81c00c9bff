import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  type DisconnectNotice,
  type FlowCounters,
  type FrameHeader,
  type GatewayToViewer,
  PROTOCOL_VERSION,
  type RunMetrics,
  slotKey,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  type ViewerToGateway,
} from '@/lib/protocol';

export interface ViewerProbeOptions {
  /** Gateway (or proxy) base URL, http://127.0.0.1:port. */
  url: string;
  run: string;
  token?: string;
  /**
   * How the probe acknowledges frames: at once (default), after a delay per frame (ms, a slow
   * handler), or never (`'hold'`, a viewer that stopped taking frames).
   */
  ack?: 'now' | 'hold' | number;
  /** Socket.IO client options (reconnection, transports…); the default mimics the browser's client. */
  io?: Partial<ManagerOptions & SocketOptions>;
}

/** A gateway sample whose counters did not add up, or disagreed with what the probe received. */
export interface AccountingViolation {
  at: number;
  session: number;
  message: string;
  counters: FlowCounters;
}

/**
 * A real Socket.IO viewer for fault scenarios that checks the accounting invariant of
 * ../shared/RELIABILITY.md on every `run:metrics` sample the gateway sends it:
 *   produced = delivered + replaced + rejected + pending (the gateway's own counters), and
 *   delivered = frames this probe received on the current connection (gateway against client:
 *   a sample is emitted after every frame it counts, on the same ordered socket, so when it
 *   arrives every delivered frame has arrived before it).
 * Like the browser's client it re-subscribes on every (re)connect, and it counts sequence gaps per
 * stream across reconnects as `missed`, and a frame older than one already seen as `older`.
 */
export class ViewerProbe {
  readonly socket: Socket<GatewayToViewer, ViewerToGateway>;
  /** Frames received, all connections; and on the current connection only. */
  received = 0;
  receivedBytes = 0;
  sessionReceived = 0;
  /** Successful subscriptions (one per connection). */
  sessions = 0;
  /** Frames never seen because a later sequence number of the same stream arrived first. */
  missed = 0;
  /** Frames that arrived after a newer one of the same stream: flow control must make this 0. */
  older = 0;
  /** Samples checked, and those that failed. */
  samples = 0;
  readonly violations: AccountingViolation[] = [];
  /** Latest sample of the current connection (undefined right after a reconnect). */
  latest: RunMetrics | undefined;
  readonly disconnects: { at: number; reason: string }[] = [];
  readonly notices: DisconnectNotice[] = [];
  /** Per stream (view/stream), the newest sequence number seen. */
  readonly lastSeq = new Map<string, number>();
  /** Frames received per session, by stream, first arrival time after subscribing. */
  readonly firstFrames: { session: number; key: string; seq: number; at: number }[] = [];
  /** Frames waiting for acknowledgement when the probe holds them. */
  readonly held: (() => void)[] = [];
  /** publish → receive latency of every frame, ms (gateway clock = this clock on loopback). */
  readonly latencies: number[] = [];
  private readonly subscribedAt: number[] = [];
  private readonly ackMode: 'now' | 'hold' | number;
  private sessionKeys = new Set<string>();

  constructor(private readonly options: ViewerProbeOptions) {
    this.ackMode = options.ack ?? 'now';
    this.socket = io(options.url + VIEWER_NAMESPACE, {
      path: VIEWER_SOCKET_PATH,
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      // As a browser on the gateway's own page would (anonymous viewers need an Origin).
      extraHeaders: { origin: new URL(options.url).origin },
      auth: { protocolVersion: PROTOCOL_VERSION, ...(options.token && { token: options.token }) },
      ...options.io,
    });
    this.socket.on('connect', () => {
      this.sessionReceived = 0;
      this.latest = undefined;
      this.sessionKeys = new Set();
      this.socket.emit('run:subscribe', { run: options.run }, (answer) => {
        if (!answer.ok) return;
        this.sessions++;
        this.subscribedAt.push(Date.now());
      });
    });
    this.socket.on('disconnect', (reason) => this.disconnects.push({ at: Date.now(), reason }));
    this.socket.on('viewer:disconnect', (notice) => this.notices.push(notice));
    this.socket.on('frame', (header, payload, done) => this.onFrame(header, payload, done));
    this.socket.on('run:metrics', (m) => this.onMetrics(m));
  }

  /** Connects and resolves once subscribed to the run (rejects on a refused connection). */
  async ready(timeoutMs = 10_000): Promise<this> {
    const sessions = this.sessions;
    const start = Date.now();
    while (this.sessions === sessions) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`probe not subscribed in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this;
  }

  /** When the current session subscribed (ms epoch). */
  get sessionStartedAt(): number {
    return this.subscribedAt.at(-1) ?? 0;
  }

  /** Acknowledges every held frame (a stalled viewer waking up). */
  release(): void {
    for (const done of this.held.splice(0)) done();
  }

  close(): void {
    this.socket.close();
  }

  private onFrame(header: FrameHeader, payload: unknown, done: () => void): void {
    this.received++;
    this.sessionReceived++;
    this.receivedBytes += payload instanceof Uint8Array ? payload.byteLength : 0;
    this.latencies.push(Date.now() - header.publishedAt);
    const key = slotKey(header);
    const last = this.lastSeq.get(key);
    if (last === undefined || header.seq > last) {
      if (last !== undefined) this.missed += header.seq - last - 1;
      this.lastSeq.set(key, header.seq);
    } else {
      this.older++;
    }
    if (!this.sessionKeys.has(key)) {
      this.sessionKeys.add(key);
      this.firstFrames.push({ session: this.sessions, key, seq: header.seq, at: Date.now() });
    }
    if (this.ackMode === 'now') done();
    else if (this.ackMode === 'hold') this.held.push(done);
    else setTimeout(done, this.ackMode);
  }

  private onMetrics(m: RunMetrics): void {
    if (m.run !== this.options.run) return;
    this.latest = m;
    this.samples++;
    const c = m.viewer;
    const fail = (message: string) =>
      this.violations.push({ at: m.at, session: this.sessions, message, counters: c });
    const sum = c.delivered + c.replaced + c.rejected + c.pending;
    if (c.produced !== sum)
      fail(
        `produced ${c.produced} ≠ delivered ${c.delivered} + replaced ${c.replaced} + rejected ${c.rejected} + pending ${c.pending} = ${sum}`,
      );
    if (c.delivered !== this.sessionReceived)
      fail(`gateway delivered ${c.delivered}, viewer received ${this.sessionReceived}`);
    if (c.acknowledged > c.delivered)
      fail(`acknowledged ${c.acknowledged} > delivered ${c.delivered}`);
  }
}

/** What a scenario reports per probe once it has checked it. */
export interface AccountingSummary {
  samples: number;
  received: number;
  missed: number;
  older: number;
  counters: FlowCounters | undefined;
}

/**
 * Waits for each probe's next sample (so the check covers the end of the scenario), then throws
 * unless every sample of every probe added up, each probe got at least `minSamples`, and no frame
 * arrived older than one already seen. Returns the figures for the scenario's report.
 */
export async function expectAccounting(
  probes: readonly ViewerProbe[],
  { minSamples = 1, timeoutMs = 10_000 }: { minSamples?: number; timeoutMs?: number } = {},
): Promise<AccountingSummary[]> {
  const marks = probes.map((p) => p.samples);
  const start = Date.now();
  while (probes.some((p, i) => p.socket.connected && p.samples <= marks[i]!)) {
    if (Date.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const problems: string[] = [];
  probes.forEach((p, i) => {
    if (p.socket.connected && p.samples <= marks[i]!)
      problems.push(`probe ${i}: no metrics sample within ${timeoutMs} ms`);
    if (p.samples < minSamples)
      problems.push(`probe ${i}: ${p.samples} samples, fewer than ${minSamples}`);
    for (const v of p.violations.slice(0, 3))
      problems.push(`probe ${i} session ${v.session}: ${v.message}`);
    if (p.violations.length > 3) problems.push(`probe ${i}: ${p.violations.length - 3} more`);
    if (p.older > 0) problems.push(`probe ${i}: ${p.older} frames older than one already shown`);
  });
  if (problems.length) throw new Error(`accounting invariant broken:\n${problems.join('\n')}`);
  return probes.map((p) => ({
    samples: p.samples,
    received: p.received,
    missed: p.missed,
    older: p.older,
    counters: p.latest?.viewer,
  }));
}
