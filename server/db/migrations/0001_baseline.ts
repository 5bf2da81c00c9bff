import { type Kysely, sql } from 'kysely';
import { GENESIS_HASH } from '../../audit/verifyAuditChain';
import type { StoreDialect } from '../StoreDialect';

/**
 * Every table the gateway had before migrations existed, in its latest shape. `IF NOT EXISTS`
 * throughout, so a SQLite file written by an older gateway (whose features created their own
 * tables) is adopted as it is; the columns those older files may lack are added by 0002.
 */
export function baseline(dialect: StoreDialect) {
  // SQLite keeps every integer in up to 8 bytes whatever it is called; PostgreSQL needs BIGINT for
  // epoch milliseconds.
  const int64 = dialect === 'sqlite' ? 'integer' : 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await s
        .createTable('runs')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('sample', 'text')
        .addColumn('beamline', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addColumn('last_seq', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('owner', 'text')
        .execute();

      await s
        .createTable('commands')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('run', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('detail', 'text')
        .addColumn('artifact', 'text')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();
      await s
        .createIndex('commands_run')
        .ifNotExists()
        .on('commands')
        .columns(['run', 'created_at'])
        .execute();

      await s
        .createTable('idempotency')
        .ifNotExists()
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('body_hash', 'text', (c) => c.notNull())
        .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'integer')
        .addColumn('response', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('command', 'text')
        .addPrimaryKeyConstraint('idempotency_pk', ['subject', 'key'])
        .execute();

      await s
        .createTable('share_links')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('run', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('expires_at', int64, (c) => c.notNull())
        .addColumn('revoked_at', int64)
        .addColumn('revoked_by', 'text')
        .execute();
      await s
        .createIndex('share_links_run')
        .ifNotExists()
        .on('share_links')
        .columns(['run', 'expires_at'])
        .execute();

      await s
        .createTable('audit_log')
        .ifNotExists()
        // Supplied by the writer (the chain's position), never generated.
        .addColumn('id', int64, (c) => c.primaryKey())
        .addColumn('at', int64, (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('run', 'text')
        .addColumn('kind', 'text')
        .addColumn('args', 'text')
        .addColumn('args_hash', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('reason', 'text')
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('minute', int64)
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      for (const [name, columns] of [
        ['audit_log_at', ['at']],
        ['audit_log_run', ['run', 'id']],
        ['audit_log_subject', ['subject', 'id']],
      ] as const)
        await s
          .createIndex(name)
          .ifNotExists()
          .on('audit_log')
          .columns([...columns])
          .execute();
      await s
        .createTable('audit_head')
        .ifNotExists()
        .addColumn('one', 'integer', (c) => c.primaryKey().check(sql`one = 1`))
        .addColumn('last_id', int64, (c) => c.notNull())
        .addColumn('last_hash', 'text', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, 0, ${GENESIS_HASH})
        ON CONFLICT (one) DO NOTHING`.execute(db);
      await auditTriggers(db, dialect);

      await s
        .createTable('facility_snapshots')
        .ifNotExists()
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stale', 'integer', (c) => c.notNull())
        .addColumn('queued', 'integer')
        .addColumn('running', 'integer')
        .addColumn('queued_node_hours', 'double precision')
        .addColumn('free_nodes', 'integer')
        .addColumn('wait_median_s', 'double precision')
        .addColumn('wait_bound95_s', 'double precision')
        .addColumn('snapshot', 'text', (c) => c.notNull())
        .execute();
      await s
        .createIndex('facility_snapshots_at')
        .ifNotExists()
        .on('facility_snapshots')
        .columns(['system', 'at'])
        .execute();
      await s
        .createTable('facility_waits')
        .ifNotExists()
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('queue', 'text')
        .addColumn('nodes', 'integer', (c) => c.notNull())
        .addColumn('walltime_s', 'double precision', (c) => c.notNull())
        .addColumn('submit_s', 'double precision', (c) => c.notNull())
        .addColumn('start_s', 'double precision', (c) => c.notNull())
        .addColumn('wait_s', 'double precision', (c) => c.notNull())
        .addColumn('features', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('facility_waits_pk', ['system', 'job_id'])
        .execute();
      await s
        .createIndex('facility_waits_start')
        .ifNotExists()
        .on('facility_waits')
        .columns(['system', 'start_s'])
        .execute();
      await s
        .createTable('facility_decisions')
        .ifNotExists()
        .addColumn('id', 'integer', (c) =>
          dialect === 'sqlite'
            ? c.primaryKey().autoIncrement()
            : c.primaryKey().generatedByDefaultAsIdentity(),
        )
        .addColumn('who', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('recommended', 'text')
        .addColumn('override', 'integer', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('at', int64, (c) => c.notNull())
        .addColumn('job', 'text')
        .execute();
    },
  };
}

/**
 * The audit log is append-only and its head names its last row, enforced by the database itself so
 * that no code path (ours or a hand-run query) can rewrite history without dropping a trigger.
 */
async function auditTriggers(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS audit_head_follows BEFORE UPDATE ON audit_head
      WHEN NEW.last_id IS NOT (SELECT max(id) FROM audit_log)
      BEGIN SELECT RAISE(ABORT, 'the audit head names the last row only'); END`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
      BEGIN SELECT RAISE(ABORT, 'the audit head stays'); END`.execute(db);
    return;
  }
  await sql`CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$`.execute(db);
  await sql`CREATE OR REPLACE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
  await sql`CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);
  await sql`CREATE OR REPLACE FUNCTION audit_head_follows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.last_id IS DISTINCT FROM (SELECT max(id) FROM audit_log) THEN
        RAISE EXCEPTION 'the audit head names the last row only';
      END IF;
      RETURN NEW;
    END $$`.execute(db);
  await sql`CREATE OR REPLACE TRIGGER audit_head_follows BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_follows()`.execute(db);
  await sql`CREATE OR REPLACE FUNCTION audit_head_stays() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit head stays'; END $$`.execute(db);
  await sql`CREATE OR REPLACE TRIGGER audit_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_stays()`.execute(db);
}
