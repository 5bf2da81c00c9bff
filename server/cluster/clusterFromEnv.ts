import pg from 'pg';
import { ConfigError } from '../config';
import { GatewayCluster } from './GatewayCluster';
import { PgOwnershipStore } from './PgOwnershipStore';
import { HaproxyRuntime, parseRuntimeAddress } from './HaproxyRuntime';

/**
 * The cluster settings (docs/cluster.md): LOUPE_GATEWAY_ID makes this gateway one of several; it
 * then needs LOUPE_DATABASE_URL (the shared PostgreSQL) and LOUPE_ADVERTISE_URL (where the other
 * gateways reach it, for forwarded commands and `run:elsewhere`). LOUPE_LEASE_TTL_MS sets the lease.
 * LOUPE_HAPROXY_RUNTIME (HAProxy runtime API addresses, comma-separated) with
 * LOUPE_HAPROXY_OWNERS_MAP (the map file HAProxy's frontend reads) turn on route by lease.
 * Null without LOUPE_GATEWAY_ID: a single gateway needs none of it.
 */
export async function clusterFromEnv(
  env: NodeJS.ProcessEnv,
  onError?: (error: Error, what: string) => void,
): Promise<GatewayCluster | null> {
  const id = env.LOUPE_GATEWAY_ID;
  if (!id) return null;
  const url = env.LOUPE_DATABASE_URL;
  const advertise = env.LOUPE_ADVERTISE_URL;
  if (!url)
    throw new ConfigError(
      'LOUPE_GATEWAY_ID is set: LOUPE_DATABASE_URL must name the PostgreSQL database the gateways share',
    );
  if (!advertise || !URL.canParse(advertise))
    throw new ConfigError(
      'LOUPE_GATEWAY_ID is set: LOUPE_ADVERTISE_URL must be the URL the other gateways reach this one at',
    );
  // Every setting is checked before anything connects.
  const router = routerFromEnv(env);
  const ttl = Number(env.LOUPE_LEASE_TTL_MS ?? 3000);
  if (!Number.isInteger(ttl) || ttl < 300 || ttl > 60_000)
    throw new ConfigError('LOUPE_LEASE_TTL_MS must be an integer between 300 and 60000 (ms)');
  const report =
    onError ??
    ((error: Error, what: string) => console.error(`cluster: ${what}: ${error.message}`));
  // Small: leases and control events only. A restarted database drops every client with an
  // 'error': on the pool for idle ones, on the client itself for checked-out ones (the adapter's
  // LISTEN client, which pg-pool leaves without a listener and the adapter reconnects on 'end').
  // Unheard, either would end the process; each is reported once, by the client's own listener.
  const pool = new pg.Pool({ connectionString: url, max: 6, connectionTimeoutMillis: 5000 });
  pool.on('connect', (client) =>
    client.on('error', (error) => report(error, 'database connection')),
  );
  pool.on('error', () => undefined);
  const store = await PgOwnershipStore.open(pool);
  return new GatewayCluster({
    self: { id, url: new URL(advertise).origin },
    store,
    pool,
    leaseTtlMs: ttl,
    onError: report,
    onClosed: () => pool.end(),
    ...(router && { router }),
  });
}

function routerFromEnv(env: NodeJS.ProcessEnv): HaproxyRuntime | null {
  const runtime = env.LOUPE_HAPROXY_RUNTIME?.trim();
  const map = env.LOUPE_HAPROXY_OWNERS_MAP?.trim();
  if (!runtime && !map) return null;
  if (!runtime || !map)
    throw new ConfigError(
      'route by lease needs both LOUPE_HAPROXY_RUNTIME (the runtime API addresses) and LOUPE_HAPROXY_OWNERS_MAP (the map file the frontend reads)',
    );
  try {
    return new HaproxyRuntime({
      balancers: runtime.split(',').map((a) => parseRuntimeAddress(a)),
      map,
    });
  } catch (error) {
    throw new ConfigError(
      `LOUPE_HAPROXY_RUNTIME / LOUPE_HAPROXY_OWNERS_MAP: ${(error as Error).message}`,
    );
  }
}
