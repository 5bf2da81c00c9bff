import { io, type Socket } from 'socket.io-client';
import {
  type CommandRecord,
  type CommandRequestInput,
  type ControlAction,
  type ControlSendReply,
  ControlState,
  ConnectRefusal,
  decodeFrame,
  DisconnectNotice,
  type GatewayToViewer,
  PROTOCOL_VERSION,
  RUN_QUERY_KEY,
  RunElsewhere,
  RunMetrics,
  type RunSummary,
  SystemSnapshot,
  VIEWER_NAMESPACE,
  CommandAnswer,
  CommandListAnswer,
  SessionAnswer,
  VIEWER_SOCKET_PATH,
  type ViewerToGateway,
} from '@/lib/protocol';
import { ReconnectScheduler } from '@/lib/reconnect/ReconnectScheduler';
import { readAnswer } from '@/lib/rest/readAnswer';
import type { CommandsStore } from '@/stores/commandsStore';
import type { ControlStore } from '@/stores/controlStore';
import type { FacilitiesStore } from '@/stores/facilitiesStore';
import type { RunsStore } from '@/stores/runsStore';
import type { SessionStore } from '@/stores/sessionStore';
import { DisplayReporter } from './DisplayReporter';
import { FrameStore } from './FrameStore';
import { RunMetricsStore } from './RunMetricsStore';

export const TOKEN_STORAGE_KEY = 'loupe.token';
/** A share link's token lives only in this tab (sessionStorage), read from the URL fragment. */
export const SHARE_STORAGE_KEY = 'loupe.share';

