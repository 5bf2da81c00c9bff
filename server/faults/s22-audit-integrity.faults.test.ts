import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Command,
  type CommandReply,
  type CommandRequestInput,
  type CommandSendReply,
  encodeFrame,
  STEERING_KINDS,
  type SteeringKind,
} from '@/lib/protocol';
import type { AuditRow } from '../audit/verifyAuditChain';
import { type Db, openDatabase } from '../db/openDatabase';
import type { Gateway } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
  type ProducerClient,
} from '../testing/testGateway';

// Scenario 22 of RELIABILITY.md: after role × command attempts over REST and the socket (denials,
// replays, conflicts included) the audit holds exactly one row per attempt with who, role, run,
// command, args hash, idempotency key, outcome and time; no token or secret anywhere in the
// database file; the chain verifies, and `npm run audit:verify` names the row that was edited,
// deleted or moved; when the audit cannot be written, steering is refused and frames still flow.

const open: { close(): unknown }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BODIES: Record<SteeringKind, CommandRequestInput> = {
  zoom: { kind: 'zoom', region: { x: [10, 50], y: [20, 60], z: [0, 32] } },
  'reset-zoom': { kind: 'reset-zoom' },
  pause: { kind: 'pause' },
  resume: { kind: 'resume' },
  capture: { kind: 'capture' },
  'set-parameters': { kind: 'set-parameters', values: { rotationCentre: 128.5, filter: 'hann' } },
  'centre-sweep': { kind: 'centre-sweep', count: 9, step: 0.5 },
  'set-slices': { kind: 'set-slices', positions: { xy: 3, yz: 7 } },
  resubmit: { kind: 'resubmit', nodes: 2, walltimeSeconds: 1800 },
};

/** name → token and the subject/role the audit must name. */
const CALLERS = [
  { token: TOKENS.staff, subject: 'sam', role: 'staff', steers: true },
  { token: TOKENS.scientist, subject: 'ada', role: 'scientist', steers: true },
  { token: TOKENS.otherScientist, subject: 'bob', role: 'scientist', steers: false },
  { token: TOKENS.viewer, subject: 'remote', role: 'viewer', steers: false },
  { token: undefined, subject: 'anonymous', role: 'viewer', steers: false },
] as const;

/** Secret values sent where no schema has a field for them; none may reach the file. */
const SECRETS = {
  apiKey: 'sk-live-APIKEY-7f3a9c21e4',
  bearer: 'bearer-SECRET-51c0ffee77',
  xApiToken: 'x-api-token-SECRET-9d8e7f6a',
  deepToken: 'deep-TOKEN-10-levels-0b5e',
  deepApiKey: 'deep-APIKEY-10-levels-c4d2',
  header: 'header-X-API-TOKEN-aa11bb22',
  eventName: 'event-name-SECRET-33cc44dd',
} as const;
/** Field names no schema declares: an audit that stores only schema fields never has them. */
const FOREIGN_FIELDS = ['apiKey', 'x-api-token', 'nested9'];

function nested(depth: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let value: Record<string, unknown> = leaf;
  for (let i = depth - 1; i >= 0; i--) value = { [`nested${i}`]: value };
  return value;
}
const SECRET_FIELDS = {
  apiKey: SECRETS.apiKey,
  bearer: SECRETS.bearer,
  'x-api-token': SECRETS.xApiToken,
  ...nested(10, { token: SECRETS.deepToken, apiKey: SECRETS.deepApiKey }),
};

interface Consumer {
  socket: ProducerClient;
  received: Command[];
}

async function consumer(gw: Gateway): Promise<Consumer> {
  const socket = producerClient(gw.url, TOKENS.producer);
  open.push(socket);
  const received: Command[] = [];
  socket.on('command', (command, reply) => {
    received.push(command);
    reply({
      id: command.id,
      status: 'applied',
      detail: `did ${command.kind}`,
    } satisfies CommandReply);
  });
  await connected(socket);
  expect(
    (
      await socket.emitWithAck('run:register', {
        run: 'run-1',
        title: 'Audited run',
        parameters: [
          { name: 'rotationCentre', label: 'Centre', type: 'number', unit: 'px', default: 256 },
          {
            name: 'filter',
            label: 'Filter',
            type: 'enum',
            choices: [
              { value: 'hann', label: 'Hann' },
              { value: 'ramp', label: 'Ramp' },
            ],
            default: 'ramp',
          },
        ],
      })
    ).ok,
  ).toBe(true);
  return { socket, received };
}

