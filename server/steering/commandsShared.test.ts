import { afterEach, expect, it } from 'vitest';
import type { Command, CommandRecord } from '@/lib/protocol';
import { openStore } from '../db/openStore';
import { type TestStore, describeEachStore } from '../db/testing/testStores';
import type { Gateway } from '../gateway';
import {
  connected,
  eventually,
  postCommand,
  producerClient,
  startTestGateway,
  TOKENS,
} from '../testing/testGateway';

// Two gateways on one database (on PostgreSQL: two pools, as two processes would have): one
// Idempotency-Key is one command whichever gateways it is posted to, and each attempt one row of
// one intact audit chain.
describeEachStore('commands shared by gateways', (openTestStore) => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const thing of opened.splice(0).reverse()) await thing.close();
  });

  async function twoGateways(): Promise<{ a: Gateway; b: Gateway; received: Command[] }> {
    const store: TestStore = await openTestStore();
    opened.push(store);
    const a = await startTestGateway({ db: store, commands: { ratePoints: 1000 } });
    opened.push(a);
    const consumer = producerClient(a.url, TOKENS.producer);
    opened.push(consumer);
    const received: Command[] = [];
    consumer.on('command', (command, reply) => {
      received.push(command);
      reply({ id: command.id, status: 'applied', detail: `did ${command.kind}` });
    });
    await connected(consumer);
    expect((await consumer.emitWithAck('run:register', { run: 'run-1', title: 'Shared' })).ok).toBe(
      true,
    );
    await a.registry.flush();
    const second =
      store.postgres === null
        ? store
        : await openStore({ url: store.postgres.url, schema: store.postgres.schema, poolSize: 4 });
    if (second !== store) opened.push(second);
    // Started after the run is stored, so it knows run-1 (waiting: its producer is on A).
    const b = await startTestGateway({ db: second, commands: { ratePoints: 1000 } });
    opened.push(b);
    return { a, b, received };
  }

  it('the same Idempotency-Key posted to two gateways at once is one command', async () => {
    const { a, b, received } = await twoGateways();
    const body = { kind: 'pause' };
    const answers = await Promise.all(
      [a, b, a, b].map((gw) => postCommand(gw.url, 'run-1', TOKENS.scientist, body, 'key-shared')),
    );
    const bodies = await Promise.all(
      answers.map(async (r) => ({ status: r.status, ...((await r.json()) as object) })),
    );
    // The first is accepted; the others are replays of it or (on its own gateway, while it is
    // being answered) told it is in progress; none makes a command of its own.
    const ids = new Set(
      bodies.flatMap((x) => ('command' in x ? [(x.command as CommandRecord).id] : [])),
    );
    expect(ids.size).toBe(1);
    for (const x of bodies) expect([202, 409]).toContain(x.status);
    const [id] = [...ids];
    // The consumer (on A) never sees a second command; whether it sees this one depends on which
    // gateway accepted it (delivery from a gateway without the producer is the cluster's
    // forwarding, not tested here).
    expect(received.filter((c) => c.id !== id)).toEqual([]);
    expect(received.length).toBeLessThanOrEqual(1);
    expect(await a.commands.list('run-1')).toHaveLength(1);
    expect(await b.commands.list('run-1')).toHaveLength(1);
    // Later, either gateway answers the key as the first time, with the same command.
    for (const gw of [b, a]) {
      const again = await postCommand(gw.url, 'run-1', TOKENS.scientist, body, 'key-shared');
      expect(again.status).toBe(202);
      expect(((await again.json()) as { command: CommandRecord }).command.id).toBe(id);
    }
    // Another body under the key is refused on both; a new key is a new command.
    for (const gw of [a, b]) {
      const other = await postCommand(
        gw.url,
        'run-1',
        TOKENS.scientist,
        { kind: 'resume' },
        'key-shared',
      );
      expect(other.status).toBe(422);
    }
    const fresh = await postCommand(b.url, 'run-1', TOKENS.scientist, body, 'key-other');
    expect(fresh.status).toBe(202);
    expect(await a.commands.list('run-1')).toHaveLength(2);

    // Every attempt is one row of one chain, whichever gateway wrote it.
    const attempts = (
      await a.audit.query({ category: 'attempt', run: 'run-1', limit: 100 })
    ).filter((e) => e.action === 'command:pause' || e.action === 'command:resume');
    expect(attempts).toHaveLength(bodies.length + 2 + 2 + 1);
    expect(attempts.filter((e) => e.outcome === 'accepted')).toHaveLength(2);
    expect((await b.audit.verify()).ok).toBe(true);
  });

  it('a command accepted on one gateway is found, in its final state, through the other', async () => {
    const { a, b } = await twoGateways();
    const posted = await postCommand(a.url, 'run-1', TOKENS.scientist, { kind: 'capture' }, 'k1');
    expect(posted.status).toBe(202);
    const { command } = (await posted.json()) as { command: CommandRecord };
    await eventually(
      async () => (await a.commands.get(command.id))?.state === 'applied',
      5000,
      'applied',
    );
    const listed = await fetch(`${b.url}/api/runs/run-1/commands`, {
      headers: { authorization: `Bearer ${TOKENS.scientist}` },
    });
    expect(((await listed.json()) as { commands: CommandRecord[] }).commands).toEqual([
      expect.objectContaining({ id: command.id, state: 'applied', detail: 'did capture' }),
    ]);
  });
});
