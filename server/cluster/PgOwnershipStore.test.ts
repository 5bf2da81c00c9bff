import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestStore, storeDialects } from '../db/testing/testStores';
import { PgOwnershipStore } from './PgOwnershipStore';

const postgres = storeDialects().find((d) => d.dialect === 'postgres')!;
const a = { id: 'gw-a', url: 'http://127.0.0.1:1' };
const b = { id: 'gw-b', url: 'http://127.0.0.1:2' };

// Run ownership lives in the store's schema (migration 0005_clusterTables), not in DDL of its own.
describe.skipIf(postgres.skip !== null)('PgOwnershipStore on the store’s migrations', () => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const thing of opened.splice(0).reverse()) await thing.close();
  });

  async function ownership(): Promise<{ store: TestStore; owners: PgOwnershipStore }> {
    const store = await postgres.open();
    opened.push(store);
    const { url, schema } = store.postgres!;
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      options: `-c search_path=${schema}`,
    });
    opened.push({ close: () => pool.end() });
    return { store, owners: await PgOwnershipStore.open(pool) };
  }

  it('gives a run to one of two racing gateways, renews for it only, and frees it on release', async () => {
    const { store, owners } = await ownership();
    const tables = (await store.db.introspection.getTables()).filter(
      (t) => t.schema === store.postgres!.schema,
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['loupe_run_owners', 'socket_io_attachments']),
    );
    const [first, second] = await Promise.all([
      owners.claim('run-1', a, 60_000),
      owners.claim('run-1', b, 60_000),
    ]);
    expect(first.gateway).toBe(second.gateway);
    const winner = first.gateway === a.id ? a : b;
    const loser = winner === a ? b : a;
    expect((await owners.ownerOf('run-1'))?.url).toBe(winner.url);
    expect(await owners.renew(['run-1'], loser, 60_000)).toEqual([]);
    expect(await owners.renew(['run-1'], winner, 60_000)).toEqual(['run-1']);
    await owners.release('run-1', loser.id);
    expect((await owners.ownerOf('run-1'))?.gateway).toBe(winner.id);
    await owners.release('run-1', winner.id);
    expect(await owners.ownerOf('run-1')).toBeNull();
    // Released, the run is still one the cluster knows (a command for it waits for its consumer).
    expect(await owners.knows('run-1')).toBe(true);
    expect(await owners.knows('never-registered')).toBe(false);
    expect((await owners.claim('run-1', loser, 60_000)).gateway).toBe(loser.id);
  });
});