function post(
  gw: Gateway,
  token: string | undefined,
  body: unknown,
  key: string | undefined,
  headers: Record<string, string> = {},
) {
  return fetch(`${gw.url}/api/runs/run-1/commands`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key !== undefined && { 'idempotency-key': key }),
      ...(token && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

function tempDb(): { dir: string; path: string; db: Db } {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-s22-'));
  dirs.push(dir);
  const path = join(dir, 'loupe.db');
  return { dir, path, db: openDatabase(path) };
}

/** Every byte SQLite wrote for this database: the file, its WAL and shared memory. */
function fileBytes(path: string): Buffer {
  return Buffer.concat(
    [path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((p) => readFileSync(p)),
  );
}

function auditVerify(path: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'audit:verify'],
      { env: { ...process.env, LOUPE_DB: path }, cwd: process.cwd(), timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          out: stdout + stderr,
        }),
    );
  });
}

/** Runs raw SQL on a copy of the database, as someone with file access would. */
function tamper(source: string, dir: string, name: string, sql: string): string {
  const copy = join(dir, `${name}.db`);
  copyFileSync(source, copy);
  const db = openDatabase(copy);
  db.exec(sql);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return copy;
}

interface Expected {
  subject: string;
  role: string;
  kind: SteeringKind;
  key: string | null;
  outcome: string;
  status: number;
}

