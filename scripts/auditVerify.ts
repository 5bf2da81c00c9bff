// `npm run audit:verify`: checks the audit log's hash chain in the gateway's store: the PostgreSQL
// database LOUPE_DATABASE_URL names, else the SQLite file LOUPE_DB (default data/loupe.db). Exits
// 0 when every row verifies, 1 naming each row where it breaks, 2 when the store cannot be read.
// Read-only (no migration, a read-only SQLite handle): safe beside a running gateway.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { verifyAuditChain } from '../server/audit/verifyAuditChain';
import { isPostgresUrl, openStore, type Store } from '../server/db/openStore';

const url = process.env.LOUPE_DATABASE_URL;
const postgres = isPostgresUrl(url);
const where = postgres
  ? new URL(url).pathname.slice(1) || 'PostgreSQL'
  : resolve(process.env.LOUPE_DB ?? 'data/loupe.db');
if (!postgres && !existsSync(where)) {
  console.error(`audit:verify: no database at ${where} (set LOUPE_DB or LOUPE_DATABASE_URL)`);
  process.exit(2);
}
let result;
let store: Store | undefined;
try {
  store = await openStore(
    postgres
      ? { url, migrate: false, poolSize: 1 }
      : { sqlite: new Database(where, { readonly: true, fileMustExist: true }), migrate: false },
  );
  result = await verifyAuditChain(store.db);
} catch (error) {
  console.error(`audit:verify: cannot read ${where}: ${(error as Error).message}`);
  process.exit(2);
} finally {
  await store?.close();
  // A borrowed SQLite handle stays open after the store closes; the process ends here anyway.
}
if (result.ok) {
  console.log(
    `audit:verify: ${where}: ${result.rows} rows, chain intact; head row ${result.headId} ${result.headHash}`,
  );
  console.log('Keep the head hash elsewhere (a ticket, a log shipper) to detect a rewritten tail.');
} else {
  console.error(`audit:verify: ${where}: the audit chain is broken (${result.rows} rows)`);
  for (const p of result.problems) console.error(`  row ${p.id}: ${p.problem}`);
  process.exit(1);
}
