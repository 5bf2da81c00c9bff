import { EventEmitter } from 'node:events';
import type { AuditCategory, AuditEntry, AuditQuery } from '@/lib/protocol';
import type { Db } from '../db/openDatabase';
import { type AuditArgs, argsHash, canonicalJson } from './auditSummary';
import {
  type AuditRow,
  type AuditVerification,
  auditRowHash,
  GENESIS_HASH,
  verifyAuditChain,
} from './verifyAuditChain';

export type AuditOutcome = AuditEntry['outcome'];

/** Who did it, as the audit names them (never their token). */
export interface AuditActor {
  subject: string;
  role: string;
}

/** One steering, site-decision or share request that parsed, whatever its answer. */
export interface AuditAttempt {
  who: AuditActor;
  /** `command:<kind>`, `site:decide`, `share:create`. */
  action: string;
  run?: string | null;
  kind?: string | null;
  /** From the summaries of ./auditSummary (schema-shaped, allow-listed); never a raw body. */
  args?: AuditArgs | null;
  idempotencyKey?: string | null;
  outcome: AuditOutcome;
  /** HTTP-equivalent status of the answer. */
  status?: number | null;
  reason?: string | null;
}

/** A later state of an accepted command, or a decision taken on its behalf. */
export type AuditProgress = Omit<AuditAttempt, 'idempotencyKey'>;

/**
 * Something refused before it was a well-formed request (unknown event, malformed body, budget
 * exceeded, forbidden subscription, …). Counted: one row per actor, action, reason and minute.
 * `reason` should be a fixed text, not an echo of the input, or each variant gets its own row.
 */
export interface AuditRefusal {
  who: AuditActor;
  /** The caller's address: what tells anonymous callers apart. */
  address?: string | null;
  action: string;
  run?: string | null;
  reason: string;
  status?: number | null;
}

