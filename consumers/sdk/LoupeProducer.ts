import { EventEmitter } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import {
  type Ack,
  Command,
  COMMAND_ACK_WINDOW_MS,
  type CommandReply,
  ConnectRefusal,
  encodeFrame,
  type BrickHeaderInput,
  type GatewayToProducer,
  type Pixels,
  type Plane,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  type ProducerMetrics,
  type RunSuperseded,
  type ProducerToGateway,
  PROTOCOL_VERSION,
  type ProtocolError,
  type Region,
  type SliceHeaderInput,
  ParameterDeclarations,
  parameterChangeProblem,
  type ParameterValues,
  parameterValues,
  RegisterReply,
  type RunRegistration,
  type RunState,
  type StreamKey,
  streamKey,
  type StreamName,
  type SweepInfo,
  type View,
} from '@/lib/protocol';
import { RUN_QUERY_KEY } from '@/lib/protocol';
import { ReconnectScheduler } from '@/lib/reconnect/ReconnectScheduler';

export interface LoupeProducerOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:4000 (the SDK adds the namespace and engine path). */
  url: string;
  /** Producer bearer token. */
  token: string;
  /** The run to register or resume. */
  run: Omit<RunRegistration, 'lastSent'>;
  /** Reconnection backoff: first delay and cap, ms; jittered by ±50 %. */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  /**
   * Frames per stream sent but not yet acknowledged by the gateway. Beyond it `publish*` answers
   * `backpressure` instead of queueing without bound in Socket.IO's buffer.
   */
  maxInFlight?: number;
  /** How long a command handler may run before the SDK answers `accepted` and reports later, ms. */
  commandAckWindowMs?: number;
  /** How long to wait for the gateway to answer `run:register`, ms. */
  registerTimeoutMs?: number;
}

/** Common to slices and bricks. Coordinates and units as in lib/protocol's FrameHeader. */
interface FrameCommon {
  pixels: Pixels;
  /** Physical voxel edge (x, y, z) in micrometres. */
  voxelSize: [number, number, number];
  /** Volume the slice cuts or the brick belongs to, (x, y, z) voxels. */
  volumeShape?: [number, number, number];
  /** For view `roi`: the region of the full volume it covers, in full-view voxels. */
  region?: Region;
  /** Display range of the data, stable across frames. */
  range?: [number, number];
  /** Unit of the values (`1/mm`), and what they are (`linear attenuation coefficient`). */
  unit?: string;
  description?: string;
  /** Epoch ms of the newest projection used. */
  acquiredAt: number;
  /** Epoch ms the reconstruction finished; defaults to now. */
  reconstructedAt?: number;
}

export interface SliceFrame extends FrameCommon {
  view?: View;
  plane: Plane;
  /** [rows, cols]. */
  shape: [number, number];
  /** Index along the plane's normal, in voxels of `volumeShape`. */
  position?: number;
  /** For view `sweep`: the montage's candidates (lib/protocol SweepInfo). */
  sweep?: SweepInfo;
}

export interface BrickFrame extends FrameCommon {
  /** A sweep is a montage of slices: bricks belong to the full view or the zoomed region. */
  view?: Exclude<View, 'sweep'>;
  /** [depth, rows, cols] = (z, y, x) extents. */
  shape: [number, number, number];
  /** (x, y, z) voxels. */
  brickOffset: [number, number, number];
  volumeShape: [number, number, number];
}

export type PublishResult =
  { sent: true; seq: number } | { sent: false; reason: 'offline' | 'backpressure' | 'closed' };

/** What a command handler resolves to; a handler that throws counts as `failed` with its message. */
export type CommandOutcome =
  | { status: 'applied'; detail?: string; artifact?: string }
  | { status: 'failed'; reason: string }
  | { status: 'rejected'; reason: string };

export type CommandHandler = (command: Command) => CommandOutcome | Promise<CommandOutcome>;

/** Sequence numbers the gateway did not keep: sent before a connection broke, never acknowledged. */
export interface SequenceGap {
  key: StreamKey;
  /** First and last lost sequence numbers, inclusive. */
  from: number;
  to: number;
}

export interface ProducerStats {
  sent: number;
  acknowledged: number;
  refused: number;
  dropped: number;
  lost: number;
  reconnects: number;
}

