import type { AuditEntry, AuditQuery } from '@/lib/protocol';
import type { Db } from '../db/openDatabase';

export type AuditOutcome = AuditEntry['outcome'];

export interface AuditRecord {
  subject: string;
  role: string;
  action: string;
  run?: string | null;
  payload?: unknown;
  outcome: AuditOutcome;
  reason?: string | null;
}

/** Keys whose values never reach the log, wherever they sit in a payload. */
const SECRET_KEYS = /^(token|authorization|password|secret|access_token|id_token|refresh_token)$/i;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEYS.test(k) ? '[redacted]' : scrub(v, depth + 1),
    ]),
  );
}

/**
 * Append-only record of every steering attempt and site decision: who, role, run, action, payload,
 * outcome, time. SQLite triggers refuse UPDATE and DELETE, so not even a bug here can rewrite it.
 */
export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        subject TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        run TEXT,
        payload TEXT,
        outcome TEXT NOT NULL,
        reason TEXT
      );
      CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
      CREATE INDEX IF NOT EXISTS audit_run ON audit (run, at);
      CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `);
  }

  append(record: AuditRecord): AuditEntry {
    const at = this.now();
    const payload = record.payload === undefined ? null : JSON.stringify(scrub(record.payload));
    const result = this.db
      .prepare(
        `INSERT INTO audit (at, subject, role, action, run, payload, outcome, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        at,
        record.subject,
        record.role,
        record.action,
        record.run ?? null,
        payload,
        record.outcome,
        record.reason ?? null,
      );
    return {
      id: Number(result.lastInsertRowid),
      at,
      subject: record.subject,
      role: record.role,
      action: record.action,
      run: record.run ?? null,
      payload: payload === null ? null : JSON.parse(payload),
      outcome: record.outcome,
      reason: record.reason ?? null,
    };
  }

  /** Newest first. `restrictTo` limits a scientist to their own entries and their runs'. */
  query(q: AuditQuery, restrictTo?: { subject: string; runs: readonly string[] }): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.subject) {
      where.push('subject = ?');
      args.push(q.subject);
    }
    if (q.run) {
      where.push('run = ?');
      args.push(q.run);
    }
    if (q.action) {
      where.push('action = ?');
      args.push(q.action);
    }
    if (q.outcome) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    if (q.from !== undefined) {
      where.push('at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at <= ?');
      args.push(q.to);
    }
    if (restrictTo) {
      const marks = restrictTo.runs.map(() => '?').join(',');
      where.push(`(subject = ?${marks ? ` OR run IN (${marks})` : ''})`);
      args.push(restrictTo.subject, ...restrictTo.runs);
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    type Row = Omit<AuditEntry, 'payload'> & { payload: string | null };
    return (this.db.prepare(sql).all(...args, q.limit) as Row[]).map((row) => ({
      ...row,
      payload: row.payload === null ? null : JSON.parse(row.payload),
    }));
  }
}
