import type { Kysely, Transaction } from 'kysely';
import type { CommandRecord, CommandState } from '@/lib/protocol';
import type { CommandsTable, Database } from '../db/Database';

type Row = Omit<CommandsTable, 'kind' | 'state'> & {
  kind: CommandRecord['kind'];
  state: CommandState;
};

function fromRow(row: Row): CommandRecord {
  return {
    id: row.id,
    run: row.run,
    kind: row.kind,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state,
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.detail !== null && { detail: row.detail }),
    ...(row.artifact !== null && { artifact: row.artifact }),
    subject: row.subject,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** An idempotency key someone has used already, as stored. */
export interface IdempotencyReservation {
  bodyHash: string;
  /** Its first request has been answered (and `status`/`response` hold that answer). */
  done: boolean;
  status: number | null;
  response: string | null;
  /** The command it stands for. */
  command: string | null;
}

/** One submission's transaction: the key, the command and its audit row commit together. */
export class CommandTransaction {
  constructor(readonly trx: Transaction<Database>) {}

  /**
   * Reserves (subject, key) for `command`, or returns the reservation already there. Two gateways
   * reserving the same key at once: the database's primary key lets one insert and makes the
   * other wait for its commit, then see its row.
   */
  async reserve(
    subject: string,
    key: string,
    bodyHash: string,
    at: number,
    command: string,
  ): Promise<IdempotencyReservation | null> {
    const inserted = await this.trx
      .insertInto('idempotency')
      .values({ subject, key, body_hash: bodyHash, created_at: at, command, done: 0 })
      .onConflict((oc) => oc.columns(['subject', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return null;
    const row = await this.trx
      .selectFrom('idempotency')
      .selectAll()
      .where('subject', '=', subject)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    return {
      bodyHash: row.body_hash,
      done: row.done !== 0,
      status: row.status,
      response: row.response,
      command: row.command,
    };
  }

  answered(subject: string, key: string, status: number, response: string): Promise<void> {
    return answered(this.trx, subject, key, status, response);
  }

  async insert(command: CommandRecord): Promise<void> {
    await this.trx
      .insertInto('commands')
      .values({
        id: command.id,
        run: command.run,
        kind: command.kind,
        payload: JSON.stringify(command.payload),
        state: command.state,
        reason: null,
        detail: null,
        artifact: null,
        subject: command.subject,
        role: command.role,
        created_at: command.createdAt,
        updated_at: command.updatedAt,
      })
      .execute();
  }

  get(id: string): Promise<CommandRecord | undefined> {
    return get(this.trx, id);
  }
}

async function answered(
  db: Kysely<Database>,
  subject: string,
  key: string,
  status: number,
  response: string,
): Promise<void> {
  await db
    .updateTable('idempotency')
    .set({ done: 1, status, response })
    .where('subject', '=', subject)
    .where('key', '=', key)
    .execute();
}

async function get(db: Kysely<Database>, id: string): Promise<CommandRecord | undefined> {
  const row = await db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? fromRow(row as Row) : undefined;
}

/**
 * The command service's persistence (tables `commands` and `idempotency` of the store), on SQLite
 * or PostgreSQL alike: the only place steering reads or writes them.
 */
export class CommandStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Commands not yet in a final state: they carry on after a restart. */
  async unfinished(): Promise<CommandRecord[]> {
    const rows = await this.db
      .selectFrom('commands')
      .selectAll()
      .where('state', 'in', ['accepted', 'delivered'])
      .orderBy('created_at')
      .execute();
    return rows.map((r) => fromRow(r as Row));
  }

  async list(run: string, limit: number): Promise<CommandRecord[]> {
    const rows = await this.db
      .selectFrom('commands')
      .selectAll()
      .where('run', '=', run)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => fromRow(r as Row));
  }

  get(id: string): Promise<CommandRecord | undefined> {
    return get(this.db, id);
  }

  /** Runs `fn` in one transaction; a throw undoes all of it. */
  transaction<T>(fn: (tx: CommandTransaction) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(new CommandTransaction(trx)));
  }

  answered(subject: string, key: string, status: number, response: string): Promise<void> {
    return answered(this.db, subject, key, status, response);
  }

  /** Stores a command's state and what came with it. */
  async saveState(command: CommandRecord): Promise<void> {
    await this.db
      .updateTable('commands')
      .set({
        state: command.state,
        reason: command.reason ?? null,
        detail: command.detail ?? null,
        artifact: command.artifact ?? null,
        updated_at: command.updatedAt,
      })
      .where('id', '=', command.id)
      .execute();
  }
}