interface ProducerEvents {
  /** Registered (first time or after a reconnect); `lastKept` as the gateway said. */
  registered: [lastKept: Partial<Record<StreamKey, number>>];
  disconnected: [reason: string];
  gap: [gap: SequenceGap];
  /** A newer consumer streams this run now; this producer has closed itself. */
  superseded: [notice: RunSuperseded];
  /** The gateway refused a message; nothing it asked for happened. */
  refused: [error: ProtocolError];
  /** Permanent failures (refused at connect, registration refused) and handler crashes. */
  error: [error: Error];
}

const DEFAULTS = {
  reconnectDelayMs: 500,
  reconnectDelayMaxMs: 5000,
  // Two cores of slices in flight hide a round trip without letting a stalled link queue much.
  maxInFlight: 4,
  commandAckWindowMs: COMMAND_ACK_WINDOW_MS,
  registerTimeoutMs: 5000,
} as const;

/** Refusals that another attempt cannot fix. */
const PERMANENT = new Set(['client-too-old', 'server-too-old', 'unauthorized', 'forbidden']);

/** Recent command ids and their answers, so a redelivered command is answered, not applied again. */
const REMEMBERED_COMMANDS = 256;

/**
 * A producer's connection to a Loupe gateway: registers (or resumes) one run, publishes frames
 * with per-stream sequence numbers, survives gateway restarts, and answers steering commands.
 *
 * Sequence numbers are assigned only to frames that leave, so a stream's numbers are contiguous
 * except for frames lost with a broken connection; those are reported as `gap` events.
 */
export class LoupeProducer extends EventEmitter<ProducerEvents> {
  private readonly options: Required<LoupeProducerOptions>;
  private socket: Socket<GatewayToProducer, ProducerToGateway> | null = null;
  private registered = false;
  /** The declared parameters' values in force, sent again when the producer re-registers. */
  private readonly parameterValues: ParameterValues;
  private closed = false;
  /** Next sequence number per stream. */
  private readonly nextSeq = new Map<StreamKey, number>();
  /** Highest sequence acknowledged by the gateway per stream. */
  private readonly acked = new Map<StreamKey, number>();
  private readonly inFlight = new Map<StreamKey, number>();
  private readonly waiters = new Map<StreamKey, (() => void)[]>();
  private readonly answers = new Map<string, CommandReply>();
  private commandHandler: CommandHandler | null = null;
  private metricsRefused = false;
  private reconnects: ReconnectScheduler | null = null;
  private firstRegistration: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly counters: ProducerStats = {
    sent: 0,
    acknowledged: 0,
    refused: 0,
    dropped: 0,
    lost: 0,
    reconnects: 0,
  };

  constructor(options: LoupeProducerOptions) {
    super();
    this.options = { ...DEFAULTS, ...options };
    const declared = options.run.parameters;
    if (declared) {
      // Fails here, not at the gateway, when a consumer declares nonsense.
      const parsed = ParameterDeclarations.safeParse(declared);
      if (!parsed.success)
        throw new Error(`invalid parameter declaration: ${parsed.error.issues[0]?.message}`);
    }
    this.parameterValues = parameterValues(declared ?? [], options.run.values);
  }

  /** The declared parameters' values in force (defaults, then applied `set-parameters`). */
  get parameters(): Readonly<ParameterValues> {
    return this.parameterValues;
  }

  get runId(): string {
    return this.options.run.run;
  }

  /** Connected and registered: frames published now are sent. */
  get online(): boolean {
    return this.registered && this.socket?.connected === true;
  }

  get stats(): Readonly<ProducerStats> {
    return { ...this.counters };
  }

  /** Last sequence number sent per stream (-1 before the first). */
  lastSent(): Partial<Record<StreamKey, number>> {
    return Object.fromEntries([...this.nextSeq].map(([k, v]) => [k, v - 1]));
  }

