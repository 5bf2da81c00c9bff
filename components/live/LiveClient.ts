import { io, type Socket } from 'socket.io-client';
import {
  ConnectRefusal,
  decodeFrame,
  type GatewayToViewer,
  PROTOCOL_VERSION,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  type ViewerToGateway,
} from '@/lib/protocol';
import type { RunsStore } from '@/stores/runsStore';
import type { SessionStore } from '@/stores/sessionStore';
import { FrameStore } from './FrameStore';

export const TOKEN_STORAGE_KEY = 'loupe.token';

/**
 * The tab's one connection to the gateway: keeps the session store's connection state true,
 * the runs store current, and the frame store fed with decoded frames of the runs being watched.
 */
export class LiveClient {
  readonly frames = new FrameStore();
  private socket: Socket<GatewayToViewer, ViewerToGateway> | null = null;
  private readonly watched = new Map<string, number>();
  private readonly onOffline = () =>
    this.session.getState().setConnection('offline', 'the browser is offline');
  private readonly onOnline = () => this.socket?.connect();

  constructor(
    private readonly session: SessionStore,
    private readonly runs: RunsStore,
  ) {}

  start(): void {
    if (this.socket) return;
    const token = window.localStorage.getItem(TOKEN_STORAGE_KEY) ?? undefined;
    const socket: Socket<GatewayToViewer, ViewerToGateway> = io(VIEWER_NAMESPACE, {
      path: VIEWER_SOCKET_PATH,
      auth: { protocolVersion: PROTOCOL_VERSION, ...(token && { token }) },
      // Retry quickly at first, then every 5 s at most, for as long as the tab is open.
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    const setConnection = this.session.getState().setConnection;

    socket.on('connect', () => {
      setConnection('connected');
      // A reconnect starts from a fresh snapshot of every run being watched.
      for (const run of this.watched.keys()) this.subscribe(run);
    });
    socket.on('disconnect', (reason) => {
      setConnection(reason === 'io client disconnect' ? 'offline' : 'reconnecting', reason);
    });
    socket.io.on('reconnect_attempt', () =>
      setConnection('reconnecting', 'reconnecting to the gateway'),
    );
    socket.on('connect_error', (err) => {
      const refusal = ConnectRefusal.safeParse((err as Error & { data?: unknown }).data);
      if (refusal.success) {
        // A refusal will not change by retrying (old client, bad token): say so and stop.
        setConnection('offline', refusal.data.message);
        socket.disconnect();
        return;
      }
      setConnection('reconnecting', err.message);
    });
    socket.on('runs', (runs) => this.runs.getState().setRuns(runs));
    socket.on('run:update', (run) => this.runs.getState().upsertRun(run));
    socket.on('protocol:error', (error) =>
      console.warn(`gateway refused ${error.event ?? 'a message'}: ${error.message}`),
    );
    socket.on('frame', (header, payload, received) => {
      try {
        const frame = decodeFrame(header, payload);
        if (this.watched.has(frame.header.run)) this.frames.put(frame, performance.now());
      } catch (error) {
        console.warn('dropped a frame that does not decode', error);
      } finally {
        // Acknowledge on arrival, not on drawing: a hidden tab draws nothing but must not stall.
        received();
      }
    });
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
  }

  stop(): void {
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    this.socket?.disconnect();
    this.socket = null;
  }

  /** Starts receiving a run's streams; counted, so two views of one run subscribe once. */
  watch(run: string): () => void {
    const count = this.watched.get(run) ?? 0;
    this.watched.set(run, count + 1);
    if (count === 0 && this.socket?.connected) this.subscribe(run);
    return () => {
      const left = (this.watched.get(run) ?? 1) - 1;
      if (left > 0) return void this.watched.set(run, left);
      this.watched.delete(run);
      this.socket?.emit('run:unsubscribe', { run });
      this.frames.forgetRun(run);
    };
  }

  private subscribe(run: string): void {
    this.socket?.emit('run:subscribe', { run }, (answer) => {
      if (answer.ok) this.runs.getState().upsertRun(answer.run);
      else console.warn(`cannot follow run ${run}: ${answer.error}`);
    });
  }
}
