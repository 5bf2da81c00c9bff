import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunRegistry } from '../streams/RunRegistry';
import { Leases } from './Leases';
import { type Store, openStore } from './openStore';

const SCRIPT = fileURLToPath(new URL('../../scripts/ci/startPostgres.sh', import.meta.url));
const bin = (() => {
  try {
    const v = readdirSync('/usr/lib/postgresql').sort().at(-1);
    return v && existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`)
      ? `/usr/lib/postgresql/${v}/bin`
      : null;
  } catch {
    return null;
  }
})();
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (bin === null && ci) throw new Error('CI: the PostgreSQL restart test needs PostgreSQL');

// Its own throwaway cluster: restarting the shared test cluster would break tests running beside.
describe.skipIf(bin === null)('the store across a PostgreSQL restart', () => {
  let dir: string;
  let url: string;
  let store: Store;
  const pgCtl = (...args: string[]) => {
    const run = spawnSync('runuser', ['-u', 'postgres', '--', `${bin}/pg_ctl`, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.status !== 0) throw new Error(`pg_ctl ${args[0]}: ${run.stderr}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loupe-pg-restart-'));
    const run = spawnSync(SCRIPT, [], {
      encoding: 'utf8',
      env: { ...process.env, LOUPE_PG_RUN: dir },
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`startPostgres.sh: ${run.stderr}`);
    url = readFileSync(join(dir, 'url'), 'utf8').trim();
    store = await openStore({ url, poolSize: 2, onPoolError: () => {} });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    spawnSync(SCRIPT, ['--stop'], { env: { ...process.env, LOUPE_PG_RUN: dir } });
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps runs in memory while PostgreSQL is down, and writes them once it is back', async () => {
    const registry = await RunRegistry.open(store.db);
    const errors: Error[] = [];
    registry.on('error', (e) => errors.push(e));
    const leases = new Leases(store.db);
    expect(await leases.acquire('facility-pollers', 'gw-a', 60_000)).not.toBeNull();

    pgCtl('-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop');
    // The registry answers from memory: registering a run does not wait for the store.
    registry.register({ run: 'run-restart', title: 'Across a restart' }, 'sock-1', 'producer-1');
    expect(registry.get('run-restart')?.title).toBe('Across a restart');
    await expect(registry.flush()).rejects.toThrow();
    await expect(leases.holder('facility-pollers')).rejects.toThrow();

    pgCtl('-D', join(dir, 'data'), '-l', join(dir, 'postgres.log'), '-w', 'start');
    // The pool dials again by itself; the queued row goes out with the next flush.
    await registry.flush();
    const row = await store.db
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', 'run-restart')
      .executeTakeFirst();
    expect(row).toMatchObject({ title: 'Across a restart', owner: 'producer-1' });
    expect((await leases.holder('facility-pollers'))?.holder).toBe('gw-a');
    expect(errors.length).toBeGreaterThan(0);
    // A restarted gateway finds the run in the store.
    expect((await RunRegistry.open(store.db)).get('run-restart')?.title).toBe('Across a restart');
  }, 60_000);
});
