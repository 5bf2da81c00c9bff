import type { Kysely } from 'kysely';

/** Columns added to tables after their first version; files written before them lack them. */
const LATER_COLUMNS = [
  // The gateway that owns a run (the subject of its producer).
  ['runs', 'owner'],
  // The command an idempotency reservation stands for, so a key whose first answer died with its
  // gateway can still be answered.
  ['idempotency', 'command'],
  // The job shape a facility decision was made for.
  ['facility_decisions', 'job'],
] as const;

/** Adds the later columns to an adopted SQLite file; on a store made by 0001 this changes nothing. */
export const legacyColumns = {
  async up(db: Kysely<unknown>): Promise<void> {
    const tables = await db.introspection.getTables();
    for (const [table, column] of LATER_COLUMNS) {
      const found = tables.find((t) => t.name === table);
      if (found && !found.columns.some((c) => c.name === column))
        await db.schema.alterTable(table).addColumn(column, 'text').execute();
    }
  },
};
