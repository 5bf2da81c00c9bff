import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditEntry, CommandRequest } from '@/lib/protocol';
import { openDatabase } from '../db/openDatabase';
import { openStore } from '../db/openStore';
import { describeEachStore } from '../db/testing/testStores';
import { AuditLog, AuditUnavailableError } from './AuditLog';
import { argsHash, socketAction, summarizeCommand } from './auditSummary';

const who = { subject: 'ada', role: 'scientist' };

describeEachStore('AuditLog', (openTestStore, dialect) => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const thing of opened.splice(0).reverse()) await thing.close();
  });

  async function log(start = Date.UTC(2026, 11, 1, 22, 0, 5)) {
    const store = await openTestStore();
    opened.push(store);
    let t = start;
    const audit = new AuditLog(store, { now: () => t, maxOpenRefusals: 3 });
    return {
      store,
      audit,
      advance: (ms: number) => (t += ms),
      rows: () =>
        store.db
          .selectFrom('audit_log')
          .select(['subject', 'action', 'reason', 'count', 'minute'])
          .orderBy('id')
          .execute(),
    };
  }

  it('counts refusals of one actor and reason as one row per minute, written when the minute ends', async () => {
    const { audit, advance, rows } = await log();
    for (let i = 0; i < 500; i++)
      audit.refused({ who, action: 'socket:unknown', reason: 'unknown event' });
    audit.refused({ who, action: 'socket:unknown', reason: 'budget exceeded' });
    expect(await rows()).toEqual([]);
    advance(60_000);
    audit.refused({ who, action: 'socket:unknown', reason: 'unknown event' });
    await audit.sealEnded();
    expect(await rows()).toEqual([
      expect.objectContaining({
        reason: 'unknown event',
        count: 500,
        minute: Date.UTC(2026, 11, 1, 22, 0),
      }),
      expect.objectContaining({ reason: 'budget exceeded', count: 1 }),
    ]);
    // The answer of GET /api/audit: sealed rows and the count still open, in the protocol's shape.
    audit.refused({ who, action: 'socket:frame', reason: 'a viewer cannot publish frames' });
    const entries = AuditEntry.array().parse(await audit.query({ limit: 10 }));
    const open = entries.filter((e) => e.hash === null);
    expect(open.map((e) => [e.action, e.count, e.id < 0])).toEqual(
      expect.arrayContaining([
        ['socket:frame', 1, true],
        ['socket:unknown', 1, true],
      ]),
    );
    expect(open).toHaveLength(2);
    expect(entries.slice(2).map((e) => [e.reason, e.count])).toEqual([
      ['budget exceeded', 1],
      ['unknown event', 500],
    ]);
    expect(entries[2]!.hash).toMatch(/^[0-9a-f]{64}$/);
    await audit.close();
    expect(await rows()).toHaveLength(4);
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 4 });
  });

  it('keeps its memory bounded: past the limit, refusals share one overflow count', async () => {
    const { audit, rows } = await log();
    for (let i = 0; i < 50; i++)
      audit.refused({
        who: { subject: `anonymous-${i}`, role: 'viewer' },
        action: 'socket:unknown',
        reason: 'x',
      });
    await audit.close();
    const written = await rows();
    expect(written).toHaveLength(4);
    expect(written.at(-1)).toMatchObject({ subject: '(many)', count: 47 });
    expect(written.reduce((s, r) => s + r.count, 0)).toBe(50);
  });

  it('rejects with AuditUnavailableError when a row cannot be written, and the chain survives', async () => {
    const { store, audit } = await log();
    await audit.attempt({ who, action: 'command:pause', outcome: 'accepted' });
    if (dialect === 'sqlite')
      await sql`CREATE TRIGGER fail BEFORE INSERT ON audit_log
        BEGIN SELECT RAISE(ABORT, 'full'); END`.execute(store.db);
    else {
      await sql`CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'full'; END $$`.execute(store.db);
      await sql`CREATE TRIGGER fail BEFORE INSERT ON audit_log
        FOR EACH ROW EXECUTE FUNCTION fail()`.execute(store.db);
    }
    await expect(
      audit.attempt({ who, action: 'command:pause', outcome: 'accepted' }),
    ).rejects.toThrow(AuditUnavailableError);
    await sql
      .raw(dialect === 'sqlite' ? 'DROP TRIGGER fail' : 'DROP TRIGGER fail ON audit_log')
      .execute(store.db);
    await audit.attempt({ who, action: 'command:resume', outcome: 'accepted' });
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it('keeps one intact chain when two writers (two gateways on one database) append at once', async () => {
    const { store, audit: first } = await log();
    // On PostgreSQL the second writer is another pool on the same schema, as a second gateway is.
    const other =
      store.postgres === null
        ? store
        : await openStore({ url: store.postgres.url, schema: store.postgres.schema, poolSize: 4 });
    if (other !== store) opened.push(other);
    const second = new AuditLog(other);
    const N = 40;
    const appends = [];
    for (let i = 0; i < N; i++) {
      appends.push(
        first.attempt({ who, action: 'command:pause', run: `a-${i}`, outcome: 'accepted' }),
      );
      appends.push(
        second.attempt({
          who: { subject: 'kai', role: 'staff' },
          action: 'command:resume',
          run: `b-${i}`,
          outcome: 'accepted',
        }),
      );
    }
    const entries = await Promise.all(appends);
    // Every append got its own place in the chain, and the chain verifies end to end.
    expect(new Set(entries.map((e) => e.id)).size).toBe(2 * N);
    expect(await first.verify()).toMatchObject({ ok: true, rows: 2 * N, headId: 2 * N });
    expect(await second.verify()).toMatchObject({ ok: true, rows: 2 * N });
    await second.close();
  });

  it('appends within a caller’s transaction, and nothing of it stays when that rolls back', async () => {
    const { store, audit } = await log();
    await expect(
      store.db.transaction().execute(async (trx) => {
        await audit.attempt({ who, action: 'command:pause', outcome: 'accepted' }, trx);
        throw new Error('the caller fails after the audit row');
      }),
    ).rejects.toThrow('the caller fails');
    await audit.attempt({ who, action: 'command:resume', outcome: 'accepted' });
    expect((await audit.query({ limit: 10 })).map((e) => [e.id, e.action])).toEqual([
      [1, 'command:resume'],
    ]);
    expect((await audit.verify()).ok).toBe(true);
  });
});