describe('s22 audit integrity', () => {
  it('one row per steering attempt with its fields, no secret in the file, a chain that catches edits, deletions and moves', async () => {
    const { dir, path, db } = tempDb();
    const gw = await startTestGateway({ db, commands: { ratePoints: 10_000 } });
    open.push(gw);
    const c = await consumer(gw);
    const expected: Expected[] = [];
    let n = 0;

    // The role × command matrix over REST, each attempt with its own key.
    for (const caller of CALLERS) {
      for (const kind of STEERING_KINDS) {
        const key = `rest-${++n}`;
        const res = await post(gw, caller.token, BODIES[kind], key);
        expect(res.status, `${caller.subject} ${kind}`).toBe(caller.steers ? 202 : 403);
        expected.push({
          subject: caller.subject,
          role: caller.role,
          kind,
          key,
          outcome: caller.steers ? 'accepted' : 'denied',
          status: caller.steers ? 202 : 403,
        });
      }
    }
    // The same over the socket.
    let adaZoomKey = '';
    for (const caller of CALLERS) {
      const v = viewerClient(gw.url, caller.token);
      open.push(v);
      await connected(v);
      for (const kind of STEERING_KINDS) {
        const key = `socket-${++n}`;
        if (caller.subject === 'ada' && kind === 'zoom') adaZoomKey = key;
        const answer = (await v.emitWithAck('command:send', {
          run: 'run-1',
          idempotencyKey: key,
          request: BODIES[kind],
        })) as CommandSendReply;
        expect(answer.ok, `${caller.subject} ${kind} over the socket`).toBe(caller.steers);
        expected.push({
          subject: caller.subject,
          role: caller.role,
          kind,
          key,
          outcome: caller.steers ? 'accepted' : 'denied',
          status: caller.steers ? 202 : 403,
        });
      }
    }
    // Replays (REST and socket), a key reused with another body, a missing key.
    for (let i = 0; i < 3; i++) {
      const res = await post(gw, TOKENS.staff, BODIES.pause, 'rest-3');
      expect(res.headers.get('idempotent-replayed')).toBe('true');
      expected.push({
        subject: 'sam',
        role: 'staff',
        kind: 'pause',
        key: 'rest-3',
        outcome: 'replayed',
        status: 202,
      });
    }
    const ada = viewerClient(gw.url, TOKENS.scientist);
    open.push(ada);
    await connected(ada);
    const replay = (await ada.emitWithAck('command:send', {
      run: 'run-1',
      idempotencyKey: adaZoomKey,
      request: BODIES.zoom,
    })) as CommandSendReply;
    expect(replay).toMatchObject({ ok: true, replayed: true });
    expected.push({
      subject: 'ada',
      role: 'scientist',
      kind: 'zoom',
      key: adaZoomKey,
      outcome: 'replayed',
      status: 202,
    });
    expect((await post(gw, TOKENS.staff, BODIES.resume, 'rest-3')).status).toBe(422);
    expected.push({
      subject: 'sam',
      role: 'staff',
      kind: 'resume',
      key: 'rest-3',
      outcome: 'denied',
      status: 422,
    });
    expect((await post(gw, TOKENS.staff, BODIES.capture, undefined)).status).toBe(400);
    expected.push({
      subject: 'sam',
      role: 'staff',
      kind: 'capture',
      key: null,
      outcome: 'denied',
      status: 400,
    });

    // Secrets where no schema has a field for them: REST bodies, a header, socket payloads, an
    // event named with one, a share request.
    expect(
      (
        await post(gw, TOKENS.staff, { kind: 'pause', ...SECRET_FIELDS }, 'secret-1', {
          'x-api-token': SECRETS.header,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          gw,
          TOKENS.scientist,
          { kind: 'zoom', region: { ...BODIES.zoom, ...SECRET_FIELDS } },
          'secret-2',
        )
      ).status,
    ).toBe(400);
    expect(
      (await ada.emitWithAck('command:send', {
        run: 'run-1',
        idempotencyKey: 'secret-3',
        request: { kind: 'set-parameters', values: { filter: 'hann' }, ...SECRET_FIELDS },
      })) as CommandSendReply,
    ).toMatchObject({ ok: false, status: 400 });
    const raw = ada as unknown as { emit: (...a: unknown[]) => void };
    raw.emit(SECRETS.eventName, SECRET_FIELDS);
    raw.emit('frame', SECRET_FIELDS, new Uint8Array(4));
    expect(
      (await ada.emitWithAck('run:subscribe', { run: 'run-1', ...SECRET_FIELDS } as never)).ok,
    ).toBe(false);
    const share = await fetch(`${gw.url}/api/runs/run-1/share`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.scientist}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlHours: 2, ...SECRET_FIELDS }),
    });
    expect(share.status).toBe(400);
    await eventually(() => c.received.length > 0, 5000, 'allowed commands at the consumer');

    const rows = db
      .prepare(
        "SELECT * FROM audit_log WHERE category = 'attempt' AND action LIKE 'command:%' ORDER BY id",
      )
      .all() as AuditRow[];
    const seen = rows.map((r) => ({
      subject: r.subject,
      role: r.role,
      kind: r.kind,
      key: r.idempotency_key,
      outcome: r.outcome,
      status: r.status,
    }));
    const order = (e: {
      subject: string;
      kind: string | null;
      key: string | null;
      outcome: string;
    }) => `${e.subject} ${e.kind} ${e.key} ${e.outcome}`;
    // Exactly one row per attempt: the same multiset, no more, no fewer.
    expect(seen.map(order).sort()).toEqual(expected.map(order).sort());
    expect(seen).toHaveLength(expected.length);
    for (const r of rows) {
      expect(r.run).toBe('run-1');
      expect(r.action).toBe(`command:${r.kind}`);
      expect(r.args_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.at).toBeGreaterThan(Date.now() - 120_000);
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    // Equal requests hash equally, so a replay can be matched to its first attempt.
    const pauses = rows.filter((r) => r.kind === 'pause' && r.idempotency_key === 'rest-3');
    expect(new Set(pauses.map((r) => r.args_hash)).size).toBe(1);
    expect(pauses.map((r) => r.outcome)).toEqual(['accepted', 'replayed', 'replayed', 'replayed']);

    await gw.close(); // writes the refusal counts still open
    const refusals = db
      .prepare("SELECT action, reason, count FROM audit_log WHERE category = 'refusal'")
      .all() as { action: string; reason: string; count: number }[];
    // Malformed requests are counted, not stored: 3 command bodies (2 REST, 1 socket), the share
    // request, the viewer's frame and the event named with a secret.
    const counted = new Map<string, number>();
    for (const r of refusals) counted.set(r.action, (counted.get(r.action) ?? 0) + r.count);
    expect(Object.fromEntries(counted)).toEqual({
      command: 3,
      'share:create': 1,
      'socket:frame': 1,
      'socket:unknown': 1,
    });
    const verified = await gw.audit.verify();
    expect(verified).toMatchObject({ ok: true, problems: [] });
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();

    const bytes = fileBytes(path);
    for (const secret of [...Object.values(SECRETS), ...Object.values(TOKENS), ...FOREIGN_FIELDS])
      expect(bytes.includes(secret), `"${secret}" in the database file`).toBe(false);
    console.log(
      `s22: ${verified.rows} audit rows (${rows.length} steering attempts, ${refusals.length} refusal counts), ${bytes.length} bytes on disk, 0 of ${Object.keys(SECRETS).length + Object.keys(TOKENS).length + FOREIGN_FIELDS.length} secrets found`,
    );

    // audit:verify accepts the untouched log and names the row of each kind of tampering.
    const intact = await auditVerify(path);
    expect(intact.code, intact.out).toBe(0);
    expect(intact.out).toMatch(new RegExp(`${verified.rows} rows, chain intact`));
    const denied = rows.find((r) => r.outcome === 'denied')!;
    const edited = tamper(
      path,
      dir,
      'edited',
      `DROP TRIGGER audit_log_no_update; UPDATE audit_log SET outcome = 'accepted' WHERE id = ${denied.id};`,
    );
    const middle = rows[Math.floor(rows.length / 2)]!;
    const deleted = tamper(
      path,
      dir,
      'deleted',
      `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = ${middle.id};`,
    );
    const [a, b] = [rows[3]!.id, rows[7]!.id];
    const moved = tamper(
      path,
      dir,
      'moved',
      `DROP TRIGGER audit_log_no_update;
       UPDATE audit_log SET id = -1 WHERE id = ${a};
       UPDATE audit_log SET id = ${a} WHERE id = ${b};
       UPDATE audit_log SET id = ${b} WHERE id = -1;`,
    );
    const truncated = tamper(
      path,
      dir,
      'truncated',
      `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = ${verified.headId};`,
    );
    const [e, d, m, t] = await Promise.all([edited, deleted, moved, truncated].map(auditVerify));
    expect(e!.code, e!.out).toBe(1);
    expect(e!.out).toMatch(new RegExp(`row ${denied.id}: its content does not match its hash`));
    expect(d!.code, d!.out).toBe(1);
    expect(d!.out).toMatch(
      new RegExp(`row ${middle.id + 1}: rows ${middle.id}…${middle.id} are missing`),
    );
    expect(m!.code, m!.out).toBe(1);
    expect(m!.out).toMatch(new RegExp(`row ${a}: its content does not match`));
    expect(m!.out).toMatch(new RegExp(`row ${b}: its content does not match`));
    expect(t!.code, t!.out).toBe(1);
    expect(t!.out).toMatch(
      new RegExp(`row ${verified.headId}: the log's head names row ${verified.headId}`),
    );
  });

  it('when the audit cannot be written, steering is refused with the reason and frames keep flowing', async () => {
    const { db } = tempDb();
    const gw = await startTestGateway({ db });
    open.push(gw);
    const c = await consumer(gw);
    const viewer = viewerClient(gw.url);
    open.push(viewer);
    let frames = 0;
    viewer.on('frame', (_h, _p, received) => {
      frames++;
      received();
    });
    await connected(viewer);
    expect((await viewer.emitWithAck('run:subscribe', { run: 'run-1' })).ok).toBe(true);
    let seq = 0;
    const pixels = new Uint16Array(64);
    const FRAME_MS = 20;
    const publisher = setInterval(() => {
      const frame = encodeFrame(
        {
          run: 'run-1',
          stream: 'xy',
          seq: seq++,
          dtype: 'uint16',
          shape: [8, 8],
          voxelSize: [1, 1, 1],
          acquiredAt: Date.now(),
          reconstructedAt: Date.now(),
          publishedAt: Date.now(),
        },
        pixels,
      );
      c.socket.emit('frame', frame.header, frame.payload);
    }, FRAME_MS);
    open.push({ close: () => clearInterval(publisher) });
    await eventually(() => frames >= 5, 5000, 'frames before the fault');

    // The disk refuses audit rows (as a full disk or a read-only file would).
    db.exec(`CREATE TRIGGER audit_log_fault BEFORE INSERT ON audit_log
      BEGIN SELECT RAISE(ABORT, 'injected: database or disk is full'); END;`);
    const rest = await post(gw, TOKENS.staff, BODIES.pause, 'during-fault-1');
    expect(rest.status).toBe(503);
    expect(((await rest.json()) as { error: string }).error).toMatch(
      /^steering refused: the audit log cannot be written \(injected: database or disk is full\)/,
    );
    const ada = viewerClient(gw.url, TOKENS.scientist);
    open.push(ada);
    await connected(ada);
    const socket = (await ada.emitWithAck('command:send', {
      run: 'run-1',
      idempotencyKey: 'during-fault-2',
      request: BODIES.zoom,
    })) as CommandSendReply;
    expect(socket).toMatchObject({ ok: false, status: 503 });
    const atFault = frames;
    await eventually(() => frames >= atFault + 20, 10_000, 'frames while the audit is down');
    // Let the command sweep (1 s) run: nothing refused may reach the consumer later either.
    await new Promise((r) => setTimeout(r, 1500));
    expect(c.received).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM commands').get()).toEqual({ n: 0 });

    // The disk recovers: the same key now goes through (nothing was reserved while it was down).
    db.exec('DROP TRIGGER audit_log_fault');
    const after = await post(gw, TOKENS.staff, BODIES.pause, 'during-fault-1');
    expect(after.status).toBe(202);
    await eventually(async () => c.received.length === 1, 5000, 'the command after recovery');
    expect((await gw.audit.verify()).ok).toBe(true);
    console.log(
      `s22 write failure: 2 commands refused (REST 503, socket 503), ${frames - atFault} frames delivered meanwhile, 0 commands reached the consumer until the audit recovered`,
    );
  });
});
