import { afterEach, describe, expect, it } from 'vitest';
import type { Command, CommandSendReply, DisconnectNotice, ProtocolError } from '@/lib/protocol';
import type { GatewayOptions } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';
import { Opened, producerOf, sleep, stream, watcher } from './authFixtures';

// Scenario 21 (and finding 6 of issue 9): every socket message counts against a per-connection
// and a per-address budget. A viewer flooding ~1000 messages/s is throttled after its budget and
// disconnected with a reason, without filling the audit log, while another viewer keeps its
// frames; a steering flood gets `rate_limited` acks, capped per user per run.

const opened = new Opened();
afterEach(() => opened.closeAll());

const start = (over: Partial<GatewayOptions> = {}) =>
  startTestGateway(over).then((gw) => opened.add(gw));

/** Emits `count` messages at about `perSecond`, in 10 ms ticks; resolves with how many went out. */
async function flood(
  emit: (i: number) => void,
  count: number,
  perSecond: number,
  stop: () => boolean,
): Promise<number> {
  const perTick = Math.max(1, Math.round(perSecond / 100));
  let sent = 0;
  while (sent < count && !stop()) {
    for (let k = 0; k < perTick && sent < count; k++) emit(sent++);
    await sleep(10);
  }
  return sent;
}

describe('s21: message flooding', () => {
  it('throttles a viewer flooding 1000 msg/s after its budget and disconnects it; another viewer keeps streaming', async () => {
    const gw = await start();
    const p = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    opened.add(stream(p, 'run-1', 20));
    const honest = await watcher(opened, gw, TOKENS.viewer, 'run-1');
    await eventually(() => honest.frames.length >= 5, 5000, 'honest viewer streaming');

    const flooder = opened.add(viewerClient(gw.url));
    const notices: DisconnectNotice[] = [];
    const errors: ProtocolError[] = [];
    flooder.on('viewer:disconnect', (n) => notices.push(n));
    flooder.on('protocol:error', (e) => errors.push(e));
    await connected(flooder);
    const auditBefore = (await gw.audit.query({ limit: 1000 })).length;
    const framesBefore = honest.frames.length;
    const raw = flooder as unknown as { emit(event: string, ...args: unknown[]): void };
    const t0 = Date.now();
    const sent = await flood(
      (i) =>
        i % 2 === 0
          ? raw.emit('no-such-event', { junk: i })
          : raw.emit('run:subscribe', { run: 'run-1' }, () => undefined),
      3000,
      1000,
      () => !flooder.connected,
    );
    await eventually(async () => !flooder.connected, 10_000, 'flooder disconnected');
    const cutOffMs = Date.now() - t0;
    const counters = gw.securityCounters();
    const auditRows = (await gw.audit.query({ limit: 1000 })).length - auditBefore;
    console.log(
      `s21 flood: ${sent} messages sent in ${cutOffMs} ms before the cut-off; ${counters.viewerMessagesDropped} dropped over budget; ${auditRows} audit rows; honest viewer got ${honest.frames.length - framesBefore} frames meanwhile`,
    );
    expect(notices).toEqual([expect.objectContaining({ code: 'rate-limited', limit: 20 })]);
    expect(notices[0]!.message).toMatch(/messages over budget/);
    expect(errors.some((e) => e.code === 'rate-limited')).toBe(true);
    expect(counters.viewersDisconnectedForFlooding).toBe(1);
    // Throttled after the budget: at most one window's worth per elapsed second got through.
    const passed = sent - counters.viewerMessagesDropped;
    expect(passed).toBeLessThanOrEqual(20 * Math.ceil(cutOffMs / 1000 + 1));
    expect(counters.viewerMessagesDropped).toBeGreaterThanOrEqual(100);
    expect(sent).toBeLessThan(3000);
    // Refusals that got past the budget are audited; the dropped ones cost no row.
    expect(auditRows).toBeLessThanOrEqual(passed + 1);
    // The other viewer kept receiving frames, during the flood and after it.
    const after = honest.frames.length;
    await eventually(() => honest.frames.length >= after + 5, 5000, 'frames after the flood');
    expect(honest.socket.connected).toBe(true);
  });

  it('caps steering per user per run with rate_limited acks; nothing over the cap reaches the consumer', async () => {
    const gw = await start({ commands: { ratePoints: 5, rateWindowS: 10 } });
    const received: Command[] = [];
    for (const run of ['run-1', 'run-2']) {
      const p = await producerOf(opened, gw, TOKENS.producer, run);
      p.on('command', (c, reply) => {
        received.push(c);
        reply({ id: c.id, status: 'applied' });
      });
    }
    const staff = opened.add(viewerClient(gw.url, TOKENS.staff));
    await connected(staff);
    const zoom = { kind: 'zoom', region: { x: [10, 50], y: [20, 60], z: [0, 32] } } as const;
    // 50 zoom commands within a second on run-1.
    const answers = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          staff.emitWithAck('command:send', {
            run: 'run-1',
            idempotencyKey: `flood-${i}`,
            request: zoom,
          }) as Promise<CommandSendReply>,
      ),
    );
    const ok = answers.filter((a) => a.ok).length;
    const limited = answers.filter((a) => !a.ok && a.code === 'rate_limited' && a.status === 429);
    console.log(
      `s21 steering: 50 commands in a burst → ${ok} accepted, ${limited.length} rate_limited`,
    );
    expect(ok).toBe(5);
    expect(limited).toHaveLength(45);
    // Past the message budget's 1 s window, the steering cap still holds on run-1 (10 s window),
    // while another run of the same user is not locked out; the session survived.
    await sleep(1100);
    const again = (await staff.emitWithAck('command:send', {
      run: 'run-1',
      idempotencyKey: 'again',
      request: zoom,
    })) as CommandSendReply;
    expect(again).toMatchObject({
      ok: false,
      status: 429,
      code: 'rate_limited',
      error: expect.stringMatching(/too many commands on run run-1/),
    });
    const other = (await staff.emitWithAck('command:send', {
      run: 'run-2',
      idempotencyKey: 'other-run',
      request: zoom,
    })) as CommandSendReply;
    expect(other.ok).toBe(true);
    expect(staff.connected).toBe(true);
    await sleep(300);
    expect(received.map((c) => c.run).sort()).toEqual([...Array(5).fill('run-1'), 'run-2']);
  });

  it('shares one budget among the connections of an address', async () => {
    const gw = await start({ messageBudgets: { viewer: { perAddress: 30, perConnection: 20 } } });
    await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const sockets = [opened.add(viewerClient(gw.url)), opened.add(viewerClient(gw.url))];
    await Promise.all(sockets.map((s) => connected(s)));
    const answers = await Promise.all(
      sockets.flatMap((s) =>
        Array.from({ length: 20 }, () => s.emitWithAck('run:subscribe', { run: 'run-1' })),
      ),
    );
    const refused = answers.filter((a) => !a.ok && /rate_limited: .* this address/.test(a.error));
    expect(answers.filter((a) => a.ok)).toHaveLength(30);
    expect(refused).toHaveLength(10);
    // Ten drops are far from sustained abuse: both stay connected.
    expect(sockets.every((s) => s.connected)).toBe(true);
  });

  it('budgets the producer namespace too: a flooding producer is cut off, another keeps publishing', async () => {
    const gw = await start({
      messageBudgets: { producer: { perConnection: 50, disconnectAfterDropped: 200 } },
    });
    const good = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    opened.add(stream(good, 'run-1', 20));
    const honest = await watcher(opened, gw, TOKENS.viewer, 'run-1');
    const bad = opened.add(producerClient(gw.url, TOKENS.producer2));
    const errors: ProtocolError[] = [];
    bad.on('protocol:error', (e) => errors.push(e));
    await connected(bad);
    const raw = bad as unknown as { emit(event: string, ...args: unknown[]): void };
    const sent = await flood(
      (i) => raw.emit('run:metrics', { junk: i }),
      5000,
      2000,
      () => !bad.connected,
    );
    await eventually(() => !bad.connected, 10_000, 'flooding producer disconnected');
    const counters = gw.securityCounters();
    console.log(
      `s21 producer flood: ${sent} sent, ${counters.producerMessagesDropped} dropped, disconnected`,
    );
    expect(counters.producersDisconnectedForFlooding).toBe(1);
    expect(counters.producerMessagesDropped).toBeGreaterThanOrEqual(200);
    expect(errors.some((e) => e.code === 'rate-limited' && /over budget/.test(e.message))).toBe(
      true,
    );
    const seen = honest.frames.length;
    await eventually(() => honest.frames.length >= seen + 5, 5000, 'good producer still streaming');
    expect(good.connected).toBe(true);
  });
});
