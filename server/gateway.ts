import type { Socket as NetSocket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Server } from 'socket.io';
import {
  DEFAULT_RECON_JOB,
  MAX_PRODUCER_MESSAGE_BYTES,
  MAX_VIEWER_MESSAGE_BYTES,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  type GatewayToProducer,
  type GatewayToViewer,
  type ProducerToGateway,
  type ViewerToGateway,
} from '@/lib/protocol';
import type { Identity } from './auth/Identity';
import helmet from '@fastify/helmet';
import { authenticateSocket } from './auth/authenticateSocket';
import { installHttpAuth } from './auth/httpAuth';
import { CompositeVerifier, type TokenVerifier } from './auth/Identity';
import type { LocalUsers } from './auth/LocalUsers';
import { type OidcOptions, OidcVerifier } from './auth/OidcVerifier';
import { ProducerTokens } from './auth/ProducerTokens';
import type { SessionGuard } from './auth/SessionGuard';
import { type BudgetFigures, SocketGuards } from './auth/SocketGuards';
import { ShareLinks } from './auth/ShareLinks';
import { AuditLog } from './audit/AuditLog';
import { closeOversizePolls } from './http/closeOversizePolls';
import { EngineAdmission, handshakeToken } from './auth/EngineAdmission';
import { devSignInRoutes } from './http/devSignInRoutes';
import { drainRefusedBodies } from './http/drainRefusedBodies';
import { healthRoutes } from './http/healthRoutes';
import { REQUEST_ID_HEADER, requestId } from './http/requestId';
import { installJsonBodyParser } from './http/jsonBodyParser';
import {
  engineRequestRefusal,
  installHostCheck,
  type RequestGuards,
  requestGuards,
} from './http/requestGuards';
import { viewerOriginGuard } from './auth/viewerOriginGuard';
import {
  authorizeProducerMessages,
  authorizeViewerMessages,
} from './steering/authorizeSocketMessages';
import {
  CommandService,
  type CommandServiceOptions,
  type ResubmitHandler,
} from './steering/CommandService';
import { CommandStore } from './steering/CommandStore';
import { ControlLease } from './steering/ControlLease';
import { attachCommandChannel } from './steering/commandChannel';
import { attachControlChannel } from './steering/controlChannel';
import { steeringRoutes } from './steering/steeringRoutes';
import type { FacilityService } from './facilities/FacilityService';
import { facilityRoutes } from './facilities/facilityRoutes';
import { FacilityResubmitter } from './steering/FacilityResubmitter';
import type { Db } from './db/openDatabase';
import { isPostgresUrl, isStore, openStore, type Store } from './db/openStore';
import type { GatewayCluster } from './cluster/GatewayCluster';
import type { GatewayToGateway } from './cluster/RunMirror';
import { runRoutes } from './http/runRoutes';
import { captureRoutes } from './http/captureRoutes';
import type { BudgetLimits } from './streams/MessageBudget';
import { type ProducerNamespace, ProducerSockets } from './streams/ProducerSockets';
import { RunRegistry } from './streams/RunRegistry';
import { attachRecorder } from './recording/attachRecorder';
import { Recorder, type RecorderOptions } from './recording/Recorder';
import { recordingRoutes } from './recording/recordingRoutes';
import { GatewayMetrics, metricsRoute } from './metrics/GatewayMetrics';
import { attachViewerNamespace, type ViewerNamespace } from './streams/viewerNamespace';
import { runRoom } from './streams/rooms';

