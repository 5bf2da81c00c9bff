import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command, CommandRecord, CommandSendReply } from '@/lib/protocol';
import type { AuditRow } from '../audit/verifyAuditChain';
import { openDatabase } from '../db/openDatabase';
import { openStore, type Store } from '../db/openStore';
import {
  startEmbeddedFacilities,
  type EmbeddedFacilities,
} from '../facilities/startEmbeddedFacilities';
import type { Gateway } from '../gateway';
import { verifyAuditChain } from '../audit/verifyAuditChain';
import {
  connected,
  eventually,
  openTestStore,
  postCommand,
  producerClient,
  startTestGateway,
  TEST_USERS,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';

// Scenario 20 of RELIABILITY.md: the same resubmit with the same Idempotency-Key 5×, two at once,
// the key with another body, no key → exactly one job at the facility simulator per user and key;
// the concurrent duplicate 409, the mismatch 422, the missing key 400; keys scoped per user; and
// every attempt one audit row.

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function setup(): Promise<{
  gw: Gateway;
  fac: EmbeddedFacilities;
  db: Store;
}> {
  const db = await openTestStore();
  open.push(db);
  const fac = await startEmbeddedFacilities({
    db,
    simulator: { manualClock: true, seed: 20 },
    service: { intervalMs: 100 },
  });
  open.push(fac);
  await fac.service.pollOnce();
  const gw = await startTestGateway({
    db,
    facilities: fac.service,
    commands: { ratePoints: 1000 },
  });
  open.push(gw);
  const p = producerClient(gw.url, TOKENS.producer);
  open.push(p);
  await connected(p);
  expect((await p.emitWithAck('run:register', { run: 'run-1', title: 'Scan 20' })).ok).toBe(true);
  return { gw, fac, db };
}

/** Jobs submitted from outside (Loupe's) to every simulated system: the facility's own count. */
function facilityJobs(fac: EmbeddedFacilities): number {
  let n = 0;
  for (const model of fac.simulator.models.values())
    for (const job of model.jobs.values()) if (job.external) n++;
  return n;
}

const RESUBMIT = { kind: 'resubmit', nodes: 1, walltimeSeconds: 1800 } as const;

function resubmit(gw: Gateway, token: string, key: string | undefined, body: object = RESUBMIT) {
  return fetch(`${gw.url}/api/runs/run-1/commands`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(key !== undefined && { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
}

async function answer(res: Response) {
  const body = (await res.json()) as { command?: CommandRecord; error?: string };
  return {
    status: res.status,
    replayed: res.headers.get('idempotent-replayed') === 'true',
    ...body,
  };
}

describe('s20 idempotent resubmit', () => {
  it('one job per user and key, 409 for the concurrent duplicate, 422 for another body, 400 without a key, each attempt audited', async () => {
    const { gw, fac, db } = await setup();
    const before = facilityJobs(fac);

    // The same request with the same key, five times in a row.
    const five = [];
    for (let i = 0; i < 5; i++)
      five.push(await answer(await resubmit(gw, TOKENS.scientist, 'k-five')));
    expect(five.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(five.map((a) => a.replayed)).toEqual([false, true, true, true, true]);
    expect(new Set(five.map((a) => a.command?.id)).size).toBe(1);
    expect(five[0]!.command?.detail).toMatch(/(queued|running) at/);
    expect(facilityJobs(fac) - before).toBe(1);

    // Two at once: one goes through, the other is told it is in progress; then a replay.
    const [x, y] = await Promise.all([
      resubmit(gw, TOKENS.scientist, 'k-concurrent').then(answer),
      resubmit(gw, TOKENS.scientist, 'k-concurrent').then(answer),
    ]);
    expect([x!.status, y!.status].sort()).toEqual([202, 409]);
    expect([x, y].find((a) => a!.status === 409)!.error).toMatch(/still in progress/);
    const again = await answer(await resubmit(gw, TOKENS.scientist, 'k-concurrent'));
    expect(again).toMatchObject({ status: 202, replayed: true });
    expect(facilityJobs(fac) - before).toBe(2);

    // The same key with another body, and no key at all: refused, no job.
    const other = await answer(
      await resubmit(gw, TOKENS.scientist, 'k-five', { ...RESUBMIT, nodes: 2 }),
    );
    expect(other.status).toBe(422);
    const none = await answer(await resubmit(gw, TOKENS.scientist, undefined));
    expect(none.status).toBe(400);
    expect(facilityJobs(fac) - before).toBe(2);

    // Keys belong to their user: staff's k-five is staff's own request, and bob gets no answer of
    // ada's (he may not steer run-1 at all).
    const staff = await answer(await resubmit(gw, TOKENS.staff, 'k-five'));
    expect(staff).toMatchObject({ status: 202, replayed: false });
    expect(staff.command?.id).not.toBe(five[0]!.command?.id);
    const bob = await answer(await resubmit(gw, TOKENS.otherScientist, 'k-five'));
    expect(bob).toMatchObject({ status: 403, replayed: false });
    expect(bob.command).toBeUndefined();
    expect(facilityJobs(fac) - before).toBe(3);

    // Over the socket: the same key 3×, one job.
    const ada = viewerClient(gw.url, TOKENS.scientist);
    open.push(ada);
    await connected(ada);
    const sends: CommandSendReply[] = [];
    for (let i = 0; i < 3; i++)
      sends.push(
        (await ada.emitWithAck('command:send', {
          run: 'run-1',
          idempotencyKey: 'k-socket',
          request: RESUBMIT,
        })) as CommandSendReply,
      );
    expect(sends.map((s) => s.ok && s.replayed)).toEqual([false, true, true]);
    expect(facilityJobs(fac) - before).toBe(4);

    // Every attempt is one audit row, replays and refusals included.
    const rows = await db.db
      .selectFrom('audit_log')
      .selectAll()
      .where('category', '=', 'attempt')
      .where('action', '=', 'command:resubmit')
      .orderBy('id')
      .execute();
    const line = (r: AuditRow) => `${r.subject} ${r.idempotency_key} ${r.outcome} ${r.status}`;
    expect(rows.map(line)).toEqual([
      'ada k-five accepted 202',
      'ada k-five replayed 202',
      'ada k-five replayed 202',
      'ada k-five replayed 202',
      'ada k-five replayed 202',
      ...['ada k-concurrent accepted 202', 'ada k-concurrent denied 409'],
      'ada k-concurrent replayed 202',
      'ada k-five denied 422',
      'ada null denied 400',
      'sam k-five accepted 202',
      'bob k-five denied 403',
      'ada k-socket accepted 202',
      'ada k-socket replayed 202',
      'ada k-socket replayed 202',
    ]);
    // The 422's args differ from the first attempt's: the hash shows it was another request.
    const hashes = rows.filter((r) => r.idempotency_key === 'k-five' && r.subject === 'ada');
    expect(new Set(hashes.map((r) => r.args_hash)).size).toBe(2);
    expect((await gw.audit.verify()).ok).toBe(true);
    console.log(
      `s20: ${rows.length} attempts, ${facilityJobs(fac) - before} jobs at the facility (ada k-five 1, k-concurrent 1, sam k-five 1, ada k-socket 1)`,
    );
  });

  it('a key whose gateway was killed before answering is answered after the restart, not refused for ever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-s20-'));
    open.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const dbPath = join(dir, 'loupe.db');
    writeFileSync(join(dir, 'users.json'), JSON.stringify(TEST_USERS));
    /** The real gateway process (server/main.ts) on a free port; resolves with its URL. */
    const gateway = async (): Promise<{ url: string; child: ChildProcess }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
        env: {
          ...process.env,
          LOUPE_DB: dbPath,
          LOUPE_USERS_FILE: join(dir, 'users.json'),
          LOUPE_SHARE_SECRET_FILE: join(dir, 'share-secret'),
          LOUPE_GATEWAY_PORT: '0',
          // Any port of loopback: the gateway picks a free one, which the default list cannot name.
          LOUPE_ALLOWED_HOSTS: '127.0.0.1',
          LOUPE_FACILITIES: 'off',
          LOUPE_LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      open.push({ close: () => child.exitCode === null && child.kill('SIGKILL') });
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
      });
      return { url, child };
    };
    const post = (url: string) =>
      postCommand(url, 'run-1', TOKENS.scientist, { kind: 'pause' }, 'k-killed');

    // A consumer that takes the command and never answers keeps the first answer waiting…
    const first = await gateway();
    const silent = producerClient(first.url, TOKENS.producer);
    open.push(silent);
    const received: Command[] = [];
    silent.on('command', (command) => received.push(command));
    await connected(silent);
    expect((await silent.emitWithAck('run:register', { run: 'run-1', title: 'Killed' })).ok).toBe(
      true,
    );
    const pending = post(first.url).catch((error: unknown) => error);
    await eventually(() => received.length === 1, 10_000, 'the command at the consumer');
    // …and the gateway dies before giving it.
    first.child.kill('SIGKILL');
    expect(await pending).toBeInstanceOf(Error);
    silent.close();

    const second = await gateway();
    const retry = await post(second.url);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const { command } = (await retry.json()) as { command: CommandRecord };
    expect(command.id).toBe(received[0]!.id);
    const again = await post(second.url);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { command: CommandRecord }).command.id).toBe(command.id);
    second.child.kill('SIGKILL');
    await new Promise((r) => second.child.once('exit', r));

    const db = openDatabase(dbPath);
    const rows = db
      .prepare("SELECT outcome, status FROM audit_log WHERE category = 'attempt' ORDER BY id")
      .all();
    expect(rows).toEqual([
      { outcome: 'accepted', status: 202 },
      { outcome: 'replayed', status: 202 },
      { outcome: 'replayed', status: 202 },
    ]);
    // Two SIGKILLs and the chain still verifies: each row was committed whole with its hash.
    const store = await openStore({ sqlite: db, migrate: false });
    expect(await verifyAuditChain(store.db)).toMatchObject({ ok: true });
    await store.close();
    db.close();
  });
});
