import { createHash } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import {
  type GatewayToViewer,
  PROTOCOL_VERSION,
  RUN_QUERY_KEY,
  RunElsewhere,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  type ViewerToGateway,
} from '@/lib/protocol';

/** One frame as a viewer drew it. */
export interface SeenFrame {
  plane: string;
  seq: number;
  sha1: string;
  at: number;
  /** The gateway URL this viewer was connected to. */
  via: string;
  /** Receive time minus the frame's acquisition time (the producer's clock, same machine), ms. */
  latency: number;
}

export interface ClusterViewerOptions {
  /** Where it connects first (a gateway or the load balancer). */
  url: string;
  /** Where it reconnects after a lost connection; default `url` (the load balancer, as a browser). */
  reconnectUrl?: string;
  /** The run to follow; none: an overview viewer that only takes the run list. */
  run?: string;
  /** On `run:elsewhere`, connect to the owner's URL it names (else reconnect via reconnectUrl). */
  followOwnerUrl?: boolean;
  /** Hash each frame's bytes (default); a benchmark's swarm skips it to spend its CPU on receiving. */
  hash?: boolean;
}

/**
 * A viewer as a browser tab in a cluster behaves: the run in its handshake query, a fresh
 * subscription after every reconnect, a typed `run:elsewhere` followed rather than shown blank.
 * It records every frame it takes (hash of the bytes, sequence) and the notices it got.
 */
export class ClusterViewer {
  readonly frames: SeenFrame[] = [];
  readonly elsewhere: RunElsewhere[] = [];
  /** Run summaries seen (the run list and updates, from any gateway through the adapter). */
  readonly runUpdates: { id: string; state: string; at: number }[] = [];
  /** The run list the gateway sent on this viewer's last connect, before any update. */
  runsAtConnect: { id: string; state: string }[] | null = null;
  disconnects = 0;
  /** The last connection error, for a failing test's message. */
  lastError = '';
  connects = 0;
  private socket: Socket<GatewayToViewer, ViewerToGateway> | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  current = '';

  constructor(private readonly options: ClusterViewerOptions) {}

  start(): this {
    this.connect(this.options.url);
    return this;
  }

  /** The newest sequence drawn of `plane`, -1 before any. */
  lastSeq(plane: string): number {
    for (let i = this.frames.length - 1; i >= 0; i--)
      if (this.frames[i]!.plane === plane) return this.frames[i]!.seq;
    return -1;
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.close();
  }

  private connect(url: string): void {
    if (this.closed) return;
    this.socket?.removeAllListeners();
    this.socket?.close();
    this.current = url;
    const socket: Socket<GatewayToViewer, ViewerToGateway> = io(url + VIEWER_NAMESPACE, {
      path: VIEWER_SOCKET_PATH,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { origin: new URL(url).origin },
      auth: { protocolVersion: PROTOCOL_VERSION },
      ...(this.options.run && { query: { [RUN_QUERY_KEY]: this.options.run } }),
    });
    this.socket = socket;
    const again = (to: string, ms: number) => {
      if (this.closed || this.retry) return;
      this.retry = setTimeout(() => {
        this.retry = null;
        this.connect(to);
      }, ms);
    };
    const home = this.options.reconnectUrl ?? this.options.url;
    socket.on('connect', () => {
      this.connects++;
      this.subscribe(socket);
    });
    socket.on('connect_error', (error) => {
      this.lastError = error.message;
      again(home, 250);
    });
    socket.on('disconnect', () => {
      this.disconnects++;
      again(home, 250);
    });
    socket.on('runs', (runs) => {
      this.runsAtConnect = runs.map((r) => ({ id: r.id, state: r.state }));
      for (const r of runs) this.runUpdates.push({ id: r.id, state: r.state, at: Date.now() });
    });
    socket.on('run:update', (r) =>
      this.runUpdates.push({ id: r.id, state: r.state, at: Date.now() }),
    );
    socket.on('run:elsewhere', (notice) => {
      const parsed = RunElsewhere.parse(notice);
      this.elsewhere.push(parsed);
      if (this.options.followOwnerUrl) again(parsed.url, 0);
      else again(home, 250);
    });
    socket.on('frame', (header, payload, received) => {
      const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
      this.frames.push({
        plane: header.stream,
        seq: header.seq,
        sha1: this.options.hash === false ? '' : createHash('sha1').update(bytes).digest('hex'),
        at: Date.now(),
        via: url,
        latency: Date.now() - header.acquiredAt,
      });
      received();
    });
  }

  private subscribe(socket: Socket<GatewayToViewer, ViewerToGateway>): void {
    const run = this.options.run;
    if (!run) return;
    socket.emit('run:subscribe', { run }, (reply) => {
      // Refused: `run:elsewhere` (handled above), or the run not known here yet (its producer is
      // still reconnecting after a failover): ask again shortly on the same connection.
      if (!reply.ok && socket.connected && !this.retry)
        setTimeout(() => socket.connected && this.subscribe(socket), 300);
    });
  }
}
