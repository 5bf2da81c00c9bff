import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/openDatabase';
import {
  connected,
  eventually,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';

// Issue 9 finding 6, the audit half (RELIABILITY 21/22): a flood of refused messages costs the
// audit one counted row per actor, reason and minute, never a row or a body per message. Before
// the fix, 900 unknown events/s wrote +18,020 rows and 100 refused 60 KiB bodies 5.9 MiB.

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** Unknown events one anonymous socket sends (bounded: two cores). */
const EVENTS = 2000;
/** Refused REST bodies, half from staff, half anonymous, each this many bytes. */
const BODIES = 100;
const BODY_BYTES = 60 * 1024;

describe('s06 flood and the audit', () => {
  it('counts N refusals of one actor and reason in one row per minute, and stores none of their bytes', async () => {
    const db = openDatabase(':memory:');
    // Budgets wide open: this measures what reaches the audit, not the budget (s21 does that).
    const gw = await startTestGateway({
      db,
      commands: { ratePoints: 10_000 },
      messageBudgets: { viewer: { perConnection: 100_000, perAddress: 100_000 } },
    });
    open.push(gw);
    const size = () =>
      (db.pragma('page_count', { simple: true }) as number) *
      (db.pragma('page_size', { simple: true }) as number);
    const rows = () => (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
    const rowsBefore = rows();
    const bytesBefore = size();

    const flooder = viewerClient(gw.url);
    open.push(flooder);
    let refused = 0;
    flooder.on('protocol:error', () => refused++);
    await connected(flooder);
    const raw = flooder as unknown as { emit: (...a: unknown[]) => void };
    const BATCH = 200;
    for (let i = 0; i < EVENTS; i += BATCH) {
      for (let j = i; j < i + BATCH; j++) raw.emit(`flood-${j}`, { pad: 'x'.repeat(256), j });
      await eventually(() => refused >= i + BATCH, 10_000, `refusals of batch ${i / BATCH}`);
    }
    const pad = 'y'.repeat(BODY_BYTES);
    for (let i = 0; i < BODIES; i++) {
      const res = await fetch(`${gw.url}/api/runs/run-1/commands`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `flood-${i}`,
          ...(i % 2 === 0 && { authorization: `Bearer ${TOKENS.staff}` }),
        },
        body: JSON.stringify({ kind: 'pause', pad }),
      });
      expect(res.status).toBe(400);
    }

    // While the minute lasts, the counts are visible (unsealed) in the log's answer.
    const live = await gw.audit.query({ category: 'refusal', limit: 100 });
    expect(live.find((e) => e.action === 'socket:unknown')).toMatchObject({
      subject: 'anonymous',
      hash: null,
    });
    expect(rows()).toBe(rowsBefore); // nothing written per message

    await gw.close(); // seals the open counts
    const counted = db
      .prepare(
        "SELECT subject, address, action, reason, sum(count) AS n, count(*) AS rows FROM audit_log WHERE category = 'refusal' GROUP BY subject, address, action, reason ORDER BY subject",
      )
      .all() as {
      subject: string;
      address: string | null;
      action: string;
      reason: string;
      n: number;
      rows: number;
    }[];
    expect(counted.map(({ rows: _, address: __, ...c }) => c)).toEqual([
      {
        subject: 'anonymous',
        action: 'command',
        reason: 'invalid command body (unrecognized_keys)',
        n: BODIES / 2,
      },
      { subject: 'anonymous', action: 'socket:unknown', reason: 'unknown event', n: EVENTS },
      {
        subject: 'sam',
        action: 'command',
        reason: 'invalid command body (unrecognized_keys)',
        n: BODIES / 2,
      },
    ]);
    // One row per actor, reason and minute: two if the flood straddled a minute boundary.
    for (const c of counted) expect(c.rows).toBeLessThanOrEqual(2);
    expect(counted.find((c) => c.action === 'socket:unknown')?.address).toMatch(/127\.0\.0\.1/);
    const added = rows() - rowsBefore;
    const grown = size() - bytesBefore;
    // 2,100 refusals and ~6.4 MB of refused input: a handful of rows, a page or two.
    expect(added).toBeLessThanOrEqual(6);
    expect(grown).toBeLessThan(64 * 1024);
    expect((await gw.audit.verify()).ok).toBe(true);
    const sent = EVENTS * 280 + BODIES * BODY_BYTES;
    console.log(
      `s06 flood audit: ${EVENTS} unknown events + ${BODIES} refused ${BODY_BYTES / 1024} KiB bodies (${(sent / 2 ** 20).toFixed(1)} MiB sent) → +${added} audit rows, +${grown} bytes of database (${rowsBefore} rows, ${bytesBefore} bytes before)`,
    );
    db.close();
  });
});