export interface GatewayOptions {
  /** Interface to listen on; tests and the embedded default use loopback only. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** SQLite file path, ':memory:', a postgres:// URL, an open SQLite handle, or an open store. */
  db: string | Db | Store;
  users: LocalUsers;
  /** Admit browsers without a token as read-only viewers (the embedded default's demo). */
  allowAnonymousViewers?: boolean;
  /** Origins allowed to open viewer sockets from another origin than the gateway's. */
  allowedOrigins?: string[];
  /** Host header values served (`host:port`, or `host` on any port); default loopback names. */
  allowedHosts?: string[];
  /** Proxies whose X-Forwarded-* headers are believed (IPs, CIDRs, `loopback`); default none. */
  trustedProxies?: string[];
  /** A viewer with a frame unacknowledged this long is disconnected (ms). */
  stallTimeoutMs?: number;
  /** A viewer with more than this many bytes unacknowledged or pending is disconnected. */
  maxBufferedBytes?: number;
  /** How often viewers get their run metrics (ms). */
  metricsIntervalMs?: number;
  /**
   * Engine heartbeats of both engines (ms; engine.io's defaults 25 000 and 20 000): a peer that
   * answers no ping within pingInterval + pingTimeout is disconnected ('ping timeout').
   */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  logger?: boolean;
  /** Verify OIDC access tokens (e.g. Globus Auth) besides the local users. */
  oidc?: OidcOptions;
  /** Secret for read-only share links (≥ 32 bytes); random per process when omitted. */
  shareSecret?: Uint8Array;
  /** Serve the local users' tokens at /api/dev/users for the sign-in page (embedded default only). */
  devSignIn?: boolean;
  /** Facility state, estimates and the job API; served under /api/facilities and pushed live. */
  facilities?: FacilityService;
  /** Sends resubmitted jobs to a facility; by default through `facilities`' job API. */
  resubmit?: ResubmitHandler;
  /** How often a resubmitted job's state is read from its site (ms); default 2 s. */
  resubmitPollMs?: number;
  /** How often every socket's credential is verified again (ms); default 10 s. */
  sessionRecheckMs?: number;
  /** Message budgets per connection and per address, per namespace. */
  messageBudgets?: { viewer?: Partial<BudgetLimits>; producer?: Partial<BudgetLimits> };
  /** Timeouts and limits of steering commands. */
  commands?: Partial<
    Omit<CommandServiceOptions, 'db' | 'registry' | 'producers' | 'audit' | 'resubmit'>
  >;
  /** One hand on the controls: a request lapses after `requestTimeoutMs` (60 s); a holder whose
   *  last session of the run closed keeps control for `releaseGraceMs` (30 s). */
  control?: { requestTimeoutMs?: number; releaseGraceMs?: number };
  /** Engine sessions per address not yet authenticated, per engine; more are refused (64). */
  maxUnauthenticatedPerAddress?: number;
  /** Where the runs' consumers write captures (same host or shared file system): served for download. */
  capturesDir?: string;
  /** What `gateway:restarting` tells clients on close: come back after about this long (ms). */
  restartRetryAfterMs?: number;
  /**
   * The bearer token a Prometheus scrape of `/metrics` must present (LOUPE_METRICS_TOKEN_FILE).
   * Without one, `/metrics` is not served.
   */
  metricsToken?: string | null;
  /** Record every run's frames into segment files (docs/recording.md); off when omitted. */
  recording?: RecorderOptions;
  /** One of several gateways (server/cluster, docs/cluster.md): run leases, adapter, forwarding. */
  cluster?: GatewayCluster;
}

export interface Gateway {
  url: string;
  port: number;
  app: FastifyInstance;
  registry: RunRegistry;
  commands: CommandService;
  /** Who holds each run's control. */
  control: ControlLease;
  audit: AuditLog;
  /** Present when the gateway has facilities: knows which run each submitted job is for. */
  resubmitter: FacilityResubmitter | null;
  shares: ShareLinks;
  /** Mints the per-run producer tokens resubmitted jobs receive. */
  producerTokens: ProducerTokens;
  /** Ends sessions whose credential expired or was revoked. */
  sessions: SessionGuard;
  /** Refusal counters: frames and pushes refused, messages dropped over budget. */
  securityCounters(): SecurityCounters;
  /** Host, Origin and proxy rules, with counts of what they refused. */
  guards: RequestGuards;
  viewers: ViewerNamespace;
  producers: ProducerNamespace;
  /** Present when recording is on. */
  recorder: Recorder | null;
  close(): Promise<void>;
}

