import Fastify, { type FastifyInstance } from 'fastify';
import { Server } from 'socket.io';
import {
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
import { ShareLinks } from './auth/ShareLinks';
import { devSignInRoutes } from './http/devSignInRoutes';
import { drainRefusedBodies } from './http/drainRefusedBodies';
import { healthRoutes } from './http/healthRoutes';
import { installJsonBodyParser } from './http/jsonBodyParser';
import {
  engineRequestRefusal,
  installHostCheck,
  type RequestGuards,
  requestGuards,
} from './http/requestGuards';
import { viewerOriginGuard } from './auth/viewerOriginGuard';
import { AuditLog } from './steering/AuditLog';
import {
  authorizeProducerMessages,
  authorizeViewerMessages,
} from './steering/authorizeSocketMessages';
import {
  CommandService,
  type CommandServiceOptions,
  type ResubmitHandler,
} from './steering/CommandService';
import { steeringRoutes } from './steering/steeringRoutes';
import type { FacilityService } from './facilities/FacilityService';
import { facilityRoutes } from './facilities/facilityRoutes';
import { FacilityResubmitter } from './steering/FacilityResubmitter';
import { type Db, openDatabase } from './db/openDatabase';
import { runRoutes } from './http/runRoutes';
import { attachProducerNamespace, type ProducerNamespace } from './streams/producerNamespace';
import { RunRegistry } from './streams/RunRegistry';
import { attachViewerNamespace, type ViewerNamespace } from './streams/viewerNamespace';

export interface GatewayOptions {
  /** Interface to listen on; tests and the embedded default use loopback only. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** SQLite file path, ':memory:', or an open database. */
  db: string | Db;
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
  /** Timeouts and limits of steering commands. */
  commands?: Partial<
    Omit<CommandServiceOptions, 'db' | 'registry' | 'producers' | 'audit' | 'resubmit'>
  >;
}

export interface Gateway {
  url: string;
  port: number;
  app: FastifyInstance;
  registry: RunRegistry;
  commands: CommandService;
  audit: AuditLog;
  /** Present when the gateway has facilities: knows which run each submitted job is for. */
  resubmitter: FacilityResubmitter | null;
  shares: ShareLinks;
  /** Host, Origin and proxy rules, with counts of what they refused. */
  guards: RequestGuards;
  viewers: ViewerNamespace;
  producers: ProducerNamespace;
  close(): Promise<void>;
}

/** Starts the gateway: REST under /api, Socket.IO engines for viewers and producers, one HTTP server. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const db = typeof options.db === 'string' ? openDatabase(options.db) : options.db;
  const registry = new RunRegistry(db);
  registry.on('error', (error) => app.log.error({ err: error }, 'run registry error'));

  const allowedOrigins = options.allowedOrigins ?? [];
  const guards = requestGuards({
    allowedOrigins,
    ...(options.allowedHosts && { allowedHosts: options.allowedHosts }),
    ...(options.trustedProxies && { trustedProxies: options.trustedProxies }),
  });
  const app = Fastify({
    // X-Forwarded-* only from the configured proxies (request.ip, request.host).
    trustProxy: guards.trust,
    // Request lines are info-level; the default level keeps the console to warnings and errors.
    logger: options.logger
      ? { level: process.env.LOUPE_LOG_LEVEL ?? 'warn', redact: ['req.headers.authorization'] }
      : false,
    // REST bodies are small JSON (commands, estimates); frames never travel over REST.
    bodyLimit: 64 * 1024,
  });
  installHostCheck(app, guards);
  installJsonBodyParser(app);
  drainRefusedBodies(app);
  const shares = new ShareLinks(options.shareSecret ?? crypto.getRandomValues(new Uint8Array(32)));
  const verifier: TokenVerifier = new CompositeVerifier([
    options.users,
    shares,
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
  if (options.devSignIn)
    await app.register(devSignInRoutes, {
      users: options.users,
      listenHost: options.host ?? '127.0.0.1',
      guards,
    });
  await app.register(healthRoutes, { db });
  app.get('/api/health', async () => ({ ok: true, protocolVersion: PROTOCOL_VERSION }));
  await app.register(runRoutes, { registry });
  const audit = new AuditLog(db);

  // Two engines on one HTTP server, so producers may send large frames while a viewer's messages
  // stay capped small. destroyUpgrade must be off or each engine would kill the other's upgrades.
  const viewerIo = new Server<
    ViewerToGateway,
    GatewayToViewer,
    Record<string, never>,
    { identity: Identity; runs?: Set<string> }
  >(app.server, {
    path: VIEWER_SOCKET_PATH,
    maxHttpBufferSize: MAX_VIEWER_MESSAGE_BYTES,
    serveClient: false,
    destroyUpgrade: false,
    cors: allowedOrigins.length ? { origin: allowedOrigins } : undefined,
    allowRequest: (req, callback) => {
      const refusal = engineRequestRefusal(guards, req, true);
      callback(refusal, refusal === null);
    },
  });
  const producerIo = new Server<
    ProducerToGateway,
    GatewayToProducer,
    Record<string, never>,
    { identity: Identity; runs?: Set<string> }
  >(app.server, {
    path: PRODUCER_SOCKET_PATH,
    maxHttpBufferSize: MAX_PRODUCER_MESSAGE_BYTES,
    serveClient: false,
    destroyUpgrade: false,
    allowRequest: (req, callback) => {
      const refusal = engineRequestRefusal(guards, req, false);
      callback(refusal, refusal === null);
    },
  });
  const viewers: ViewerNamespace = viewerIo.of(VIEWER_NAMESPACE);
  const producers: ProducerNamespace = producerIo.of(PRODUCER_NAMESPACE);
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
    ? new FacilityResubmitter({ facilities: options.facilities, registry, audit })
    : null;
  const commands = new CommandService({
    db,
    registry,
    producers,
    audit,
    resubmit: options.resubmit ?? resubmitter ?? undefined,
    ...options.commands,
  });
  commands.on('error', (error) => app.log.error({ err: error }, 'command service error'));
  commands.on('state', (command) =>
    viewers.to(`run:${command.run}`).emit('command:state', command),
  );
  // Registered before the namespaces' own handlers, so every message is authorised first.
  viewers.on('connection', (socket) => authorizeViewerMessages(socket, audit, commands));
  const ownerOf = (run: string) => {
    const id = registry.producerOf(run);
    return id ? (producers.sockets.get(id)?.data.identity.subject ?? null) : null;
  };
  // Only a socket other than the registering one is superseded, so a reconnect is not.
  const supersede = (run: string, by: { id: string }) => {
    for (const [id, socket] of producers.sockets) {
      if (id === by.id || registry.producerOf(run) !== by.id) continue;
      if (!socket.data.runs?.has(run)) continue;
      socket.data.runs.delete(run);
      socket.emit('run:superseded', {
        run,
        reason: `run ${run} is now streamed by a newer consumer`,
      });
      if (socket.data.runs.size === 0) socket.disconnect(true);
    }
  };
  registry.on('registered', (run, producer) => {
    const socket = producers.sockets.get(producer);
    if (!socket) return;
    socket.data.runs ??= new Set();
    socket.data.runs.add(run);
  });
  producers.on('connection', (socket) =>
    authorizeProducerMessages(socket, audit, ownerOf, supersede),
  );
  attachProducerNamespace(producers, registry);
  await app.register(steeringRoutes, { commands, audit, shares, registry });

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
  const fanOut = attachViewerNamespace(viewers, registry, {
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    ...(options.maxBufferedBytes !== undefined && { maxBufferedBytes: options.maxBufferedBytes }),
    ...(options.metricsIntervalMs !== undefined && {
      metricsIntervalMs: options.metricsIntervalMs,
    }),
  });

  // Keep the last sequence numbers on disk so a restarted gateway can tell a producer what it kept.
  const FLUSH_INTERVAL_MS = 2000;
  const flushTimer = setInterval(() => registry.flush(), FLUSH_INTERVAL_MS);

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
    audit,
    resubmitter,
    shares,
    guards,
    viewers,
    producers,
    close() {
      closing ??= (async () => {
        clearInterval(flushTimer);
        fanOut.close();
        commands.close();
        if (facilitiesTimer) clearTimeout(facilitiesTimer);
        registry.flush();
        // Namespaced sockets: io.disconnectSockets() only reaches the main namespace "/", and the HTTP
        // server cannot close while a producer or viewer connection stays open.
        viewers.disconnectSockets(true);
        producers.disconnectSockets(true);
        await new Promise<void>((resolve) => viewerIo.close(() => resolve()));
        await new Promise<void>((resolve) => producerIo.close(() => resolve()));
        await app.close().catch(() => undefined);
        if (typeof options.db === 'string') db.close();
      })();
      return closing;
    },
  };
}
