import { EventEmitter } from 'node:events';
import type { AuditCategory, AuditEntry, AuditQuery } from '@/lib/protocol';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/Database';
import type { StoreDialect } from '../db/StoreDialect';
import { type AuditArgs, argsHash, canonicalJson } from './auditSummary';
import {
  type AuditRow,
  type AuditVerification,
  auditRowHash,
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

/** Where the log lives: the store's query layer and its dialect (the chain's lock differs). */
export interface AuditStore {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
}

/** A transaction of the store an append may join, so a row and what it records commit together. */
export type AuditTransaction = Transaction<Database>;

type AuditWrite = Omit<AuditAttempt, 'who'> & {
  who: AuditActor;
  idempotencyKey: string | null;
  address: string | null;
  count: number;
  minute: number | null;
  at: number;
};

/**
 * The append-only, hash-chained record of who tried what: one row per steering attempt (replays,
 * denials and conflicts included), per command state change, and per actor × reason × minute of
 * refusals. Rows hold schema-shaped summaries only. Each row stores the SHA-256 of the previous
 * row's hash and its own content; triggers refuse UPDATE and DELETE, and `verify()` (or
 * `npm run audit:verify`) finds a row changed, removed or moved with the triggers dropped.
 *
 * One chain, whatever the number of gateways: every append reads the chain's head and advances it
 * in one transaction, and on PostgreSQL it locks the head row first (SELECT … FOR UPDATE), so
 * gateways sharing a database append one after another and each row names the row before it. (A
 * chain per gateway would need no lock but would make "the" head, and a gap between chains, a
 * matter of interpretation; an append is a few milliseconds, so the lock costs little.) On SQLite
 * the store's single connection already serialises transactions.
 */
export class AuditLog extends EventEmitter<AuditEvents> {
  private readonly now: () => number;
  private readonly maxOpen: number;
  private readonly open = new Map<string, OpenRefusal>();
  private readonly timer: NodeJS.Timeout;
  private readonly db: Kysely<Database>;
  private readonly dialect: StoreDialect;
  /**
   * The append this gateway is making now (outside a caller's transaction); the next waits for it.
   * Appends serialise on the chain's head anyway, so queueing them here rather than in the
   * database keeps a burst from holding one pool connection each while it waits for the lock,
   * which would starve every other query of the pool.
   */
  private appending: Promise<unknown> = Promise.resolve();
  /** The refusal counts being written now: one seal at a time, so none is written twice. */
  private sealing: Promise<void> = Promise.resolve();

  constructor(store: AuditStore, options: AuditLogOptions = {}) {
    super();
    this.db = store.db;
    this.dialect = store.dialect;
    this.now = options.now ?? Date.now;
    this.maxOpen = options.maxOpenRefusals ?? 1000;
    const SEAL_MS = options.sealIntervalMs ?? 5000;
    this.timer = setInterval(() => void this.sealEnded(), SEAL_MS);
    this.timer.unref();
  }

  /**
   * Records one attempt; rejects with AuditUnavailableError when it cannot, so the caller refuses.
   * With `trx` the row joins the caller's transaction (and is undone with it).
   */
  attempt(a: AuditAttempt, trx?: AuditTransaction): Promise<AuditEntry> {
    return this.write(
      'attempt',
      {
        ...a,
        idempotencyKey: a.idempotencyKey ?? null,
        count: 1,
        minute: null,
        address: null,
        at: this.now(),
      },
      trx,
    );
  }

  /** Records a command's progress; rejects with AuditUnavailableError when it cannot. */
  progress(p: AuditProgress, trx?: AuditTransaction): Promise<AuditEntry> {
    return this.write(
      'progress',
      {
        ...p,
        idempotencyKey: null,
        count: 1,
        minute: null,
        address: null,
        at: this.now(),
      },
      trx,
    );
  }

  /**
   * Records progress the caller cannot wait for (the change has happened whatever the audit
   * says); a failure is reported on 'error'.
   */
  progressLater(p: AuditProgress): void {
    this.progress(p).catch((error: unknown) => this.emit('error', error as Error));
  }

  /**
   * Counts one refusal. Memory stays bounded (`maxOpenRefusals` counts); the count is written
   * once its minute has ended, and never fails the caller (a refusal changes nothing anyway).
   * Synchronous and database-free: it is called on the socket paths.
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
      // Counts whose minute has ended free their places once written; until then, overflow.
      void this.sealEnded();
      key = JSON.stringify([minute, 'overflow']);
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
  sealEnded(all = false): Promise<void> {
    const next = this.sealing.then(() => this.sealNow(all));
    this.sealing = next;
    return next;
  }

  private async sealNow(all: boolean): Promise<void> {
    const current = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    for (const [key, b] of [...this.open]) {
      if (!all && b.minute >= current) continue;
      // Taken out while it is written: refusals arriving meanwhile open a new count.
      this.open.delete(key);
      try {
        await this.write('refusal', {
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
      } catch (error) {
        // Kept open and tried again at the next seal (merged with any newer count of its key).
        const newer = this.open.get(key);
        if (newer) {
          newer.count += b.count;
        } else this.open.set(key, b);
        this.emit('error', error as Error);
        return;
      }
    }
  }

  /** Newest first. `restrictTo` limits a scientist to their own entries and their runs'. */
  async query(
    q: AuditQuery,
    restrictTo?: { subject: string; runs: readonly string[] },
  ): Promise<AuditEntry[]> {
    let select = this.db.selectFrom('audit_log').selectAll();
    if (q.subject !== undefined) select = select.where('subject', '=', q.subject);
    if (q.run !== undefined) select = select.where('run', '=', q.run);
    if (q.action !== undefined) select = select.where('action', '=', q.action);
    if (q.outcome !== undefined) select = select.where('outcome', '=', q.outcome);
    if (q.category !== undefined) select = select.where('category', '=', q.category);
    if (q.from !== undefined) select = select.where('at', '>=', q.from);
    if (q.to !== undefined) select = select.where('at', '<=', q.to);
    if (restrictTo) {
      const runs = [...restrictTo.runs];
      select = select.where((eb) =>
        eb.or([
          eb('subject', '=', restrictTo.subject),
          ...(runs.length ? [eb('run', 'in', runs)] : []),
        ]),
      );
    }
    const stored = (await select.orderBy('id', 'desc').limit(q.limit).execute()).map(toEntry);
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

  verify(): Promise<AuditVerification> {
    return verifyAuditChain(this.db);
  }

  /** Writes the open refusal counts and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sealEnded(true);
  }

  private async write(
    category: AuditCategory,
    e: AuditWrite,
    trx?: AuditTransaction,
  ): Promise<AuditEntry> {
    try {
      let row: AuditRow;
      if (trx) row = await this.append(trx, category, e);
      else {
        const next = this.appending.then(() =>
          this.db.transaction().execute((t) => this.append(t, category, e)),
        );
        this.appending = next.catch(() => undefined);
        row = await next;
      }
      return toEntry(row);
    } catch (error) {
      throw error instanceof AuditUnavailableError ? error : new AuditUnavailableError(error);
    }
  }

  /** Reads the head (locked on PostgreSQL until the transaction ends), appends, advances it. */
  private async append(
    trx: AuditTransaction,
    category: AuditCategory,
    e: AuditWrite,
  ): Promise<AuditRow> {
    let head = trx.selectFrom('audit_head').select(['last_id', 'last_hash']).where('one', '=', 1);
    if (this.dialect === 'postgres') head = head.forUpdate();
    const { last_id, last_hash } = await head.executeTakeFirstOrThrow();
    const unhashed: Omit<AuditRow, 'hash'> = {
      id: last_id + 1,
      at: e.at,
      category,
      subject: clip(e.who.subject)!,
      role: clip(e.who.role)!,
      address: e.address,
      action: clip(e.action)!,
      run: clip(e.run),
      kind: e.kind ?? null,
      args: e.args ? canonicalJson(e.args) : null,
      args_hash: e.args ? argsHash(e.args) : null,
      idempotency_key: e.idempotencyKey,
      outcome: e.outcome,
      status: e.status ?? null,
      reason: e.reason ?? null,
      count: e.count,
      minute: e.minute,
      prev_hash: last_hash,
    };
    const full: AuditRow = { ...unhashed, hash: auditRowHash(unhashed) };
    await trx.insertInto('audit_log').values(full).execute();
    await trx
      .updateTable('audit_head')
      .set({ last_id: full.id, last_hash: full.hash })
      .where('one', '=', 1)
      .execute();
    return full;
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
