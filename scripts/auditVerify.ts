// `npm run audit:verify`: checks the audit log's hash chain in the gateway's database (LOUPE_DB,
// default data/loupe.db). Exits 0 when every row verifies, 1 naming each row where it breaks,
// 2 when the database cannot be read. Read-only: safe beside a running gateway.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { verifyAuditChain } from '../server/audit/verifyAuditChain';

const path = resolve(process.env.LOUPE_DB ?? 'data/loupe.db');
if (!existsSync(path)) {
  console.error(`audit:verify: no database at ${path} (set LOUPE_DB)`);
  process.exit(2);
}
let result;
try {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  result = verifyAuditChain(db);
  db.close();
} catch (error) {
  console.error(`audit:verify: cannot read ${path}: ${(error as Error).message}`);
  process.exit(2);
}
if (result.ok) {
  console.log(
    `audit:verify: ${path}: ${result.rows} rows, chain intact; head row ${result.headId} ${result.headHash}`,
  );
  console.log('Keep the head hash elsewhere (a ticket, a log shipper) to detect a rewritten tail.');
} else {
  console.error(`audit:verify: ${path}: the audit chain is broken (${result.rows} rows)`);
  for (const p of result.problems) console.error(`  row ${p.id}: ${p.problem}`);
  process.exit(1);
}