  /**
   * Connects and registers; resolves once registered the first time. Keeps reconnecting after
   * that until `close()`; rejects only on a permanent refusal (bad token, protocol version).
   */
  connect(): Promise<void> {
    if (this.socket) throw new Error('LoupeProducer.connect() called twice');
    const socket: Socket<GatewayToProducer, ProducerToGateway> = io(
      this.options.url + PRODUCER_NAMESPACE,
      {
        path: PRODUCER_SOCKET_PATH,
        // Compute nodes reach the gateway through proxies that pass WebSockets; long-polling would
        // cost a round trip per frame.
        transports: ['websocket'],
        // The gateway checks the token at the engine handshake, before it reads any message.
        extraHeaders: { authorization: `Bearer ${this.options.token}` },
        auth: { protocolVersion: PROTOCOL_VERSION, token: this.options.token },
        // The run in the handshake URL lets a cluster's load balancer route by it (docs/cluster.md).
        query: { [RUN_QUERY_KEY]: this.options.run.run },
        // ReconnectScheduler owns retries: jittered backoff, and a gateway's restart notice.
        reconnection: false,
      },
    );
    this.socket = socket;
    this.reconnects = new ReconnectScheduler(socket, {
      firstDelayMs: this.options.reconnectDelayMs,
      maxDelayMs: this.options.reconnectDelayMaxMs,
      retryServerDisconnect: true,
      isPermanent: (err) => permanentRefusal(err) !== null,
      onChange: (state) => {
        if (state.phase === 'connecting' && state.attempts > 0) this.counters.reconnects++;
      },
    });
    const first = new Promise<void>((resolve, reject) => {
      this.firstRegistration = { resolve, reject };
    });

    socket.on('connect', () => void this.register(socket));
    socket.on('disconnect', (reason) => {
      this.registered = false;
      // Socket.IO would replay buffered emits on reconnect, before we re-register; drop them.
      socket.sendBuffer = [];
      this.inFlight.clear();
      this.releaseWaiters();
      if (this.closed) return;
      this.emit('disconnected', reason);
    });
    socket.on('connect_error', (err) => {
      const why = permanentRefusal(err);
      if (why) this.fail(new Error(`gateway refused the connection (${why})`));
    });
    socket.io.on('error', () => undefined); // reported per attempt through connect_error
    socket.on('protocol:error', (error) => {
      if (error.event === 'run:metrics' && /unknown event/.test(error.message)) {
        // An older gateway that does not take metrics yet: stop sending them, keep everything else.
        this.metricsRefused = true;
        return;
      }
      this.counters.refused++;
      this.emit('refused', error);
    });
    socket.on('command', (command, reply) => void this.handleCommand(command, reply));
    socket.on('run:superseded', (notice) => {
      // A newer consumer took the run over (a resubmitted job): stop for good, do not fight it.
      this.emit('superseded', notice);
      void this.close();
    });
    return first;
  }

  /** Closes the connection; frames published afterwards are refused with `closed`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.registered = false;
    this.releaseWaiters();
    this.firstRegistration?.reject(new Error('producer closed before it registered'));
    this.firstRegistration = null;
    this.reconnects?.stop();
    this.socket?.close();
  }

  /** Registers the handler for steering commands; one handler, replaced by a later call. */
  onCommand(handler: CommandHandler): void {
    this.commandHandler = handler;
  }

  publishSlice(slice: SliceFrame): PublishResult {
    const { plane, view, shape, position, sweep, ...common } = slice;
    return this.publish(common, {
      stream: plane,
      view: view ?? 'full',
      shape,
      ...(position !== undefined && { position }),
      ...(sweep && { sweep }),
    });
  }

  publishBrick(brick: BrickFrame): PublishResult {
    const { view, shape, brickOffset, ...common } = brick;
    return this.publish(common, { stream: 'volume', view: view ?? 'full', shape, brickOffset });
  }

  /** Sends a metrics sample if online (metrics are best-effort: a lost sample is not resent). */
  publishMetrics(sample: Omit<ProducerMetrics, 'run'>): boolean {
    if (!this.online || this.metricsRefused) return false;
    this.socket!.emit('run:metrics', { run: this.runId, ...sample });
    return true;
  }