describe('AuditLog on a first-version SQLite file', () => {
  it('moves the first version’s unchained rows into the chain without their payloads', async () => {
    const db = openDatabase(':memory:');
    db.exec(`
      CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, subject TEXT NOT NULL,
        role TEXT NOT NULL, action TEXT NOT NULL, run TEXT, payload TEXT, outcome TEXT NOT NULL, reason TEXT);
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'append-only'); END;
      INSERT INTO audit (at, subject, role, action, run, payload, outcome, reason)
        VALUES (1, 'ada', 'scientist', 'command:pause', 'run-1', '{"apiKey":"sk-old-secret"}', 'accepted', 'ok'),
               (2, 'anonymous', 'viewer', 'socket:evil', NULL, NULL, 'denied', 'no');
    `);
    // The store's migrations (0004) take the old table into the chain when the store opens.
    const store = await openStore({ sqlite: db });
    const audit = new AuditLog(store);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'audit'").get()).toBeUndefined();
    const entries = await audit.query({ limit: 10 });
    expect(entries.map((e) => [e.subject, e.action, e.args])).toEqual([
      ['anonymous', 'socket:unknown', null],
      ['ada', 'command:pause', null],
    ]);
    expect(JSON.stringify(db.prepare('SELECT * FROM audit_log').all())).not.toContain('sk-old');
    expect((await audit.verify()).ok).toBe(true);
    await audit.close();
    await store.close();
    db.close();
  });
});

describe('audit summaries', () => {
  it('keep the allow-listed fields of each command, hashed canonically', () => {
    const zoom = CommandRequest.parse({
      kind: 'zoom',
      region: { z: [0, 4], x: [1, 2], y: [3, 4] },
    });
    expect(summarizeCommand(zoom)).toEqual({ region: { x: [1, 2], y: [3, 4], z: [0, 4] } });
    const again = CommandRequest.parse({
      kind: 'zoom',
      region: { x: [1, 2], y: [3, 4], z: [0, 4] },
    });
    expect(argsHash(summarizeCommand(zoom))).toBe(argsHash(summarizeCommand(again)));
    // Without a shape, the resubmit takes staff's decided one: the audit says none was asked for.
    const resubmit = CommandRequest.parse({ kind: 'resubmit' });
    expect(summarizeCommand(resubmit)).toEqual({
      system: null,
      nodes: null,
      walltimeSeconds: null,
    });
    const shaped = CommandRequest.parse({ kind: 'resubmit', nodes: 2, walltimeSeconds: 1800 });
    expect(summarizeCommand(shaped)).toEqual({ system: null, nodes: 2, walltimeSeconds: 1800 });
  });

  it('name protocol events and nothing else', () => {
    expect(socketAction('command:send')).toBe('socket:command:send');
    expect(socketAction('sk-live-123')).toBe('socket:unknown');
    expect(socketAction(['frame'])).toBe('socket:unknown');
    expect(socketAction('__proto__')).toBe('socket:unknown');
  });
});
