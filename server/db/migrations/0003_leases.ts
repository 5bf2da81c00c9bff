import type { Kysely } from 'kysely';
import type { StoreDialect } from '../StoreDialect';

/** Leases: work that one gateway at a time may do (facility polling, owning a run). */
export function leases(dialect: StoreDialect) {
  const int64 = dialect === 'sqlite' ? 'integer' : 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', int64, (c) => c.notNull())
        .addColumn('fence', int64, (c) => c.notNull().defaultTo(1))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('leases').execute();
    },
  };
}