/** The bearer token this tab uses: a share link's if it was opened through one, else the signed-in user's. */
export function currentToken(): string | undefined {
  const match = /(?:^#|&)share=([^&]+)/.exec(window.location.hash);
  if (match?.[1]) {
    window.sessionStorage.setItem(SHARE_STORAGE_KEY, match[1]);
    // Drop the token from the address bar so it is not copied on by accident.
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return (
    window.sessionStorage.getItem(SHARE_STORAGE_KEY) ??
    window.localStorage.getItem(TOKEN_STORAGE_KEY) ??
    undefined
  );
}

/** What a command submission came back with. */
export type CommandResult =
  { ok: true; command: CommandRecord } | { ok: false; status: number; error: string };

/**
 * The tab's one connection to the gateway: keeps the session store's connection state true,
 * the runs store current, and the frame store fed with decoded frames of the runs being watched.
 */
/** A tab told `run:elsewhere` connects again through the balancer after this, doubling, ms. */
const ELSEWHERE_FIRST_DELAY_MS = 1000;
const ELSEWHERE_MAX_DELAY_MS = 30_000;

export class LiveClient {
  readonly frames = new FrameStore();
  readonly metrics = new RunMetricsStore();
  /** The views' sizes and zoomed regions and the link mode, for the gateway's levels of detail. */
  readonly display = new DisplayReporter((d) => {
    if (this.socket?.connected) this.socket.emit('view:display', d);
  });
  private socket: Socket<GatewayToViewer, ViewerToGateway> | null = null;
  private reconnects: ReconnectScheduler | null = null;
  /** `run:elsewhere` notices since a subscription last succeeded, and the pending move. */
  private elsewhereAttempts = 0;
  private moveTimer: ReturnType<typeof setTimeout> | null = null;
  private moving = false;
  private readonly watched = new Map<string, number>();
  private readonly onOffline = () =>
    this.session.getState().setConnection('offline', 'the browser is offline');
  private readonly onOnline = () => this.reconnects?.retryNow();

  constructor(
    private readonly session: SessionStore,
    private readonly runs: RunsStore,
    private readonly commands: CommandsStore,
    private readonly facilities: FacilitiesStore,
    private readonly control: ControlStore,
  ) {}

  /** Requests, answers, releases or takes a run's control; the new state also arrives for all. */
  sendControl(run: string, action: ControlAction): Promise<ControlSendReply> {
    const socket = this.socket;
    if (!socket?.connected)
      return Promise.resolve({ ok: false, code: 'unavailable', error: 'not connected' });
    return new Promise((resolve) => {
      socket.timeout(10_000).emit('control:send', { run, action }, (err, answer) => {
        if (err)
          return resolve({ ok: false, code: 'unavailable', error: 'no answer from the gateway' });
        if (answer.ok) this.control.getState().set(answer.state);
        resolve(answer);
      });
    });
  }

  /** fetch() against the gateway's REST API with this tab's bearer token. */
  api(path: string, init: RequestInit = {}): Promise<Response> {
    const token = currentToken();
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    return fetch(path, { ...init, headers });
  }

  /** Posts a steering command with a fresh idempotency key; its later states arrive on the socket. */
  async sendCommand(run: string, request: CommandRequestInput): Promise<CommandResult> {
    try {
      const res = await this.api(`/api/runs/${encodeURIComponent(run)}/commands`, {
        method: 'POST',
        headers: { 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify(request),
      });
      const answer = await readAnswer(res, CommandAnswer);
      if (!answer.ok) return answer;
      this.commands.getState().upsert(answer.data.command);
      return { ok: true, command: answer.data.command };
    } catch (error) {
      return {
        ok: false,
        status: 0,
        error: error instanceof Error ? error.message : 'network error',
      };
    }
  }

  async loadCommands(run: string): Promise<void> {
    const answer = await readAnswer(
      await this.api(`/api/runs/${encodeURIComponent(run)}/commands`),
      CommandListAnswer,
    );
    if (answer.ok) this.commands.getState().replaceRun(run, answer.data.commands);
    else console.warn(`commands of run ${run}: ${answer.error}`);
  }

  private async loadIdentity(): Promise<void> {
    try {
      const res = await this.api('/api/session');
      const answer = res.ok ? SessionAnswer.safeParse(await res.json()) : null;
      if (answer && !answer.success)
        console.warn(
          'the gateway answered GET /api/session with something else',
          answer.error.issues,
        );
      // Without a valid answer the tab is nobody: it offers no steering (the gateway decides anyway).
      this.session.getState().setIdentity(answer?.success ? answer.data : null);
      if (res.status === 401)
        this.session.getState().setConnection('offline', 'your token was refused: sign in again');
    } catch {
      // The badge already reports the gateway as unreachable.
    }
  }

  start(): void {
    if (this.socket) return;
    const token = currentToken();
    void this.loadIdentity();
    const socket: Socket<GatewayToViewer, ViewerToGateway> = io(VIEWER_NAMESPACE, {
      path: VIEWER_SOCKET_PATH,
      auth: { protocolVersion: PROTOCOL_VERSION, ...(token && { token }) },
      // The scheduler below retries, for as long as the tab is open, and says when it will.
      reconnection: false,
      // WebSocket first: an HTTP long-polling start through a slow link can time out ("xhr poll
      // error") while frames queue on it; polling remains the fallback where WebSocket is blocked.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      // A handshake that hangs (seen once on the first WebSocket through Next after its start) is
      // given up after this long, and the scheduler below tries again (ms; Socket.IO's default 20 s).
      timeout: 10_000,
      // On a run's page the run goes in the handshake URL, so a cluster's load balancer routes this
      // tab to the gateway that owns the run (docs/cluster.md).
      ...(pageRun() && { query: { [RUN_QUERY_KEY]: pageRun() } }),
    });
    this.socket = socket;
    const setConnection = this.session.getState().setConnection;

    socket.on('connect', () => {
      setConnection('connected');
      this.metrics.setNotice(null);
      // A reconnect starts from a fresh snapshot of every run being watched.
      for (const run of this.watched.keys()) {
        this.display.resend(run);
        this.subscribe(run);
      }
    });
    socket.on('disconnect', (reason) => {
      if (this.moving) {
        this.moving = false;
        return setConnection('reconnecting', 'connecting to the gateway that serves this run');
      }
      setConnection(reason === 'io client disconnect' ? 'offline' : 'reconnecting', reason);
    });
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
    socket.on('runs', (runs) => {
      for (const run of runs) this.forgetDroppedRoi(run);
      this.runs.getState().setRuns(runs);
    });
    socket.on('run:update', (run) => {
      this.forgetDroppedRoi(run);
      this.runs.getState().upsertRun(run);
    });
    socket.on('command:state', (command) => this.commands.getState().upsert(command));
    socket.on('control:state', (state) => {
      const parsed = ControlState.safeParse(state);
      if (parsed.success) this.control.getState().set(parsed.data);
      else console.warn('dropped a control state that does not validate', parsed.error.issues);
    });
    socket.on('facilities', (systems) => {
      const parsed = SystemSnapshot.array().safeParse(systems);
      if (parsed.success) this.facilities.getState().setSystems(parsed.data, Date.now());
      else console.warn('dropped facility snapshots that do not validate', parsed.error.issues);
    });
    socket.on('protocol:error', (error) =>
      console.warn(`gateway refused ${error.event ?? 'a message'}: ${error.message}`),
    );
    socket.on('run:metrics', (sample) => {
      const parsed = RunMetrics.safeParse(sample);
      if (parsed.success) this.metrics.put(parsed.data);
    });
    socket.on('run:elsewhere', (notice) => {
      const parsed = RunElsewhere.safeParse(notice);
      if (!parsed.success) return;
      // A cluster routed this tab to a gateway that does not serve the run: say so, never a blank
      // view, and connect again through the balancer, which routes a run by its lease
      // (docs/cluster.md). Backing off: a balancer that only hashes sends the tab back here.
      const delayMs = Math.min(
        ELSEWHERE_MAX_DELAY_MS,
        ELSEWHERE_FIRST_DELAY_MS * 2 ** this.elsewhereAttempts++,
      );
      setConnection('reconnecting', parsed.data.message, Date.now() + delayMs);
      if (this.moveTimer) clearTimeout(this.moveTimer);
      this.moveTimer = setTimeout(() => {
        this.moveTimer = null;
        if (this.socket !== socket) return;
        this.moving = socket.connected;
        socket.disconnect();
        this.reconnects?.retryNow();
      }, delayMs);
    });
    socket.on('viewer:disconnect', (notice) => {
      const parsed = DisconnectNotice.safeParse(notice);
      if (!parsed.success) return;
      // The gateway will not take this tab back by itself: say why, and let the user reconnect.
      this.metrics.setNotice(parsed.data);
      setConnection('offline', parsed.data.message);
    });
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
    // Registered after the handlers above, so the countdown it reports is what the badge shows.
    // Retry quickly at first, then every 5 s at most; a restarting gateway's notice sets the delay.
    this.reconnects = new ReconnectScheduler(socket, {
      firstDelayMs: 500,
      maxDelayMs: 5000,
      // A refusal will not change by retrying (old client, bad token).
      isPermanent: (err) =>
        ConnectRefusal.safeParse((err as Error & { data?: unknown }).data).success,
      onChange: (state) => {
        if (state.phase === 'waiting' || state.phase === 'connecting') {
          const detail = state.restarting
            ? 'the gateway is restarting'
            : (state.reason ?? 'reconnecting to the gateway');
          setConnection('reconnecting', detail, state.retryAt);
        } else if (state.phase === 'stopped' && state.reason === 'io server disconnect') {
          // Dropped on purpose without a restart notice (stalled): the user reconnects.
          setConnection(
            'offline',
            this.metrics.notice?.message ?? 'the gateway closed this connection',
          );
        }
      },
    });
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
  }

  stop(): void {
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    this.reconnects?.stop();
    this.reconnects = null;
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.moveTimer = null;
    this.socket?.disconnect();
    this.socket = null;
  }

  /** Connects again after the gateway dropped this tab (stall disconnect). */
  reconnect(): void {
    this.reconnects?.retryNow();
  }

  /** Starts receiving a run's streams; counted, so two views of one run subscribe once. */
  watch(run: string): () => void {
    const count = this.watched.get(run) ?? 0;
    this.watched.set(run, count + 1);
    if (count === 0 && this.socket?.connected) {
      this.display.resend(run);
      this.subscribe(run);
    }
    return () => {
      const left = (this.watched.get(run) ?? 1) - 1;
      if (left > 0) return void this.watched.set(run, left);
      this.watched.delete(run);
      this.socket?.emit('run:unsubscribe', { run });
      this.frames.forgetRun(run);
      this.metrics.forgetRun(run);
      this.display.forget(run);
    };
  }

  /**
   * The gateway dropped a run's region of interest (its job ended, or a new job took over) when
   * `roiEpoch` moved: the roi frames held here, and the overlays drawn from them, go too.
   */
  private forgetDroppedRoi(run: RunSummary): void {
    const before = this.runs.getState().runs[run.id]?.roiEpoch ?? 0;
    if ((run.roiEpoch ?? 0) > before) this.frames.forgetView(run.id, 'roi');
  }

  private subscribe(run: string): void {
    this.socket?.emit('run:subscribe', { run }, (answer) => {
      if (answer.ok) {
        this.elsewhereAttempts = 0;
        this.forgetDroppedRoi(answer.run);
        this.runs.getState().upsertRun(answer.run);
      } else console.warn(`cannot follow run ${run}: ${answer.error}`);
    });
  }
}

/** The run of the page this tab shows (`/runs/<id>`), if any. */
function pageRun(): string | null {
  if (typeof window === 'undefined') return null;
  const match = /^\/runs\/([^/]+)/.exec(window.location.pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}
