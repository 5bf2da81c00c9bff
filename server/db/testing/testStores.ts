import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { describe } from 'vitest';
import { type Store, openStore } from '../openStore';
import type { StoreDialect } from '../StoreDialect';

const URL_FILE = '/run/loupe-pg/url';
const START_SCRIPT = fileURLToPath(
  new URL('../../../scripts/ci/startPostgres.sh', import.meta.url),
);

/** A store for one test: its own SQLite memory file, or its own schema in the test PostgreSQL. */
export interface TestStore extends Store {
  /** The PostgreSQL URL and schema it lives in (null on SQLite), for a second gateway's store. */
  readonly postgres: { url: string; schema: string } | null;
}

interface DialectCase {
  dialect: StoreDialect;
  /** Why this leg does not run here, or null. */
  skip: string | null;
  open(): Promise<TestStore>;
}

function postgresInstalled(): boolean {
  try {
    return readdirSync('/usr/lib/postgresql').some((v) =>
      existsSync(`/usr/lib/postgresql/${v}/bin/initdb`),
    );
  } catch {
    return false;
  }
}

/**
 * The test PostgreSQL's URL: LOUPE_TEST_DATABASE_URL, else the cluster scripts/ci/startPostgres.sh
 * runs (started here when PostgreSQL is installed). Under CI a missing PostgreSQL is an error, so
 * that the PostgreSQL leg can never be skipped silently where it is meant to run.
 */
function resolvePostgres(): { url: string | null; skip: string | null } {
  const fromEnv = process.env.LOUPE_TEST_DATABASE_URL;
  if (fromEnv) return { url: fromEnv, skip: null };
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  if (!postgresInstalled()) {
    const reason = 'PostgreSQL is not installed (apt-get install -y postgresql)';
    if (ci) throw new Error(`CI: the store tests need PostgreSQL: ${reason}`);
    return { url: null, skip: reason };
  }
  // Idempotent (a running cluster is only checked) and locked, so parallel test files may race.
  const run = spawnSync(START_SCRIPT, [], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0 || !existsSync(URL_FILE))
    throw new Error(`scripts/ci/startPostgres.sh failed: ${run.stderr || run.error?.message}`);
  return { url: readFileSync(URL_FILE, 'utf8').trim(), skip: null };
}

let postgres: { url: string | null; skip: string | null } | undefined;
function postgresUrl(): { url: string | null; skip: string | null } {
  postgres ??= resolvePostgres();
  return postgres;
}

async function openPostgresTestStore(url: string): Promise<TestStore> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const store = await openStore({ url, schema, poolSize: 4, onPoolError: () => {} });
  return {
    ...store,
    postgres: { url, schema },
    async close() {
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(store.db).catch(() => {});
      await store.close();
    },
  };
}

/** Both legs, SQLite first; the PostgreSQL one carries its skip reason when it cannot run. */
export function storeDialects(): DialectCase[] {
  const pg = postgresUrl();
  return [
    {
      dialect: 'sqlite',
      skip: null,
      open: async () => ({ ...(await openStore({ sqlite: ':memory:' })), postgres: null }),
    },
    {
      dialect: 'postgres',
      skip: pg.skip,
      open: () => {
        if (pg.url === null) throw new Error(pg.skip ?? 'no PostgreSQL');
        return openPostgresTestStore(pg.url);
      },
    },
  ];
}

/**
 * `describe` once per dialect: the same tests on SQLite and on PostgreSQL. `open` gives each test
 * a fresh, migrated store; close it when done (afterEach).
 */
export function describeEachStore(
  title: string,
  body: (open: () => Promise<TestStore>, dialect: StoreDialect) => void,
): void {
  describe.each(storeDialects())(`${title} on $dialect`, ({ dialect, skip, open }) => {
    if (skip !== null) {
      describe.skip(`skipped: ${skip}`, () => body(open, dialect));
      return;
    }
    body(open, dialect);
  });
}
