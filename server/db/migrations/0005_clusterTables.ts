import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../StoreDialect';

/**
 * The cluster's tables (PostgreSQL only: a cluster needs a shared PostgreSQL, so on SQLite this
 * changes nothing). `loupe_run_owners`: run ownership leases (server/cluster/PgOwnershipStore.ts),
 * with expiry as TIMESTAMPTZ compared with the database's own clock, never a gateway's.
 * `socket_io_attachments`: where @socket.io/postgres-adapter keeps payloads over NOTIFY's
 * 8000-byte limit (its documented schema). `IF NOT EXISTS`: databases of clusters started before
 * this migration have both already (the cluster created them itself then).
 */
export function clusterTables(dialect: StoreDialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`CREATE TABLE IF NOT EXISTS loupe_run_owners (
        run_id TEXT PRIMARY KEY,
        gateway_id TEXT NOT NULL,
        url TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        -- Incremented on every change of owner: a fencing token for whoever needs one.
        epoch BIGINT NOT NULL DEFAULT 1
      )`.execute(db);
      await sql`CREATE TABLE IF NOT EXISTS socket_io_attachments (
        id BIGSERIAL UNIQUE,
        created_at TIMESTAMPTZ DEFAULT NOW(),
        payload BYTEA
      )`.execute(db);
    },
  };
}
