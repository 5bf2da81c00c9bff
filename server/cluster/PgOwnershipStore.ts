import { Kysely, PostgresDialect } from 'kysely';
import type { Pool } from 'pg';
import type { Database } from '../db/Database';
import { migrate } from '../db/openStore';
import type { GatewayAddress, OwnershipStore, RunOwner } from './OwnershipStore';

interface OwnerRow {
  run_id: string;
  gateway_id: string;
  url: string;
  expires_ms: string;
}

const toOwner = (row: OwnerRow): RunOwner => ({
  run: row.run_id,
  gateway: row.gateway_id,
  url: row.url,
  expiresAt: Number(row.expires_ms),
});

const RETURNING = `RETURNING run_id, gateway_id, url,
  (extract(epoch from expires_at) * 1000)::bigint AS expires_ms`;

/**
 * Run leases in PostgreSQL through `pg`: the table `loupe_run_owners` of the store's migrations
 * (0005_clusterTables), each claim one atomic statement.
 *
 * Not on the store's generic Leases (server/db/Leases.ts), on purpose: a run's lease changes hands
 * within seconds of its owner dying (LOUPE_LEASE_TTL_MS, 3 s by default), so expiry is judged by
 * the database's clock (`now()`), whereas Leases compares the gateways' own clocks (fine for the
 * 15 s facility-pollers lease, not for 3 s with real clock skew); and an owner carries the URL the
 * other gateways reach it at, which a Leases row does not hold.
 */
export class PgOwnershipStore implements OwnershipStore {
  private constructor(private readonly pool: Pool) {}

  /**
   * Brings the store's schema up to date over `pool` (the cluster's tables included), then
   * answers from it. Gateways starting together wait on the migrator's lock.
   */
  static async open(pool: Pool): Promise<PgOwnershipStore> {
    // Not destroyed afterwards: destroying the Kysely instance would end the borrowed pool.
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    await migrate({ db, dialect: 'postgres' });
    return new PgOwnershipStore(pool);
  }

  async claim(run: string, gateway: GatewayAddress, ttlMs: number): Promise<RunOwner> {
    const won = await this.pool.query<OwnerRow>(
      `INSERT INTO loupe_run_owners AS o (run_id, gateway_id, url, expires_at)
       VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
       ON CONFLICT (run_id) DO UPDATE SET
         gateway_id = EXCLUDED.gateway_id, url = EXCLUDED.url, expires_at = EXCLUDED.expires_at,
         epoch = o.epoch + CASE WHEN o.gateway_id = EXCLUDED.gateway_id THEN 0 ELSE 1 END
       WHERE o.expires_at < now() OR o.gateway_id = EXCLUDED.gateway_id
       ${RETURNING}`,
      [run, gateway.id, gateway.url, ttlMs],
    );
    if (won.rows[0]) return toOwner(won.rows[0]);
    // Lost to a live lease: say whose. (It may have expired in between; the next claim takes it.)
    const owner = await this.ownerOf(run);
    return owner ?? { run, gateway: '', url: '', expiresAt: 0 };
  }

  async renew(runs: readonly string[], gateway: GatewayAddress, ttlMs: number): Promise<string[]> {
    if (runs.length === 0) return [];
    const result = await this.pool.query<{ run_id: string }>(
      `UPDATE loupe_run_owners SET expires_at = now() + $3 * interval '1 millisecond'
       WHERE gateway_id = $1 AND run_id = ANY($2::text[]) RETURNING run_id`,
      [gateway.id, [...runs], ttlMs],
    );
    return result.rows.map((r) => r.run_id);
  }

  async release(run: string, gatewayId: string): Promise<void> {
    // Expired rather than deleted: the row says the cluster knows the run (knows()), and the next
    // claim takes it at once as it takes any expired lease.
    await this.pool.query(
      `UPDATE loupe_run_owners SET expires_at = now() - interval '1 millisecond'
       WHERE run_id = $1 AND gateway_id = $2`,
      [run, gatewayId],
    );
  }

  async ownerOf(run: string): Promise<RunOwner | null> {
    const result = await this.pool.query<OwnerRow>(
      `SELECT run_id, gateway_id, url, (extract(epoch from expires_at) * 1000)::bigint AS expires_ms
       FROM loupe_run_owners WHERE run_id = $1 AND expires_at >= now()`,
      [run],
    );
    return result.rows[0] ? toOwner(result.rows[0]) : null;
  }

  async knows(run: string): Promise<boolean> {
    const result = await this.pool.query(
      `SELECT 1 FROM runs WHERE id = $1 UNION ALL SELECT 1 FROM loupe_run_owners WHERE run_id = $1
       LIMIT 1`,
      [run],
    );
    return result.rows.length > 0;
  }

  async close(): Promise<void> {
    // The pool belongs to whoever opened it (it also carries the Socket.IO adapter).
  }
}