/** The audit log could not be written; steering must not go on without it. */
export class AuditUnavailableError extends Error {
  constructor(cause: unknown) {
    super(
      `the audit log cannot be written (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
    this.name = 'AuditUnavailableError';
  }
}

export interface AuditLogOptions {
  now?: () => number;
  /** Distinct refusal counts kept open at once; beyond, refusals share one overflow count. */
  maxOpenRefusals?: number;
  /** How often ended minutes' refusal counts are written (ms). */
  sealIntervalMs?: number;
}

interface AuditEvents {
  error: [error: Error];
}

interface OpenRefusal {
  refusal: AuditRefusal;
  minute: number;
  count: number;
  lastAt: number;
}

const MINUTE_MS = 60_000;
/** Longest text one field keeps (characters); ids, names and reasons are shorter. */
const MAX_TEXT = 200;
const clip = (s: string | null | undefined) =>
  s === null || s === undefined ? null : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;

const OVERFLOW: AuditRefusal = {
  who: { subject: '(many)', role: '-' },
  action: 'refusal:overflow',
  reason: 'more distinct refusals in one minute than the audit counts apart',
};

/**
 * The append-only, hash-chained record of who tried what: one row per steering attempt (replays,
 * denials and conflicts included), per command state change, and per actor × reason × minute of
 * refusals. Rows hold schema-shaped summaries only. Each row stores the SHA-256 of the previous
 * row's hash and its own content; triggers refuse UPDATE and DELETE, and `verify()` (or
 * `npm run audit:verify`) finds a row changed, removed or moved with the triggers dropped.
 */
export class AuditLog extends EventEmitter<AuditEvents> {
  private readonly now: () => number;
  private readonly maxOpen: number;
  private readonly open = new Map<string, OpenRefusal>();
  private readonly timer: NodeJS.Timeout;
  private readonly insert;
  private readonly advanceHead;
  private readonly head;

  constructor(
    private readonly db: Db,
    options: AuditLogOptions = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.maxOpen = options.maxOpenRefusals ?? 1000;
    db.exec(`
      CREATE TABLE IF NOT EXISTS audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        category TEXT NOT NULL,
        subject TEXT NOT NULL,
        role TEXT NOT NULL,
        address TEXT,
        action TEXT NOT NULL,
        run TEXT,
        kind TEXT,
        args TEXT,
        args_hash TEXT,
        idempotency_key TEXT,
        outcome TEXT NOT NULL,
        status INTEGER,
        reason TEXT,
        count INTEGER NOT NULL,
        minute INTEGER,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
      CREATE INDEX IF NOT EXISTS audit_log_run ON audit_log (run, id);
      CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject, id);
      CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TABLE IF NOT EXISTS audit_head (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        last_id INTEGER NOT NULL,
        last_hash TEXT NOT NULL
      );
      INSERT OR IGNORE INTO audit_head (one, last_id, last_hash) VALUES (1, 0, '${GENESIS_HASH}');
      CREATE TRIGGER IF NOT EXISTS audit_head_follows BEFORE UPDATE ON audit_head
        WHEN NEW.last_id IS NOT (SELECT max(id) FROM audit_log)
        BEGIN SELECT RAISE(ABORT, 'the audit head names the last row only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
        BEGIN SELECT RAISE(ABORT, 'the audit head stays'); END;
    `);
    this.insert = db.prepare(
      `INSERT INTO audit_log (id, at, category, subject, role, address, action, run, kind, args,
         args_hash, idempotency_key, outcome, status, reason, count, minute, prev_hash, hash)
       VALUES (@id, @at, @category, @subject, @role, @address, @action, @run, @kind, @args,
         @args_hash, @idempotency_key, @outcome, @status, @reason, @count, @minute, @prev_hash, @hash)`,
    );
    this.head = db.prepare('SELECT last_id, last_hash FROM audit_head WHERE one = 1');
    this.advanceHead = db.prepare('UPDATE audit_head SET last_id = ?, last_hash = ? WHERE one = 1');
    this.migrateUnchained();
    const SEAL_MS = options.sealIntervalMs ?? 5000;
    this.timer = setInterval(() => this.sealEnded(), SEAL_MS);
    this.timer.unref();
  }

  /** Records one attempt; throws AuditUnavailableError when it cannot, so the caller refuses. */
  attempt(a: AuditAttempt): AuditEntry {
    return this.write('attempt', {
      ...a,
      idempotencyKey: a.idempotencyKey ?? null,
      count: 1,
      minute: null,
      address: null,
      at: this.now(),
    });
  }

  /** Records a command's progress; throws AuditUnavailableError when it cannot. */
  progress(p: AuditProgress): AuditEntry {
    return this.write('progress', {
      ...p,
      idempotencyKey: null,
      count: 1,
      minute: null,
      address: null,
      at: this.now(),
    });
  }

  /**
   * Counts one refusal. Memory stays bounded (`maxOpenRefusals` counts); the count is written
   * once its minute has ended, and never fails the caller (a refusal changes nothing anyway).
   */
  refused(r: AuditRefusal): void {
    const at = this.now();
    const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
    const refusal: AuditRefusal = {
      who: { subject: clip(r.who.subject)!, role: clip(r.who.role)! },
      address: clip(r.address),
      action: clip(r.action)!,
      run: clip(r.run),
      reason: clip(r.reason)!,
      status: r.status ?? null,
    };
    let key = JSON.stringify([
      minute,
      refusal.who.subject,
      refusal.who.role,
      refusal.address,
      refusal.action,
      refusal.run,
      refusal.reason,
      refusal.status,
    ]);
    if (!this.open.has(key) && this.open.size >= this.maxOpen) {
      this.sealEnded();
      if (this.open.size >= this.maxOpen) key = JSON.stringify([minute, 'overflow']);
    }
    const bucket = this.open.get(key);
    if (bucket) {
      bucket.count++;
      bucket.lastAt = at;
    } else {
      this.open.set(key, {
        refusal: key.endsWith('"overflow"]') ? OVERFLOW : refusal,
        minute,
        count: 1,
        lastAt: at,
      });
    }
  }

  /** Writes every refusal count whose minute has ended (all of them with `all`, at shutdown). */
  sealEnded(all = false): void {
    const current = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    for (const [key, b] of this.open) {
      if (!all && b.minute >= current) continue;
      try {
        this.write('refusal', {
          who: b.refusal.who,
          address: b.refusal.address ?? null,
          action: b.refusal.action,
          run: b.refusal.run ?? null,
          kind: null,
          args: null,
          idempotencyKey: null,
          outcome: 'denied',
          status: b.refusal.status ?? null,
          reason: b.refusal.reason,
          count: b.count,
          minute: b.minute,
          at: b.lastAt,
        });
        this.open.delete(key);
      } catch (error) {
        // Kept open and tried again at the next seal; the bound above still holds.
        this.emit('error', error as Error);
        return;
      }
    }
  }

  /** Newest first. `restrictTo` limits a scientist to their own entries and their runs'. */
  query(q: AuditQuery, restrictTo?: { subject: string; runs: readonly string[] }): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const equal: [keyof AuditQuery, string][] = [
      ['subject', 'subject'],
      ['run', 'run'],
      ['action', 'action'],
      ['outcome', 'outcome'],
      ['category', 'category'],
    ];
    for (const [field, column] of equal) {
      if (q[field] === undefined) continue;
      where.push(`${column} = ?`);
      args.push(q[field]);
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
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const stored = (this.db.prepare(sql).all(...args, q.limit) as AuditRow[]).map(toEntry);
    // Counts still open this minute are shown too, so a flood is visible while it lasts.
    const pending = [...this.open.values()]
      .map((b, i): AuditEntry => ({
        id: -(i + 1),
        at: b.lastAt,
        category: 'refusal',
        subject: b.refusal.who.subject,
        role: b.refusal.who.role,
        address: b.refusal.address ?? null,
        action: b.refusal.action,
        run: b.refusal.run ?? null,
        kind: null,
        args: null,
        argsHash: null,
        idempotencyKey: null,
        outcome: 'denied',
        status: b.refusal.status ?? null,
        reason: b.refusal.reason,
        count: b.count,
        hash: null,
      }))
      .filter(
        (e) =>
          (q.subject === undefined || e.subject === q.subject) &&
          (q.run === undefined || e.run === q.run) &&
          (q.action === undefined || e.action === q.action) &&
          (q.outcome === undefined || e.outcome === q.outcome) &&
          (q.category === undefined || e.category === q.category) &&
          (q.from === undefined || e.at >= q.from) &&
          (q.to === undefined || e.at <= q.to) &&
          (!restrictTo ||
            e.subject === restrictTo.subject ||
            (e.run !== null && restrictTo.runs.includes(e.run))),
      )
      .sort((a, b) => b.at - a.at);
    return [...pending, ...stored].slice(0, q.limit);
  }

  verify(): AuditVerification {
    return verifyAuditChain(this.db);
  }

  /** Writes the open refusal counts and stops the timer. */
  close(): void {
    clearInterval(this.timer);
    this.sealEnded(true);
  }

  private write(
    category: AuditCategory,
    e: Omit<AuditAttempt, 'who'> & {
      who: AuditActor;
      idempotencyKey: string | null;
      address: string | null;
      count: number;
      minute: number | null;
      at: number;
    },
  ): AuditEntry {
    const args = e.args ? canonicalJson(e.args) : null;
    try {
      const row = this.db
        .transaction(() => {
          const head = this.head.get() as { last_id: number; last_hash: string };
          const unhashed: Omit<AuditRow, 'hash'> = {
            id: head.last_id + 1,
            at: e.at,
            category,
            subject: clip(e.who.subject)!,
            role: clip(e.who.role)!,
            address: e.address,
            action: clip(e.action)!,
            run: clip(e.run),
            kind: e.kind ?? null,
            args,
            args_hash: e.args ? argsHash(e.args) : null,
            idempotency_key: e.idempotencyKey,
            outcome: e.outcome,
            status: e.status ?? null,
            reason: e.reason ?? null,
            count: e.count,
            minute: e.minute,
            prev_hash: head.last_hash,
          };
          const full: AuditRow = { ...unhashed, hash: auditRowHash(unhashed) };
          this.insert.run(full);
          this.advanceHead.run(full.id, full.hash);
          return full;
        })
        .immediate();
      return toEntry(row);
    } catch (error) {
      throw new AuditUnavailableError(error);
    }
  }

  /**
   * The first version kept an unchained `audit` table with raw (scrubbed) payloads, some holding
   * secrets its scrubber missed. Its rows join the chain without their payloads, and the table is
   * dropped with its pages zeroed.
   */
  private migrateUnchained(): void {
    const legacy = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'")
      .get();
    if (!legacy) return;
    type Legacy = {
      at: number;
      subject: string;
      role: string;
      action: string;
      run: string | null;
      outcome: AuditOutcome;
      reason: string | null;
    };
    const secureDelete = this.db.pragma('secure_delete', { simple: true }) as number;
    this.db.pragma('secure_delete = ON');
    try {
      this.db.transaction(() => {
        for (const old of this.db
          .prepare('SELECT at, subject, role, action, run, outcome, reason FROM audit ORDER BY id')
          .all() as Legacy[]) {
          this.write(old.action.startsWith('socket:') ? 'refusal' : 'attempt', {
            who: { subject: old.subject, role: old.role },
            action: old.action.startsWith('socket:') ? 'socket:unknown' : old.action,
            run: old.run,
            outcome: old.outcome,
            reason: old.reason === null ? null : clip(old.reason),
            idempotencyKey: null,
            address: null,
            count: 1,
            minute: null,
            at: old.at,
          });
        }
        this.db.exec(`
          DROP TRIGGER IF EXISTS audit_no_update;
          DROP TRIGGER IF EXISTS audit_no_delete;
          DROP TABLE audit;
        `);
      })();
    } finally {
      this.db.pragma(`secure_delete = ${secureDelete ? 'ON' : 'OFF'}`);
    }
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    category: row.category as AuditCategory,
    subject: row.subject,
    role: row.role,
    address: row.address,
    action: row.action,
    run: row.run,
    kind: row.kind,
    args: row.args === null ? null : (JSON.parse(row.args) as Record<string, unknown>),
    argsHash: row.args_hash,
    idempotencyKey: row.idempotency_key,
    outcome: row.outcome as AuditOutcome,
    status: row.status,
    reason: row.reason,
    count: row.count,
    hash: row.hash,
  };
}