  /** Reports the run's state (e.g. `paused`); resolves with the gateway's acknowledgement. */
  async setState(state: RunState, message?: string): Promise<Ack> {
    if (!this.online) return { ok: false, error: 'offline' };
    try {
      return await this.socket!.timeout(this.options.registerTimeoutMs).emitWithAck('run:state', {
        run: this.runId,
        state,
        ...(message !== undefined && { message }),
      });
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  /**
   * Resolves when `publish*` on this stream would not answer `backpressure` (or when the
   * connection drops, or the producer closes): await it before frames you do not want to drop.
   */
  writable(stream: StreamName, view: View = 'full'): Promise<void> {
    const key = streamKey(view, stream);
    if ((this.inFlight.get(key) ?? 0) < this.options.maxInFlight || !this.online)
      return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }

  private publish(
    common: FrameCommon,
    /** What tells a slice from a brick (lib/protocol's SliceHeader | BrickHeader). */
    kind:
      | (Pick<SliceHeaderInput, 'stream' | 'shape' | 'position' | 'sweep'> & { view: View })
      | (Pick<BrickHeaderInput, 'stream' | 'shape' | 'brickOffset'> & {
          view: Exclude<View, 'sweep'>;
        }),
  ): PublishResult {
    if (this.closed) return this.drop('closed');
    if (!this.online) return this.drop('offline');
    const key = streamKey(kind.view, kind.stream);
    if ((this.inFlight.get(key) ?? 0) >= this.options.maxInFlight) return this.drop('backpressure');
    const seq = this.nextSeq.get(key) ?? 0;
    const now = Date.now();
    // encodeFrame validates the header against the protocol's schema and the pixels against it;
    // a bad frame is a programming error and throws here, before anything is sent.
    const { header, payload } = encodeFrame(
      {
        ...kind,
        run: this.runId,
        seq,
        dtype: dtypeOf(common.pixels),
        voxelSize: common.voxelSize,
        ...(common.volumeShape && { volumeShape: common.volumeShape }),
        ...(common.region && { region: common.region }),
        ...(common.range && { range: common.range }),
        ...(common.unit && { unit: common.unit }),
        ...(common.description && { description: common.description }),
        acquiredAt: common.acquiredAt,
        reconstructedAt: common.reconstructedAt ?? now,
        publishedAt: now,
      },
      common.pixels,
    );
    this.nextSeq.set(key, seq + 1);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    this.counters.sent++;
    const socket = this.socket!;
    socket.emit('frame', header, payload, (answer: Ack) => {
      if (answer?.ok) {
        this.counters.acknowledged++;
        this.acked.set(key, Math.max(this.acked.get(key) ?? -1, seq));
      } else {
        this.counters.refused++;
      }
      if (socket === this.socket && this.registered) {
        this.inFlight.set(key, Math.max(0, (this.inFlight.get(key) ?? 1) - 1));
        this.releaseWaiters(key);
      }
    });
    return { sent: true, seq };
  }

  private drop(reason: 'offline' | 'backpressure' | 'closed'): PublishResult {
    this.counters.dropped++;
    return { sent: false, reason };
  }

  private async register(socket: Socket<GatewayToProducer, ProducerToGateway>): Promise<void> {
    const lastSent = this.lastSent();
    let answer: unknown;
    try {
      answer = await socket.timeout(this.options.registerTimeoutMs).emitWithAck('run:register', {
        ...this.options.run,
        lastSent,
        ...(this.options.run.parameters && { values: { ...this.parameterValues } }),
      });
    } catch {
      // No answer in time: drop the connection so the manager's backoff tries again.
      if (socket.connected) {
        socket.disconnect();
        socket.connect();
      }
      return;
    }
    const reply = RegisterReply.safeParse(answer);
    if (!reply.success || !reply.data.ok) {
      const why = reply.success && !reply.data.ok ? reply.data.error : 'malformed reply';
      this.fail(new Error(`gateway refused run ${this.runId}: ${why}`));
      return;
    }
    const lastKept = reply.data.lastKept;
    for (const key of new Set([
      ...this.nextSeq.keys(),
      ...(Object.keys(lastKept) as StreamKey[]),
    ])) {
      const sent = (this.nextSeq.get(key) ?? 0) - 1;
      const kept = Math.max(lastKept[key] ?? -1, this.acked.get(key) ?? -1);
      // Frames after the last kept one that we had sent are gone: say so, never resend their numbers.
      if (sent > kept) {
        this.counters.lost += sent - kept;
        this.emit('gap', { key, from: kept + 1, to: sent });
      }
      this.nextSeq.set(key, Math.max(sent, lastKept[key] ?? -1) + 1);
    }
    this.inFlight.clear();
    this.registered = true;
    this.emit('registered', lastKept);
    this.firstRegistration?.resolve();
    this.firstRegistration = null;
    this.releaseWaiters();
  }

  private async handleCommand(raw: unknown, reply: unknown): Promise<void> {
    if (typeof reply !== 'function') return;
    const answer = reply as (a: CommandReply) => void;
    const parsed = Command.safeParse(raw);
    if (!parsed.success) {
      const id =
        typeof raw === 'object' && raw && 'id' in raw && typeof raw.id === 'string'
          ? raw.id
          : 'unknown';
      answer({
        id,
        status: 'rejected',
        reason: `invalid command: ${parsed.error.issues[0]?.message ?? 'malformed'}`,
      });
      return;
    }
    const command = parsed.data;
    const previous = this.answers.get(command.id);
    if (previous) return answer(previous);
    if (command.run !== this.runId) {
      return answer(
        this.remember({
          id: command.id,
          status: 'rejected',
          reason: `this producer streams ${this.runId}, not ${command.run}`,
        }),
      );
    }
    if (command.kind === 'set-parameters') {
      const problem = parameterChangeProblem(this.options.run.parameters ?? [], command.values);
      if (problem)
        return answer(this.remember({ id: command.id, status: 'rejected', reason: problem }));
    }
    const handler = this.commandHandler;
    if (!handler)
      return answer(
        this.remember({
          id: command.id,
          status: 'rejected',
          reason: 'this consumer takes no commands',
        }),
      );

    const outcome = Promise.resolve()
      .then(() => handler(command))
      .catch((error: unknown): CommandOutcome => ({
        status: 'failed',
        reason: String((error as Error)?.message ?? error),
      }))
      .then((o) => {
        // What a reconnect re-registers with: the values the consumer really has in force.
        if (o.status === 'applied' && command.kind === 'set-parameters')
          Object.assign(this.parameterValues, command.values);
        return toReply(command.id, o);
      });
    const windowClosed = new Promise<null>((resolve) =>
      setTimeout(() => resolve(null), this.options.commandAckWindowMs).unref(),
    );
    const early = await Promise.race([outcome, windowClosed]);
    if (early) return answer(this.remember(early));

    answer(this.remember({ id: command.id, status: 'accepted' }));
    const final = this.remember(await outcome);
    if (this.online) this.socket!.emit('command:update', { run: this.runId, reply: final });
  }

  private remember(reply: CommandReply): CommandReply {
    this.answers.delete(reply.id);
    this.answers.set(reply.id, reply);
    if (this.answers.size > REMEMBERED_COMMANDS)
      this.answers.delete(this.answers.keys().next().value!);
    return reply;
  }

  private releaseWaiters(key?: StreamKey): void {
    for (const [k, list] of this.waiters) {
      if (key && k !== key) continue;
      this.waiters.delete(k);
      for (const resolve of list) resolve();
    }
  }

  private fail(error: Error): void {
    this.firstRegistration?.reject(error);
    this.firstRegistration = null;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.closed = true;
    this.reconnects?.stop();
    this.socket?.close();
  }
}

/**
 * Why a connect error is one that retrying cannot fix, or null. The gateway refuses a bad producer
 * token at the engine handshake, before any Socket.IO message, so there is no typed refusal to
 * read: engine.io answers a refused WebSocket upgrade 400. A draining gateway stops listening
 * instead, which is a transient error (connection refused).
 */
function permanentRefusal(err: Error): string | null {
  const refusal = ConnectRefusal.safeParse((err as Error & { data?: unknown }).data);
  if (refusal.success && PERMANENT.has(refusal.data.code))
    return `${refusal.data.code}: ${refusal.data.message}`;
  const description = (err as Error & { description?: { message?: unknown } }).description;
  if (
    typeof description?.message === 'string' &&
    /server response: 400\b/.test(description.message)
  )
    return 'unauthorized: the producer token was refused at the handshake';
  return null;
}

function toReply(id: string, outcome: CommandOutcome): CommandReply {
  if (outcome.status === 'applied') {
    return {
      id,
      status: 'applied',
      ...(outcome.detail !== undefined && { detail: outcome.detail.slice(0, 500) }),
      ...(outcome.artifact !== undefined && { artifact: outcome.artifact }),
    };
  }
  return { id, status: outcome.status, reason: outcome.reason.slice(0, 500) || 'no reason given' };
}

function dtypeOf(pixels: Pixels): 'uint8' | 'uint16' | 'float32' {
  if (pixels instanceof Uint8Array) return 'uint8';
  if (pixels instanceof Uint16Array) return 'uint16';
  return 'float32';
}
