import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './Database';
import type { StoreDialect } from './StoreDialect';
import { migrationProvider } from './migrations/migrations';
import { type Db, openDatabase } from './openDatabase';

/** The gateway's store: one typed query layer over SQLite or PostgreSQL, schema migrated. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /**
   * The better-sqlite3 handle under `db` on SQLite (the same connection, so its writes and the
   * query builder's are one stream), null on PostgreSQL.
   */
  readonly sqlite: Db | null;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `postgres://…` (LOUPE_DATABASE_URL) selects PostgreSQL; anything else is ignored. */
  url?: string | undefined;
  /** The SQLite file (`:memory:` in tests), or a handle already open; used when `url` is unset. */
  sqlite?: string | Db;
  /** PostgreSQL schema to work in (created if missing); tests isolate themselves in one each. */
  schema?: string;
  /** PostgreSQL connections per gateway (default 10). */
  poolSize?: number;
  /** Called when an idle PostgreSQL connection breaks (e.g. the server restarted); default warns. */
  onPoolError?: (error: Error) => void;
  /** false: leave the schema as it is (a read-only tool such as audit:verify). Default true. */
  migrate?: boolean;
}

/** Tells a Store from a better-sqlite3 handle or a path. */
export function isStore(x: unknown): x is Store {
  return typeof x === 'object' && x !== null && 'dialect' in x && 'db' in x && 'close' in x;
}

/** True when `url` names a PostgreSQL server. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/**
 * Opens the store and runs every pending migration before returning, so no feature ever sees an
 * older schema. Gateways starting together serialise on Kysely's migration lock.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema))
    throw new Error(`not a plain PostgreSQL schema name: ${options.schema}`);
  const store = isPostgresUrl(options.url)
    ? openPostgres(options.url, options)
    : openSqlite(options.sqlite ?? ':memory:');
  try {
    if (store.dialect === 'postgres' && options.schema !== undefined)
      await store.db.schema.createSchema(options.schema).ifNotExists().execute();
    if (options.migrate !== false) await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** Brings the schema to the newest migration; throws the first failure (nothing half-applied). */
export async function migrate(store: Pick<Store, 'db' | 'dialect'>): Promise<string[]> {
  // Kysely looks for its own tables in every schema it can see unless told which; with two stores
  // in one PostgreSQL database (tests run in a schema each), another schema's tables would pass
  // for ours. So its tables live, and are looked for, in the schema this store works in.
  const schema =
    store.dialect === 'postgres'
      ? (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(store.db)).rows[0]
          ?.schema
      : undefined;
  const migrator = new Migrator({
    db: store.db,
    provider: migrationProvider(store.dialect),
    ...(schema !== undefined && { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'the migrator';
    throw new Error(`store migration failed at ${failed}: ${String(error)}`, { cause: error });
  }
  return (results ?? []).map((r) => r.migrationName);
}

function openSqlite(source: string | Db): Store {
  const owned = typeof source === 'string';
  const handle: BetterSqlite3.Database = owned ? openDatabase(source) : source;
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) });
  return {
    db,
    dialect: 'sqlite',
    sqlite: handle,
    async close() {
      // Kysely's SQLite driver closes the handle it was given; a borrowed one stays open.
      if (owned) await db.destroy();
    },
  };
}

function openPostgres(url: string, options: OpenStoreOptions): Store {
  // Epoch milliseconds are BIGINT; they stay exact as JavaScript numbers (< 2^53), so parse them as
  // numbers rather than pg's default strings.
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // A store that cannot be reached fails a query within seconds rather than hanging a request.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    types,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client whose server went away emits here; the pool drops it and the next query dials
  // a new one, so a PostgreSQL restart costs the queries in flight, not the gateway.
  const onError = options.onPoolError ?? ((e: Error) => console.warn(`store: ${e.message}`));
  pool.on('error', onError);
  // A client checked out when its server goes away emits 'error' outside any query; unheard, that
  // would be an uncaught exception taking the gateway down. The query in flight fails on its own.
  pool.on('connect', (client) => client.on('error', onError));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    sqlite: null,
    async close() {
      await db.destroy();
    },
  };
}
