import type { Migration, MigrationProvider } from 'kysely';
import type { StoreDialect } from '../StoreDialect';
import { baseline } from './0001_baseline';
import { legacyColumns } from './0002_legacyColumns';
import { leases } from './0003_leases';
import { auditUnchained } from './0004_auditUnchained';
import { clusterTables } from './0005_clusterTables';

/**
 * The store's schema, in order. Migrations are named by number and run once each, in name order,
 * by Kysely's Migrator at start-up (openStore). Add a new one as the next number; never edit one
 * that has shipped. Listed here rather than read from the folder so that a bundled or compiled
 * gateway carries them too.
 */
export function migrationsFor(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_baseline': baseline(dialect),
    '0002_legacyColumns': legacyColumns,
    '0003_leases': leases(dialect),
    '0004_auditUnchained': auditUnchained(dialect),
    '0005_clusterTables': clusterTables(dialect),
  };
}

export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrationsFor(dialect)) };
}
