import { describe, expect, it } from 'vitest';
import { AuditEntry, CommandRequest } from '@/lib/protocol';
import { openDatabase } from '../db/openDatabase';
import { AuditLog, AuditUnavailableError } from './AuditLog';
import { argsHash, socketAction, summarizeCommand } from './auditSummary';

const who = { subject: 'ada', role: 'scientist' };

function log(start = Date.UTC(2026, 11, 1, 22, 0, 5)) {
  const db = openDatabase(':memory:');
  let t = start;
  const audit = new AuditLog(db, { now: () => t, maxOpenRefusals: 3 });
  return {
    db,
    audit,
    advance: (ms: number) => (t += ms),
    rows: () =>
      db.prepare('SELECT subject, action, reason, count, minute FROM audit_log ORDER BY id').all(),
  };
}

describe('AuditLog', () => {
  it('counts refusals of one actor and reason as one row per minute, written when the minute ends', () => {
    const { audit, advance, rows } = log();
    for (let i = 0; i < 500; i++)
      audit.refused({ who, action: 'socket:unknown', reason: 'unknown event' });
    audit.refused({ who, action: 'socket:unknown', reason: 'budget exceeded' });
    expect(rows()).toEqual([]);
    advance(60_000);
    audit.refused({ who, action: 'socket:unknown', reason: 'unknown event' });
    audit.sealEnded();
    expect(rows()).toEqual([
      expect.objectContaining({
        reason: 'unknown event',
        count: 500,
        minute: Date.UTC(2026, 11, 1, 22, 0),
      }),
      expect.objectContaining({ reason: 'budget exceeded', count: 1 }),
    ]);
    // The answer of GET /api/audit: sealed rows and the count still open, in the protocol's shape.
    audit.refused({ who, action: 'socket:frame', reason: 'a viewer cannot publish frames' });
    const entries = AuditEntry.array().parse(audit.query({ limit: 10 }));
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
    audit.close();
    expect(rows()).toHaveLength(4);
    expect(audit.verify()).toMatchObject({ ok: true, rows: 4 });
  });

  it('keeps its memory bounded: past the limit, refusals share one overflow count', () => {
    const { audit, rows } = log();
    for (let i = 0; i < 50; i++)
      audit.refused({
        who: { subject: `anonymous-${i}`, role: 'viewer' },
        action: 'socket:unknown',
        reason: 'x',
      });
    audit.close();
    const written = rows() as { subject: string; count: number }[];
    expect(written).toHaveLength(4);
    expect(written.at(-1)).toMatchObject({ subject: '(many)', count: 47 });
    expect(written.reduce((s, r) => s + r.count, 0)).toBe(50);
  });

  it('throws AuditUnavailableError when a row cannot be written, and the chain survives', () => {
    const { db, audit } = log();
    audit.attempt({ who, action: 'command:pause', outcome: 'accepted' });
    db.exec(
      `CREATE TRIGGER fail BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'full'); END;`,
    );
    expect(() => audit.attempt({ who, action: 'command:pause', outcome: 'accepted' })).toThrow(
      AuditUnavailableError,
    );
    db.exec('DROP TRIGGER fail');
    audit.attempt({ who, action: 'command:resume', outcome: 'accepted' });
    expect(audit.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it('moves the first version’s unchained rows into the chain without their payloads', () => {
    const db = openDatabase(':memory:');
    db.exec(`
      CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, subject TEXT NOT NULL,
        role TEXT NOT NULL, action TEXT NOT NULL, run TEXT, payload TEXT, outcome TEXT NOT NULL, reason TEXT);
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'append-only'); END;
      INSERT INTO audit (at, subject, role, action, run, payload, outcome, reason)
        VALUES (1, 'ada', 'scientist', 'command:pause', 'run-1', '{"apiKey":"sk-old-secret"}', 'accepted', 'ok'),
               (2, 'anonymous', 'viewer', 'socket:evil', NULL, NULL, 'denied', 'no');
    `);
    const audit = new AuditLog(db);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'audit'").get()).toBeUndefined();
    const entries = audit.query({ limit: 10 });
    expect(entries.map((e) => [e.subject, e.action, e.args])).toEqual([
      ['anonymous', 'socket:unknown', null],
      ['ada', 'command:pause', null],
    ]);
    expect(JSON.stringify(db.prepare('SELECT * FROM audit_log').all())).not.toContain('sk-old');
    expect(audit.verify().ok).toBe(true);
    audit.close();
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
