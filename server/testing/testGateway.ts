import { io, type Socket } from 'socket.io-client';
import {
  type GatewayToProducer,
  type GatewayToViewer,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type ProducerToGateway,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  type ViewerToGateway,
} from '@/lib/protocol';
import { LocalUsers, type UsersFile } from '../auth/LocalUsers';
import { openStore, type Store } from '../db/openStore';
import { type Gateway, type GatewayOptions, startGateway } from '../gateway';

export const TEST_USERS: UsersFile = {
  users: [
    // Facility-wide consumers: any run no other producer identity owns.
    { name: 'consumer', role: 'producer', token: 'producer-token-0123456789', runs: ['*'] },
    { name: 'consumer-2', role: 'producer', token: 'producer-token-2-0123456789', runs: ['*'] },
    // A consumer scoped to one run, as a beamline's own reconstruction would be.
    { name: 'consumer-x', role: 'producer', token: 'producer-token-x-0123456789', runs: ['run-x'] },
    { name: 'ada', role: 'scientist', token: 'scientist-token-0123456789', runs: ['run-1'] },
    { name: 'bob', role: 'scientist', token: 'scientist-b-token-0123456789', runs: ['run-b'] },
    { name: 'sam', role: 'staff', token: 'staff-token-0123456789', runs: [] },
    { name: 'remote', role: 'viewer', token: 'viewer-token-0123456789', runs: [] },
  ],
};
export const TOKENS = {
  producer: 'producer-token-0123456789',
  producer2: 'producer-token-2-0123456789',
  producerX: 'producer-token-x-0123456789',
  scientist: 'scientist-token-0123456789',
  otherScientist: 'scientist-b-token-0123456789',
  staff: 'staff-token-0123456789',
  viewer: 'viewer-token-0123456789',
} as const;

/** A real gateway on an ephemeral loopback port with an in-memory database and the test users. */
/**
 * A store for a test's gateway and facility service to share: a SQLite memory file, or with
 * LOUPE_TEST_STORE=postgres its own schema in the test PostgreSQL. Close it after them.
 */
export async function openTestStore(): Promise<Store> {
  if (process.env.LOUPE_TEST_STORE !== 'postgres') return openStore({ sqlite: ':memory:' });
  const { storeDialects } = await import('../db/testing/testStores');
  const postgres = storeDialects().find((d) => d.dialect === 'postgres')!;
  if (postgres.skip !== null) throw new Error(`LOUPE_TEST_STORE=postgres: ${postgres.skip}`);
  return postgres.open();
}

export async function startTestGateway(overrides: Partial<GatewayOptions> = {}): Promise<Gateway> {
  // LOUPE_TEST_STORE=postgres runs a test file's gateways on PostgreSQL (each in its own schema of
  // the test database) unless the test gives a store of its own: the same tests on both dialects.
  if (overrides.db === undefined && process.env.LOUPE_TEST_STORE === 'postgres') {
    const store = await openTestStore();
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      db: store,
      users: new LocalUsers(TEST_USERS),
      allowAnonymousViewers: true,
      ...overrides,
    }).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    return {
      ...gateway,
      async close() {
        await gateway.close();
        await store.close();
      },
    };
  }
  return startGateway({
    host: '127.0.0.1',
    port: 0,
    db: ':memory:',
    users: new LocalUsers(TEST_USERS),
    allowAnonymousViewers: true,
    ...overrides,
  });
}

export type ProducerClient = Socket<GatewayToProducer, ProducerToGateway>;
export type ViewerClient = Socket<GatewayToViewer, ViewerToGateway>;

export function producerClient(
  url: string,
  token?: string,
  protocolVersion = PROTOCOL_VERSION,
): ProducerClient {
  return io(url + PRODUCER_NAMESPACE, {
    path: PRODUCER_SOCKET_PATH,
    transports: ['websocket'],
    reconnection: false,
    // The producer engine authenticates the handshake itself, from this header.
    ...(token && { extraHeaders: { authorization: `Bearer ${token}` } }),
    auth: { protocolVersion, ...(token && { token }) },
  });
}

/**
 * A viewer as a page of the gateway's own origin opens it: browsers send Origin on every WebSocket
 * handshake, and the gateway refuses a viewer with neither an Origin nor a token.
 */
export function viewerClient(url: string, token?: string): ViewerClient {
  return io(url + VIEWER_NAMESPACE, {
    path: VIEWER_SOCKET_PATH,
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { origin: new URL(url).origin },
    auth: { protocolVersion: PROTOCOL_VERSION, ...(token && { token }) },
  });
}

/** Resolves on connect, rejects with the server's refusal on connect_error. */
export function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
}

/** Waits for `predicate` to hold, polling, failing after `timeoutMs`. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** POSTs a steering command over REST as `token`, with its idempotency key, as the UI does. */
export function postCommand(
  url: string,
  run: string,
  token: string,
  request: unknown,
  idempotencyKey: string,
): Promise<Response> {
  return fetch(`${url}/api/runs/${run}/commands`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify(request),
  });
}
