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
import { authenticateSocket } from './auth/authenticateSocket';
import { installHttpAuth } from './auth/httpAuth';
import type { LocalUsers } from './auth/LocalUsers';
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
  /** A viewer with a frame unacknowledged this long is disconnected (ms). */
  stallTimeoutMs?: number;
  logger?: boolean;
}

export interface Gateway {
  url: string;
  port: number;
  app: FastifyInstance;
  registry: RunRegistry;
  viewers: ViewerNamespace;
  producers: ProducerNamespace;
  close(): Promise<void>;
}

/** Starts the gateway: REST under /api, Socket.IO engines for viewers and producers, one HTTP server. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const db = typeof options.db === 'string' ? openDatabase(options.db) : options.db;
  const registry = new RunRegistry(db);
  registry.on('error', (error) => app.log.error({ err: error }, 'run registry error'));

  const app = Fastify({
    // Request lines are info-level; the default level keeps the console to warnings and errors.
    logger: options.logger
      ? { level: process.env.LOUPE_LOG_LEVEL ?? 'warn', redact: ['req.headers.authorization'] }
      : false,
    // REST bodies are small JSON (commands, estimates); frames never travel over REST.
    bodyLimit: 64 * 1024,
  });
  installHttpAuth(app, options.users, options.allowAnonymousViewers ?? false);
  app.get('/api/health', async () => ({ ok: true, protocolVersion: PROTOCOL_VERSION }));
  await app.register(runRoutes, { registry });

  // Two engines on one HTTP server, so producers may send large frames while a viewer's messages
  // stay capped small. destroyUpgrade must be off or each engine would kill the other's upgrades.
  const viewerIo = new Server<
    ViewerToGateway,
    GatewayToViewer,
    Record<string, never>,
    { identity: Identity }
  >(app.server, {
    path: VIEWER_SOCKET_PATH,
    maxHttpBufferSize: MAX_VIEWER_MESSAGE_BYTES,
    serveClient: false,
    destroyUpgrade: false,
    cors: options.allowedOrigins?.length ? { origin: options.allowedOrigins } : undefined,
  });
  const producerIo = new Server<
    ProducerToGateway,
    GatewayToProducer,
    Record<string, never>,
    { identity: Identity }
  >(app.server, {
    path: PRODUCER_SOCKET_PATH,
    maxHttpBufferSize: MAX_PRODUCER_MESSAGE_BYTES,
    serveClient: false,
    destroyUpgrade: false,
  });
  const viewers: ViewerNamespace = viewerIo.of(VIEWER_NAMESPACE);
  const producers: ProducerNamespace = producerIo.of(PRODUCER_NAMESPACE);
  viewers.use(
    authenticateSocket({
      users: options.users,
      roles: ['viewer', 'scientist', 'staff'],
      allowAnonymous: options.allowAnonymousViewers ?? false,
    }),
  );
  producers.use(
    authenticateSocket({ users: options.users, roles: ['producer'], allowAnonymous: false }),
  );
  attachProducerNamespace(producers, registry);
  const fanOut = attachViewerNamespace(viewers, registry, {
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
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
    viewers,
    producers,
    close() {
      closing ??= (async () => {
        clearInterval(flushTimer);
        fanOut.close();
        registry.flush();
        viewerIo.disconnectSockets(true);
        producerIo.disconnectSockets(true);
        await new Promise<void>((resolve) => viewerIo.close(() => resolve()));
        await new Promise<void>((resolve) => producerIo.close(() => resolve()));
        await app.close().catch(() => undefined);
        if (typeof options.db === 'string') db.close();
      })();
      return closing;
    },
  };
}