export interface SecurityCounters extends BudgetFigures {
  refusedFrames: number;
  refusedPushes: number;
}

/** Starts the gateway: REST under /api, Socket.IO engines for viewers and producers, one HTTP server. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const ownStore = !isStore(options.db);
  const store = isStore(options.db)
    ? options.db
    : await openStore(
        typeof options.db === 'string' && isPostgresUrl(options.db)
          ? { url: options.db }
          : { sqlite: options.db },
      );
  const registry = await RunRegistry.open(store.db);
  registry.on('error', (error) => app.log.error({ err: error }, 'run registry error'));
  // Prometheus metrics: counters fed by the registry's and the command service's events.
  const metrics = new GatewayMetrics();
  registry.on('frame', (_run, frame) =>
    metrics.frameReceived(frame.header.stream, frame.payload.byteLength),
  );
  registry.on('rejected', () => metrics.frameRejected(undefined));

  const allowedOrigins = options.allowedOrigins ?? [];
  const guards = requestGuards({
    allowedOrigins,
    ...(options.allowedHosts && { allowedHosts: options.allowedHosts }),
    ...(options.trustedProxies && { trustedProxies: options.trustedProxies }),
  });
  const app = Fastify({
    // X-Forwarded-* only from the configured proxies (request.ip, request.host).
    trustProxy: guards.trust,
    // One JSON line per event (pino), the gateway's only logger (docs/operations.md). Request and
    // command lifecycle lines are info-level; the default level keeps the console to warnings and
    // errors (LOUPE_LOG_LEVEL=info for all of them).
    logger: options.logger
      ? { level: process.env.LOUPE_LOG_LEVEL ?? 'warn', redact: ['req.headers.authorization'] }
      : false,
    // Every request's id (`reqId` on its lines), taken from X-Request-Id when a proxy set a sane
    // one (a cluster's forwarded commands keep theirs), else a fresh UUID; sent back in the answer.
    genReqId: requestId,
    // REST bodies are small JSON (commands, estimates); frames never travel over REST.
    bodyLimit: 64 * 1024,
  });
  app.addHook('onSend', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  installHostCheck(app, guards);
  installJsonBodyParser(app);
  drainRefusedBodies(app);
  const secret = options.shareSecret ?? crypto.getRandomValues(new Uint8Array(32));
  const shares = new ShareLinks(secret, store.db);
  const producerTokens = new ProducerTokens(secret);
  const verifier: TokenVerifier = new CompositeVerifier([
    options.users,
    shares,
    producerTokens,
    ...(options.oidc ? [new OidcVerifier(options.oidc)] : []),
  ]);
  await app.register(helmet, {
    // The gateway serves JSON only; the UI's own headers are set by next.config.js.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const refusal = guards.originRefusal(request.raw);
    if (refusal)
      return reply.code(403).send({ error: `${refusal}: it may not change anything here` });
  });
  installHttpAuth(app, verifier, options.allowAnonymousViewers ?? false);
  options.cluster?.installRoutes(app, registry);
  if (options.devSignIn)
    await app.register(devSignInRoutes, {
      users: options.users,
      listenHost: options.host ?? '127.0.0.1',
      guards,
    });
  await app.register(healthRoutes, { store, draining: () => draining });
  app.get('/api/health', async () => ({ ok: true, protocolVersion: PROTOCOL_VERSION }));
  // In a cluster the lists include the runs the other gateways own (docs/cluster.md).
  const runs = options.cluster?.runs(registry) ?? registry;
  await app.register(runRoutes, { runs });
  const recorder = options.recording ? await Recorder.open(options.recording) : null;
  recorder?.on('error', (error) => app.log.error({ err: error }, 'recorder error'));
  for (const u of recorder?.unreadable ?? [])
    app.log.warn(u, `recording segment left unread: ${u.reason}`);
  if (recorder) await app.register(recordingRoutes, { recorder });
  metricsRoute(app, metrics, options.metricsToken ?? null);
  const audit = new AuditLog(store);
  audit.on('error', (error) => app.log.error({ err: error }, 'audit log error'));
  if (options.capturesDir)
    await app.register(captureRoutes, { capturesDir: options.capturesDir, audit });

  const heartbeat = {
    ...(options.pingIntervalMs !== undefined && { pingInterval: options.pingIntervalMs }),
    ...(options.pingTimeoutMs !== undefined && { pingTimeout: options.pingTimeoutMs }),
  };
  // Two engines on one HTTP server, so producers may send large frames while a viewer's messages
  // stay capped small. destroyUpgrade must be off or each engine would kill the other's upgrades.
  // Before authentication a client costs at most a few sessions per address, each closed after
  // PRE_AUTH_TIMEOUT_MS; producers authenticate at the handshake, so no unauthenticated client is
  // ever read up to the producers' large message limit.
  let draining = false;
  const PRE_AUTH_TIMEOUT_MS = 10_000;
  const maxPendingPerAddress = options.maxUnauthenticatedPerAddress ?? 64;
  const viewerAdmission = new EngineAdmission({
    maxPendingPerAddress,
    // Host (DNS rebinding) and Origin (cross-site sockets) first, from the shared request guards.
    precheck: (req) =>
      draining ? 'the gateway is restarting' : engineRequestRefusal(guards, req, true),
  });
  const producerAdmission = new EngineAdmission({
    maxPendingPerAddress,
    precheck: (req) =>
      draining ? 'the gateway is restarting' : engineRequestRefusal(guards, req, false),
    authenticate: async (req) => {
      const token = handshakeToken(req);
      if (!token) return 'a producer token is required in the Authorization header';
      const identity = await verifier.verify(token);
      return identity?.role === 'producer' ? null : 'invalid producer token';
    },
  });
  const viewerIo = new Server<
    ViewerToGateway,
    GatewayToViewer,
    GatewayToGateway,
    { identity: Identity; runs?: Set<string> }
  >(app.server, {
    path: VIEWER_SOCKET_PATH,
    maxHttpBufferSize: MAX_VIEWER_MESSAGE_BYTES,
    ...heartbeat,
    serveClient: false,
    destroyUpgrade: false,
    cors: allowedOrigins.length ? { origin: allowedOrigins } : undefined,
    connectTimeout: PRE_AUTH_TIMEOUT_MS,
    allowRequest: viewerAdmission.allowRequest,
    ...(options.cluster && { adapter: options.cluster.adapter() }),
  });
  const producerIo = new Server<
    ProducerToGateway,
    GatewayToProducer,
    Record<string, never>,
    { identity: Identity; runs?: Set<string> }
  >(app.server, {
    path: PRODUCER_SOCKET_PATH,
    maxHttpBufferSize: MAX_PRODUCER_MESSAGE_BYTES,
    ...heartbeat,
    serveClient: false,
    destroyUpgrade: false,
    connectTimeout: PRE_AUTH_TIMEOUT_MS,
    allowRequest: producerAdmission.allowRequest,
  });
  closeOversizePolls(app.server, [
    { io: viewerIo, path: VIEWER_SOCKET_PATH, maxBytes: MAX_VIEWER_MESSAGE_BYTES },
    { io: producerIo, path: PRODUCER_SOCKET_PATH, maxBytes: MAX_PRODUCER_MESSAGE_BYTES },
  ]);
  const viewers: ViewerNamespace = viewerIo.of(VIEWER_NAMESPACE);
  const producers: ProducerNamespace = producerIo.of(PRODUCER_NAMESPACE);
  viewerAdmission.track(viewerIo, [viewers]);
  producerAdmission.track(producerIo, [producers]);
  viewers.use(viewerOriginGuard());
  viewers.use(
    authenticateSocket({
      users: verifier,
      roles: ['viewer', 'scientist', 'staff'],
      allowAnonymous: options.allowAnonymousViewers ?? false,
    }),
  );
  producers.use(
    authenticateSocket({ users: verifier, roles: ['producer'], allowAnonymous: false }),
  );
  const resubmitter = options.facilities
    ? new FacilityResubmitter({
        facilities: options.facilities,
        registry,
        audit,
        producerTokens,
        ...(options.resubmitPollMs !== undefined && { pollMs: options.resubmitPollMs }),
      })
    : null;
  const control = new ControlLease({
    requestTimeoutMs: options.control?.requestTimeoutMs ?? 60_000,
  });
  control.on('error', (error) => app.log.error({ err: error }, 'control lease error'));
  // Every socket gets a message budget and a session tied to its credential before its first message.
  const socketGuards = new SocketGuards({
    verifier,
    audit,
    ...(options.sessionRecheckMs !== undefined && { sessionRecheckMs: options.sessionRecheckMs }),
    ...(options.messageBudgets && { messageBudgets: options.messageBudgets }),
  });
  const sessions = socketGuards.sessions;
  // Registered before the namespaces' own handlers: every message is budgeted, then authorised.
  viewers.on('connection', (socket) => {
    socketGuards.admit(socket, 'viewer');
    authorizeViewerMessages(socket, audit, registry);
  });
  producers.on('connection', (socket) => {
    socketGuards.admit(socket, 'producer');
    authorizeProducerMessages(socket, audit, registry);
  });
  const producerSockets = new ProducerSockets(producers, registry);
  const commands = new CommandService({
    control,
    store: new CommandStore(store.db),
    registry,
    transport: producerSockets,
    audit,
    resubmit: options.resubmit ?? resubmitter ?? undefined,
    ...options.commands,
  });
  commands.on('error', (error) => app.log.error({ err: error }, 'command service error'));
  await commands.restore();
  commands.on('state', (command) => {
    metrics.commandState(command);
    app.log.info(
      {
        event: 'command',
        commandId: command.id,
        run: command.run,
        kind: command.kind,
        state: command.state,
        ...(command.reason !== undefined && { reason: command.reason }),
      },
      `command ${command.state}`,
    );
    viewers.to(runRoom(command.run)).emit('command:state', command);
  });
  attachCommandChannel(viewers, commands, sessions, audit);
  await app.register(steeringRoutes, { commands, audit, shares, registry, sessions });

  // Facilities: REST, and snapshots pushed to every browser (coalesced: pollers report often).
  let facilitiesTimer: NodeJS.Timeout | null = null;
  const facilities = options.facilities;
  if (facilities) {
    await app.register(facilityRoutes, { service: facilities, audit });
    const FACILITIES_PUSH_MS = 2000;
    let lastPush = 0;
    const push = () => {
      facilitiesTimer = null;
      lastPush = Date.now();
      viewers.emit('facilities', facilities.snapshots());
    };
    facilities.on('update', () => {
      if (facilitiesTimer) return;
      facilitiesTimer = setTimeout(push, Math.max(0, lastPush + FACILITIES_PUSH_MS - Date.now()));
    });
    viewers.on('connection', (socket) => socket.emit('facilities', facilities.snapshots()));
  }
  options.cluster?.attach(registry, viewers);
  const fanOut = attachViewerNamespace(viewers, registry, {
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    ...(options.maxBufferedBytes !== undefined && { maxBufferedBytes: options.maxBufferedBytes }),
    ...(options.metricsIntervalMs !== undefined && {
      metricsIntervalMs: options.metricsIntervalMs,
    }),
    listRuns: () => runs.list(),
    observer: {
      sent: (frame) => metrics.frameSent(frame.header.stream, frame.payload.byteLength),
      replaced: (frame) => metrics.frameReplaced(frame.header.stream),
      acknowledged: (frame) =>
        metrics.frameAcknowledged(frame.header.stream, frame.header.acceptedAt, Date.now()),
    },
  });
  options.facilities?.on('poll', (p) => metrics.facilityPolled(p.source, p.seconds, p.ok));
  metrics.attach({
    connections: () => ({ viewer: viewers.sockets.size, producer: producers.sockets.size }),
    inFlightPerViewer: () => fanOut.inFlightPerViewer(),
    ...(options.facilities && {
      facilities: () => options.facilities!.snapshots(),
      waitEstimates: () => options.facilities!.estimate(DEFAULT_RECON_JOB),
      now: () => options.facilities!.now(),
    }),
  });
  const controlChannel = attachControlChannel(viewers, control, audit, registry, {
    releaseGraceMs: options.control?.releaseGraceMs ?? 30_000,
  });

  // After the fan-out's own listener: the recorder only queues, the viewers are served first.
  if (recorder) attachRecorder(recorder, registry, commands);

  // Every TCP connection, upgraded ones included, so a drain can end those a client keeps open
  // (ws waits 30 s for a peer's close frame otherwise).
  const connections = new Set<NetSocket>();
  app.server.on('connection', (socket: NetSocket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });

  // Keep the last sequence numbers on disk so a restarted gateway can tell a producer what it kept.
  const FLUSH_INTERVAL_MS = 2000;
  const flushTimer = setInterval(
    () =>
      registry
        .flush()
        .catch((error: unknown) => app.log.warn({ err: error }, 'runs not stored yet')),
    FLUSH_INTERVAL_MS,
  );

  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    app,
    registry,
    commands,
    control,
    audit,
    resubmitter,
    shares,
    producerTokens,
    sessions,
    securityCounters: () => ({ ...registry.counters(), ...socketGuards.figures() }),
    guards,
    viewers,
    producers,
    recorder,
    close() {
      closing ??= (async () => {
        // Drain: refuse new sessions, tell everyone this is a restart (not a final disconnect),
        // keep state on disk, then close the transports. Closing the transport, not the namespace
        // (`disconnectSockets`), matters: Socket.IO clients never retry a server-side disconnect.
        draining = true;
        // No new connection is taken (a client retrying now gets ECONNREFUSED, a transient error).
        app.server.close();
        const notice = {
          reason: 'the gateway is restarting',
          retryAfterMs: options.restartRetryAfterMs ?? 1000,
        };
        // Local: through a cluster's adapter a broadcast would reach every gateway's viewers.
        viewers.local.emit('gateway:restarting', notice);
        producers.emit('gateway:restarting', notice);
        clearInterval(flushTimer);
        // Leases given up now, so the gateway a producer reconnects to takes its run at once.
        await options.cluster?.release();
        socketGuards.stop();
        resubmitter?.close();
        fanOut.close();
        controlChannel.close();
        control.close();
        await commands.close();
        if (facilitiesTimer) clearTimeout(facilitiesTimer);
        await registry
          .flush()
          .catch((error: unknown) => app.log.error({ err: error }, 'runs not stored at shutdown'));
        await recorder?.close();
        // Open commands stay in the database as they are: a command whose answer is lost now is
        // offered again after the restart, and the consumer answers a repeated id from memory.
        await closeTransports([...viewers.sockets.values(), ...producers.sockets.values()], 2000);
        await endConnections(connections, 1000);
        await new Promise<void>((resolve) => viewerIo.close(() => resolve()));
        await new Promise<void>((resolve) => producerIo.close(() => resolve()));
        await app.close().catch(() => undefined);
        // The state changes of the last moments, then the refusal counts still open, are written.
        await commands.flushed();
        await audit
          .close()
          .catch((error: unknown) => app.log.error({ err: error }, 'audit not sealed at shutdown'));
        if (ownStore) await store.close();
      })();
      return closing;
    },
  };
}

/** Closes each socket's engine connection once its queued packets are out, or after `ms`. */
async function closeTransports(
  sockets: { conn: { close(): void; once(event: 'close', fn: () => void): unknown } }[],
  ms: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.conn.once('close', () => resolve());
            socket.conn.close();
          }),
      ),
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** Ends every connection (after what was written to it), destroying those still open after `ms`. */
async function endConnections(connections: Set<NetSocket>, ms: number): Promise<void> {
  for (const socket of connections) socket.end();
  const deadline = Date.now() + ms;
  while (connections.size > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  for (const socket of connections) socket.destroy();
}
