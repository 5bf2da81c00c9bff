import { type Kysely, sql } from 'kysely';
import { auditRowHash } from '../../audit/verifyAuditChain';
import type { AuditLogTable } from '../Database';
import type { StoreDialect } from '../StoreDialect';

/** Longest text one audit field keeps (characters), as the audit log clips it. */
const MAX_TEXT = 200;
const clip = (s: string | null) =>
  s === null ? null : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;

interface LegacyRow {
  at: number;
  subject: string;
  role: string;
  action: string;
  run: string | null;
  outcome: string;
  reason: string | null;
}

/**
 * The first version kept an unchained `audit` table (SQLite only) with raw, scrubbed payloads,
 * some holding secrets its scrubber missed. Its rows join the chain without their payloads, and
 * the table is dropped with its pages zeroed. On PostgreSQL, and on any SQLite file without that
 * table, this changes nothing.
 */
export function auditUnchained(dialect: StoreDialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'sqlite') return;
      const legacy = await sql<{ one: number }>`SELECT 1 AS one FROM sqlite_master
        WHERE type = 'table' AND name = 'audit'`.execute(db);
      if (legacy.rows.length === 0) return;
      const mode = await sql<{ secure_delete: number }>`PRAGMA secure_delete`.execute(db);
      await sql`PRAGMA secure_delete = ON`.execute(db);
      try {
        const store = db as unknown as Kysely<{ audit_log: AuditLogTable }>;
        await store.transaction().execute(async (trx) => {
          const head = await sql<{ last_id: number; last_hash: string }>`SELECT last_id, last_hash
            FROM audit_head WHERE one = 1`.execute(trx);
          let { last_id: id, last_hash: prev } = head.rows[0]!;
          const old = await sql<LegacyRow>`SELECT at, subject, role, action, run, outcome, reason
            FROM audit ORDER BY id`.execute(trx);
          for (const r of old.rows) {
            const refusal = r.action.startsWith('socket:');
            const unhashed: Omit<AuditLogTable, 'hash'> = {
              id: ++id,
              at: r.at,
              category: refusal ? 'refusal' : 'attempt',
              subject: clip(r.subject)!,
              role: clip(r.role)!,
              address: null,
              action: refusal ? 'socket:unknown' : clip(r.action)!,
              run: clip(r.run),
              kind: null,
              args: null,
              args_hash: null,
              idempotency_key: null,
              outcome: r.outcome,
              status: null,
              reason: clip(r.reason),
              count: 1,
              minute: null,
              prev_hash: prev,
            };
            const row = { ...unhashed, hash: auditRowHash(unhashed) };
            await trx.insertInto('audit_log').values(row).execute();
            prev = row.hash;
          }
          await sql`UPDATE audit_head SET last_id = ${id}, last_hash = ${prev} WHERE one = 1`.execute(
            trx,
          );
          await sql`DROP TRIGGER IF EXISTS audit_no_update`.execute(trx);
          await sql`DROP TRIGGER IF EXISTS audit_no_delete`.execute(trx);
          await sql`DROP TABLE audit`.execute(trx);
        });
      } finally {
        await sql
          .raw(`PRAGMA secure_delete = ${mode.rows[0]?.secure_delete ? 'ON' : 'OFF'}`)
          .execute(db);
      }
    },
  };
}
