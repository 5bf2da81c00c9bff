import { afterEach, describe, expect, it } from 'vitest';
import type { Command, CommandSendReply } from '@/lib/protocol';
import type { Gateway } from '../gateway';
import {
  connected,
  startTestGateway,
  TOKENS,
  viewerClient,
  type ProducerClient,
} from '../testing/testGateway';
import { Opened, producerOf, sleep } from './authFixtures';

// Scenario 17: scientist A (ada, run-1) tampers with the run id to command scientist B's run
// (bob, run-b), over REST and the socket, and replays B's own message. Every attempt is denied,
// the audit records the run A tried, and nothing reaches B's producer.

const opened = new Opened();
afterEach(() => opened.closeAll());

/** Records each command the producer of `run` receives, and applies it. */
function consume(p: ProducerClient, received: Command[]) {
  p.on('command', (command, reply) => {
    received.push(command);
    reply({ id: command.id, status: 'applied' });
  });
}

function rest(gw: Gateway, token: string, path: string, body: unknown, key: string) {
  return fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify(body),
  });
}

describe('s17: run-ownership tampering', () => {
  it('denies A on B’s run over REST and the socket, and a replay of B’s message; B’s producer sees only B', async () => {
    const gw = opened.add(await startTestGateway({ commands: { ratePoints: 1000 } }));
    const atA: Command[] = [];
    const atB: Command[] = [];
    consume(await producerOf(opened, gw, TOKENS.producer, 'run-1'), atA);
    consume(await producerOf(opened, gw, TOKENS.producer2, 'run-b'), atB);
    const zoom = { kind: 'zoom', region: { x: [10, 50], y: [20, 60], z: [0, 32] } };

    // B steers its own run over the socket: the message A will replay.
    const b = opened.add(viewerClient(gw.url, TOKENS.otherScientist));
    await connected(b);
    const bMessage = { run: 'run-b', idempotencyKey: 'bob-key-1', request: zoom };
    const bReply = (await b.emitWithAck('command:send', bMessage)) as CommandSendReply;
    expect(bReply.ok).toBe(true);

    const a = opened.add(viewerClient(gw.url, TOKENS.scientist));
    await connected(a);
    const socketAttempts: unknown[] = [
      bMessage, // a verbatim replay of B's message, key included
      { ...bMessage, idempotencyKey: 'ada-key-1' },
      { run: 'run-b', idempotencyKey: 'ada-key-2', request: { kind: 'pause' } },
      // A run id smuggled into the request body of A's own run is not a way in either.
      { run: 'run-1', idempotencyKey: 'ada-key-3', request: { ...zoom, run: 'run-b' } },
    ];
    const answers: CommandSendReply[] = [];
    for (const attempt of socketAttempts)
      answers.push((await a.emitWithAck('command:send', attempt as never)) as CommandSendReply);
    expect(answers.map((r) => (r.ok ? 202 : r.status))).toEqual([403, 403, 403, 400]);

    const restAttempts: [string, unknown, string][] = [
      ['/api/runs/run-b/commands', zoom, 'bob-key-1'], // B's key and body, A's token
      ['/api/runs/run-b/commands', zoom, 'ada-rest-1'],
      ['/api/runs/run%2Db/commands', { kind: 'capture' }, 'ada-rest-2'],
      ['/api/runs/run-1/commands', { ...zoom, run: 'run-b' }, 'ada-rest-3'],
    ];
    const statuses: number[] = [];
    for (const [path, body, key] of restAttempts)
      statuses.push((await rest(gw, TOKENS.scientist, path, body, key)).status);
    expect(statuses).toEqual([403, 403, 403, 400]);

    await sleep(300);
    // B's producer got B's command and nothing else; A's own run got nothing either.
    expect(atB.map((c) => c.kind)).toEqual(['zoom']);
    expect(atA).toEqual([]);
    expect((await gw.commands.list('run-b')).map((c) => c.subject)).toEqual(['bob']);
    expect(await gw.commands.list('run-1')).toEqual([]);
    // Each denial is audited with the run A tried.
    const denied = (await gw.audit.query({ subject: 'ada', outcome: 'denied', limit: 50 })).filter(
      (e) => e.action.startsWith('command'),
    );
    expect(denied.filter((e) => e.run === 'run-b')).toHaveLength(6);
    // The two malformed bodies (a run smuggled in) are counted in one refusal row, not copied.
    expect(denied).toHaveLength(7);
    expect(denied.find((e) => e.run === 'run-1')?.count).toBe(2);
    expect(denied.every((e) => e.reason?.includes('run-b') || e.run === 'run-1')).toBe(true);
  });
});
