import type { Pool } from 'pg';
import type { GatewayAddress, OwnershipStore, RunOwner } from './OwnershipStore';

/**
 * The cluster's tables, created idempotently at start-up: run leases, and the table
 * @socket.io/postgres-adapter keeps payloads over NOTIFY's 8000-byte limit in (its documented
 * schema). Expiry is compared with the database's clock (`now()`), never a gateway's, so clock skew
 * between machines cannot hand a run to two owners. Kept here until the shared store's numbered
 * migrations (server/db/migrations) take it over.
 */
export const CLUSTER_DDL = `
CREATE TABLE IF NOT EXISTS loupe_run_owners (
  run_id TEXT PRIMARY KEY,
  gateway_id TEXT NOT NULL,
  url TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  -- Incremented on every change of owner: a fencing token for whoever needs one.
  epoch BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS socket_io_attachments (
  id BIGSERIAL UNIQUE,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  payload BYTEA
);`;

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

/** Run leases in PostgreSQL through `pg`: one table, each claim one atomic statement. */
export class PgOwnershipStore implements OwnershipStore {
  private constructor(private readonly pool: Pool) {}

  /** Creates the tables if missing (concurrent starts are serialised by an advisory lock). */
  static async open(pool: Pool): Promise<PgOwnershipStore> {
    const client = await pool.connect();
    try {
      // Two gateways starting at once would race on CREATE TABLE IF NOT EXISTS (a unique violation
      // on pg_type); one transaction-scoped advisory lock orders them.
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('loupe_cluster_ddl'))");
      await client.query(CLUSTER_DDL);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
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
    await this.pool.query('DELETE FROM loupe_run_owners WHERE run_id = $1 AND gateway_id = $2', [
      run,
      gatewayId,
    ]);
  }

  async ownerOf(run: string): Promise<RunOwner | null> {
    const result = await this.pool.query<OwnerRow>(
      `SELECT run_id, gateway_id, url, (extract(epoch from expires_at) * 1000)::bigint AS expires_ms
       FROM loupe_run_owners WHERE run_id = $1 AND expires_at >= now()`,
      [run],
    );
    return result.rows[0] ? toOwner(result.rows[0]) : null;
  }

  async close(): Promise<void> {
    // The pool belongs to whoever opened it (it also carries the Socket.IO adapter).
  }
}
