import { createHash } from 'node:crypto';
import type { CommandAnswer, CommandRecord, CommandRequest, ErrorAnswer } from '@/lib/protocol';
import type { CommandStore, CommandTransaction } from './CommandStore';

/** Answer to a submission, as REST sends it (the socket path wraps the same). */
export interface SubmitResult {
  status: number;
  /** The route's answer (lib/protocol/rest.ts): the command, or a refusal. */
  body: CommandAnswer | (ErrorAnswer & { code?: 'not_in_control' });
  replayed: boolean;
}

/** Writes the audit row of this attempt, in the submission's transaction where one is given. */
export type AuditAttempt = (
  outcome: 'denied' | 'accepted' | 'replayed',
  status: number,
  reason: string,
  tx?: CommandTransaction,
) => Promise<unknown>;

/** A refusal, as a submission answers it. */
export function refusal(status: number, error: string): SubmitResult {
  return { status, body: { error }, replayed: false };
}

/**
 * Idempotency keys of submissions (per subject): a key's first request is answered once, a repeat
 * of it is answered as the first was, the same key with another request is refused, and a key
 * still being answered (here or on another gateway sharing the store) is refused or, when its
 * gateway never answered, answered with the command recorded with it.
 */
export class IdempotencyKeys {
  /** Keys (subject NUL key) this process is answering now. */
  private readonly answering = new Set<string>();

  constructor(private readonly store: CommandStore) {}

  /**
   * Reserves `key` for `command` and runs `record` (which writes the command and its audit row)
   * in one transaction, so a concurrent duplicate (on this gateway or another sharing the
   * database) sees the reservation and a failed audit write leaves no trace. Null when reserved:
   * the caller then answers through `answer`. Otherwise the answer a repeat gets (audited).
   */
  async reserve(
    subject: string,
    key: string,
    submission: { run: string; request: CommandRequest },
    command: CommandRecord,
    attempt: AuditAttempt,
    record: (tx: CommandTransaction) => Promise<void>,
  ): Promise<SubmitResult | null> {
    const hash = createHash('sha256').update(JSON.stringify(submission)).digest('hex');
    const answeringKey = `${subject}\u0000${key}`;
    try {
      return await this.store.transaction(async (tx): Promise<SubmitResult | null> => {
        const existing = await tx.reserve(subject, key, hash, command.createdAt, command.id);
        if (existing) {
          if (existing.bodyHash !== hash) {
            const error = 'this Idempotency-Key was used with another request';
            await attempt('denied', 422, error, tx);
            return refusal(422, error);
          }
          if (!existing.done && this.answering.has(answeringKey)) {
            const error = 'a request with this Idempotency-Key is still in progress';
            await attempt('denied', 409, error, tx);
            return refusal(409, error);
          }
          // A reservation no request of this process holds was made by another gateway (which may
          // still be answering, or have stopped before it did); its command was recorded with it,
          // so that command, as it stands, is the answer: never a second one.
          const orphan =
            !existing.done && existing.command !== null
              ? await tx.get(existing.command)
              : undefined;
          if (orphan) {
            await tx.answered(subject, key, 202, JSON.stringify({ command: orphan }));
            await attempt(
              'replayed',
              202,
              'idempotent replay of a request its gateway never answered',
              tx,
            );
            return { status: 202, body: { command: orphan }, replayed: true };
          }
          if (!existing.done || existing.status === null || existing.response === null) {
            const error = 'a request with this Idempotency-Key is still in progress';
            await attempt('denied', 409, error, tx);
            return refusal(409, error);
          }
          await attempt(
            'replayed',
            existing.status,
            'idempotent replay: answered as the first time',
            tx,
          );
          return {
            status: existing.status,
            body: JSON.parse(existing.response) as SubmitResult['body'],
            replayed: true,
          };
        }
        this.answering.add(answeringKey);
        await record(tx);
        return null;
      });
    } catch (error) {
      this.answering.delete(answeringKey);
      throw error;
    }
  }

  /** Answers a reserved key's first request with what `produce` gives, and stores that answer. */
  async answer(
    subject: string,
    key: string,
    produce: () => Promise<SubmitResult>,
  ): Promise<SubmitResult> {
    try {
      const result = await produce();
      await this.store.answered(subject, key, result.status, JSON.stringify(result.body));
      return result;
    } finally {
      this.answering.delete(`${subject}\u0000${key}`);
    }
  }
}
