import type { Kysely } from 'kysely';
import type { AuditLogTable, Database } from '../db/Database';
import { sha256 } from './auditSummary';

/** The previous-hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** One row of `audit_log` as stored (args: canonical JSON of the summary, as hashed; minute: start
 * of the minute a refusal count covers, epoch ms). */
export type AuditRow = AuditLogTable;

/**
 * SHA-256 of the previous row's hash and this row's content, every column in a fixed order. The
 * id is part of it, so moving a row to another place in the chain breaks it as editing one does.
 */
export function auditRowHash(row: Omit<AuditRow, 'hash'>): string {
  return sha256(
    JSON.stringify([
      row.prev_hash,
      row.id,
      row.at,
      row.category,
      row.subject,
      row.role,
      row.address,
      row.action,
      row.run,
      row.kind,
      row.args,
      row.args_hash,
      row.idempotency_key,
      row.outcome,
      row.status,
      row.reason,
      row.count,
      row.minute,
    ]),
  );
}

export interface AuditProblem {
  /** The row where the chain breaks (for a truncated tail: the last row the head names). */
  id: number;
  problem: string;
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  /** The last row's id and hash: keep them elsewhere to detect a rewrite of the whole tail. */
  headId: number;
  headHash: string;
  problems: AuditProblem[];
}

/** Stops listing after this many problems: one tampered row is enough to fail. */
const MAX_PROBLEMS = 50;

/**
 * Walks the chain in id order and recomputes every hash: an edited row fails its own hash, a
 * deleted one leaves a gap and a broken link, reordered rows fail both, and a truncated tail no
 * longer matches the head the log keeps beside the chain.
 */
/** Rows read per query while walking the chain: memory stays bounded whatever the log's length. */
const PAGE_ROWS = 1000;

export async function verifyAuditChain(db: Kysely<Database>): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const note = (id: number, problem: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ id, problem });
  };
  let prevId = 0;
  let prevHash = GENESIS_HASH;
  let rows = 0;
  // Paged by id rather than by offset, so a page is an index range however far along the walk is.
  let after: number | null = null;
  for (;;) {
    let page = db.selectFrom('audit_log').selectAll();
    if (after !== null) page = page.where('id', '>', after);
    const batch = await page.orderBy('id').limit(PAGE_ROWS).execute();
    for (const row of batch) {
      rows++;
      if (row.id !== prevId + 1)
        note(row.id, `rows ${prevId + 1}…${row.id - 1} are missing (deleted or moved)`);
      if (row.prev_hash !== prevHash)
        note(
          row.id,
          `its previous-hash does not match row ${prevId}: a row before it was changed, removed or moved`,
        );
      if (auditRowHash(row) !== row.hash)
        note(row.id, 'its content does not match its hash: the row was edited');
      prevId = row.id;
      prevHash = row.hash;
    }
    if (batch.length < PAGE_ROWS) break;
    after = prevId;
  }
  const head = await db
    .selectFrom('audit_head')
    .select(['last_id', 'last_hash'])
    .where('one', '=', 1)
    .executeTakeFirst();
  const headId = head?.last_id ?? 0;
  const headHash = head?.last_hash ?? GENESIS_HASH;
  if (headId !== prevId || headHash !== prevHash)
    note(
      headId,
      `the log's head names row ${headId}, the chain ends at row ${prevId}: rows were removed from its end or added around the log`,
    );
  return { ok: problems.length === 0, rows, headId, headHash, problems };
}
