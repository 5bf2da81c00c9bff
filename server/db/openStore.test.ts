import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../audit/verifyAuditChain';
import { migrationsFor } from './migrations/migrations';
import { isPostgresUrl, migrate, openStore } from './openStore';
import { type TestStore, describeEachStore } from './testing/testStores';

const TABLES = [
  'audit_head',
  'audit_log',
  'commands',
  'facility_decisions',
  'facility_snapshots',
  'facility_waits',
  'idempotency',
  'leases',
  'runs',
  'share_links',
];
/** A cluster needs PostgreSQL: its tables exist there only (0005_clusterTables). */
const CLUSTER_TABLES = ['loupe_run_owners', 'socket_io_attachments'];

describeEachStore('the store schema', (open, dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(() => store.close());

  it('has every table after start-up, and migrating again changes nothing', async () => {
    // Introspection sees every schema of the database: other tests' run beside this one.
    const tables = (await store.db.introspection.getTables())
      .filter((t) => store.postgres === null || t.schema === store.postgres.schema)
      .map((t) => t.name)
      .sort();
    expect(tables).toEqual(dialect === 'postgres' ? [...TABLES, ...CLUSTER_TABLES].sort() : TABLES);
    expect(await migrate(store)).toEqual([]);
    const head = await store.db.selectFrom('audit_head').selectAll().execute();
    expect(head).toEqual([{ one: 1, last_id: 0, last_hash: GENESIS_HASH }]);
  });

  it('returns epoch milliseconds as numbers', async () => {
    const at = 1_764_000_000_123;
    await store.db
      .insertInto('share_links')
      .values({
        id: 's',
        run: 'r',
        created_by: 'u',
        created_at: at,
        expires_at: at + 1,
        revoked_at: null,
        revoked_by: null,
      })
      .execute();
    const row = await store.db.selectFrom('share_links').selectAll().executeTakeFirstOrThrow();
    expect(row.created_at).toBe(at);
    expect(typeof row.expires_at).toBe('number');
  });

  it('keeps the audit log append-only and its head on the last row, in the database itself', async () => {
    const row = {
      id: 1,
      at: 1,
      category: 'command',
      subject: 'u',
      role: 'operator',
      address: null,
      action: 'submit',
      run: null,
      kind: null,
      args: null,
      args_hash: null,
      idempotency_key: null,
      outcome: 'accepted',
      status: 202,
      reason: null,
      count: 1,
      minute: null,
      prev_hash: GENESIS_HASH,
      hash: 'h1',
    };
    await store.db.insertInto('audit_log').values(row).execute();
    await expect(
      store.db.updateTable('audit_log').set({ outcome: 'refused' }).where('id', '=', 1).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(store.db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(
      store.db.updateTable('audit_head').set({ last_id: 2, last_hash: 'x' }).execute(),
    ).rejects.toThrow(/last row only/);
    await store.db.updateTable('audit_head').set({ last_id: 1, last_hash: 'h1' }).execute();
    await expect(store.db.deleteFrom('audit_head').execute()).rejects.toThrow(/stays/);
    expect(await store.db.selectFrom('audit_log').select('outcome').execute()).toEqual([
      { outcome: 'accepted' },
    ]);
  });
});

describe('openStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'loupe-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adopts a SQLite file written before migrations, adding the later columns, keeping rows', async () => {
    const path = join(dir, 'old.sqlite');
    const old = new Database(path);
    // The first version's tables, as its features created them (no owner, command or job).
    old.exec(`CREATE TABLE runs (id TEXT PRIMARY KEY, title TEXT NOT NULL, sample TEXT,
        beamline TEXT, state TEXT NOT NULL, created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, last_seq TEXT NOT NULL DEFAULT '{}');
      CREATE TABLE idempotency (subject TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0, status INTEGER, response TEXT,
        created_at INTEGER NOT NULL, PRIMARY KEY (subject, key));
      CREATE TABLE facility_decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT NOT NULL,
        role TEXT NOT NULL, system TEXT NOT NULL, recommended TEXT, override INTEGER NOT NULL,
        note TEXT, at INTEGER NOT NULL);
      INSERT INTO runs VALUES ('r1', 'Old run', NULL, NULL, 'ended', 1, 2, '{"0":7}');`);
    old.close();
    const store = await openStore({ sqlite: path });
    try {
      const run = await store.db.selectFrom('runs').selectAll().executeTakeFirstOrThrow();
      expect(run).toMatchObject({ id: 'r1', title: 'Old run', last_seq: '{"0":7}', owner: null });
      const tables = await store.db.introspection.getTables();
      const columns = (t: string) => tables.find((x) => x.name === t)?.columns.map((c) => c.name);
      expect(columns('idempotency')).toContain('command');
      expect(columns('facility_decisions')).toContain('job');
      expect(await migrate(store)).toEqual([]);
    } finally {
      await store.close();
    }
    // The file is migrated for good: the next start applies nothing.
    const again = await openStore({ sqlite: path });
    expect(await migrate(again)).toEqual([]);
    await again.close();
  });

  it('records each migration once, by its number, in order', async () => {
    const store = await openStore({ sqlite: ':memory:' });
    const applied = await sql<{
      name: string;
    }>`SELECT name FROM kysely_migration ORDER BY name`.execute(store.db);
    expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrationsFor('sqlite')));
    expect(Object.keys(migrationsFor('sqlite'))).toEqual(Object.keys(migrationsFor('postgres')));
    await store.close();
  });

  it('selects PostgreSQL only for a postgres:// URL and refuses a schema name that is not plain', async () => {
    expect(isPostgresUrl('postgres://u@h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://u@h/db')).toBe(true);
    expect(isPostgresUrl('/var/lib/loupe.sqlite')).toBe(false);
    expect(isPostgresUrl(undefined)).toBe(false);
    await expect(
      openStore({ url: 'postgres://u@127.0.0.1:1/x', schema: 'a; DROP TABLE runs' }),
    ).rejects.toThrow(/schema name/);
  });
});
