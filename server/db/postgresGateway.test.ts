import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, CommandRecord } from '@/lib/protocol';
import { type GatewayProcess, spawnGateway } from '../testing/spawnGateway';
import {
  connected,
  eventually,
  postCommand,
  producerClient,
  type ProducerClient,
  TOKENS,
} from '../testing/testGateway';
import { storeDialects } from './testing/testStores';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const postgres = storeDialects().find((d) => d.dialect === 'postgres')!;

// A gateway process with LOUPE_DATABASE_URL set keeps everything in PostgreSQL: a command posted
// to it, its audit rows, and after a restart both are found again, the key still answered once.
describe.skipIf(postgres.skip !== null)('a gateway on PostgreSQL, end to end', () => {
  let admin: string;
  let url: string;
  let database: string;
  let gw: GatewayProcess;
  let consumer: ProducerClient | undefined;

  beforeAll(async () => {
    const store = await postgres.open();
    admin = store.postgres!.url;
    await store.close();
    database = `h11store_gw_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`CREATE DATABASE ${database}`);
    await client.end();
    const u = new URL(admin);
    u.pathname = `/${database}`;
    url = u.toString();
    gw = await spawnGateway({ env: { LOUPE_TEST_DB: url } });
  });

  afterAll(async () => {
    consumer?.close();
    await gw?.dispose();
    if (!database) return;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.end();
  });

  const get = async <T>(path: string, token: string): Promise<T> => {
    const response = await fetch(`${gw.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  };
  const commands = () =>
    get<{ commands: CommandRecord[] }>('/api/runs/run-1/commands', TOKENS.scientist);
  const audit = () => get<{ entries: AuditEntry[] }>('/api/audit?run=run-1', TOKENS.staff);

  it('posts a command, audits it, and finds both again after a restart', async () => {
    consumer = producerClient(gw.url, TOKENS.producer);
    consumer.on('command', (command, reply) =>
      reply({ id: command.id, status: 'applied', detail: `did ${command.kind}` }),
    );
    await connected(consumer);
    expect((await consumer.emitWithAck('run:register', { run: 'run-1', title: 'On PG' })).ok).toBe(
      true,
    );
    const posted = await postCommand(gw.url, 'run-1', TOKENS.scientist, { kind: 'pause' }, 'pg-1');
    expect(posted.status).toBe(202);
    const { command } = (await posted.json()) as { command: CommandRecord };
    await eventually(
      async () => (await commands()).commands[0]?.state === 'applied',
      10_000,
      'the command applied',
    );
    const before = (await audit()).entries.filter((e) => e.action === 'command:pause');
    expect(before.map((e) => [e.category, e.outcome])).toEqual([
      ['progress', 'applied'],
      ['progress', 'delivered'],
      ['attempt', 'accepted'],
    ]);

    // SIGTERM drains and exits; a new process on the same database starts from what it holds.
    consumer.close();
    expect(await gw.kill('SIGTERM')).toBe(0);
    await gw.restart();
    expect((await commands()).commands).toEqual([
      expect.objectContaining({ id: command.id, state: 'applied', detail: 'did pause' }),
    ]);
    const after = (await audit()).entries.filter((e) => e.action === 'command:pause');
    expect(after.map((e) => e.hash)).toEqual(before.map((e) => e.hash));
    // The key is answered as the first time, by the new process, with the same command.
    const again = await postCommand(gw.url, 'run-1', TOKENS.scientist, { kind: 'pause' }, 'pg-1');
    expect(again.status).toBe(202);
    expect(((await again.json()) as { command: CommandRecord }).command.id).toBe(command.id);
    expect((await audit()).entries[0]).toMatchObject({
      action: 'command:pause',
      outcome: 'replayed',
    });

    // audit:verify reads the same database through LOUPE_DATABASE_URL.
    const verify = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/auditVerify.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LOUPE_DATABASE_URL: url },
    });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/chain intact/);
  });
});
