import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProtocolError, RunMetrics } from '@/lib/protocol';
import type { Gateway, GatewayOptions } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';
import { Opened, producerOf, slice, sleep, watcher } from './authFixtures';

// Scenario 18 (and finding 4 of issue 9): nobody but a run's own producer identity publishes it.
// Viewers and scientists cannot push; a producer scoped to run X cannot register or push run Y;
// a producer cannot take over another identity's run, online or offline, not even after a
// gateway restart; a resubmitted job's per-run token publishes its run and nothing else. Each
// refusal is audited, fans nothing out, and counts as a refused push.

const opened = new Opened();
afterEach(() => opened.closeAll());

function start(over: Partial<GatewayOptions> = {}): Promise<Gateway> {
  return startTestGateway({ metricsIntervalMs: 100, ...over }).then((gw) => opened.add(gw));
}

const refusedPushes = (gw: Gateway) => gw.securityCounters().refusedPushes;
const titleOf = (gw: Gateway, run: string) => gw.registry.get(run)?.title;

describe('s18: producer impersonation', () => {
  it('refuses frames and registrations from viewers and scientists; nothing is fanned out', async () => {
    const gw = await start();
    const p = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const honest = await watcher(opened, gw, TOKENS.viewer, 'run-1');
    const metrics: RunMetrics[] = [];
    honest.socket.on('run:metrics', (m) => metrics.push(m));
    expect(
      await p.emitWithAck('frame', slice('run-1', 0).header, slice('run-1', 0).payload),
    ).toEqual({
      ok: true,
    });
    await eventually(() => honest.frames.length === 1, 5000, 'the genuine frame');

    let attempts = 0;
    for (const token of [undefined, TOKENS.viewer, TOKENS.scientist, TOKENS.staff]) {
      const v = opened.add(viewerClient(gw.url, token));
      const errors: ProtocolError[] = [];
      v.on('protocol:error', (e) => errors.push(e));
      await connected(v);
      const forged = slice('run-1', 100 + attempts);
      // The raw socket.io client lets a viewer emit producer events its typed map does not have.
      const raw = v as unknown as { emit(event: string, ...args: unknown[]): void };
      raw.emit('frame', forged.header, forged.payload);
      raw.emit('run:register', { run: 'run-1', title: 'Hijacked' });
      raw.emit('run:state', { run: 'run-1', state: 'finished' });
      attempts += 3;
      await eventually(() => errors.length === 3, 5000, 'three refusals');
      expect(errors.every((e) => e.code === 'forbidden')).toBe(true);
      // A viewer credential cannot open the producer socket at all.
      const asProducer = opened.add(producerClient(gw.url, token));
      // Refused at the engine handshake (restart9): no session, no typed code, no producer socket.
      const producersBefore = gw.producers.sockets.size;
      const refusal = await connected(asProducer).then(
        () => 'connected',
        (e: Error) => e.message,
      );
      expect(refusal).not.toBe('connected');
      expect(gw.producers.sockets.size).toBe(producersBefore);
    }
    await sleep(300);
    expect(honest.frames.map((f) => f.seq)).toEqual([0]);
    expect(titleOf(gw, 'run-1')).toBe('run run-1');
    expect(gw.registry.get('run-1')?.state).toBe('streaming');
    // Each producer event from a viewer counts as a refused push, on the gateway and on the run.
    expect(refusedPushes(gw)).toBe(attempts);
    await eventually(
      async () => metrics.at(-1)?.producer.refusedPushes === attempts,
      3000,
      'refused pushes in the run’s metrics',
    );
    expect(
      (await gw.audit.query({ outcome: 'denied', limit: 100 })).filter(
        (e) => e.action === 'socket:frame',
      ).length,
    ).toBe(attempts / 3);
  });

  it('a producer scoped to run X neither registers nor pushes run Y, and cannot take over another identity’s run online or offline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-s18-'));
    opened.add({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const dbPath = join(dir, 'loupe.db');
    const gw = await start({ db: dbPath });
    const owner = await producerOf(opened, gw, TOKENS.producer, 'run-y');
    const y = await watcher(opened, gw, TOKENS.viewer, 'run-y');
    const x = await producerOf(opened, gw, TOKENS.producerX, 'run-x');

    // Out of scope: consumer-x may publish run-x only.
    expect(await x.emitWithAck('run:register', { run: 'run-y', title: 'Retitled' })).toMatchObject({
      ok: false,
      error: 'consumer-x may not publish run run-y',
    });
    expect(await x.emitWithAck('run:register', { run: 'run-z', title: 'New' })).toMatchObject({
      ok: false,
    });
    const pushed = slice('run-y', 0);
    expect(await x.emitWithAck('frame', pushed.header, pushed.payload)).toMatchObject({
      ok: false,
    });
    // In scope (a `*` producer) but another identity's run, while its consumer streams it.
    const wildcard = opened.add(producerClient(gw.url, TOKENS.producer2));
    await connected(wildcard);
    expect(
      await wildcard.emitWithAck('run:register', { run: 'run-y', title: 'Retitled' }),
    ).toMatchObject({ ok: false, error: expect.stringMatching(/belongs to producer consumer/) });
    const wild = slice('run-y', 1);
    expect(await wildcard.emitWithAck('frame', wild.header, wild.payload)).toMatchObject({
      ok: false,
    });
    await sleep(200);
    expect(y.frames).toEqual([]);
    expect(titleOf(gw, 'run-y')).toBe('run run-y');
    expect(refusedPushes(gw)).toBe(5);

    // Offline: the owner's consumer is gone; the run still is not anyone else's.
    owner.close();
    await eventually(() => gw.registry.get('run-y')?.producerConnected === false, 5000, 'offline');
    expect(
      await wildcard.emitWithAck('run:register', { run: 'run-y', title: 'Retitled' }),
    ).toMatchObject({ ok: false, error: 'run run-y belongs to producer consumer' });
    expect(titleOf(gw, 'run-y')).toBe('run run-y');

    // Nor after a gateway restart: the owner is in the database.
    await gw.close();
    const again = await start({ db: dbPath });
    const late = opened.add(producerClient(again.url, TOKENS.producer2));
    await connected(late);
    expect(
      await late.emitWithAck('run:register', { run: 'run-y', title: 'Retitled' }),
    ).toMatchObject({ ok: false, error: 'run run-y belongs to producer consumer' });
    expect(titleOf(again, 'run-y')).toBe('run run-y');
    expect(again.securityCounters().refusedPushes).toBe(1);
    const denied = (
      await again.audit.query({ action: 'socket:run:register', outcome: 'denied', limit: 20 })
    ).map((e) => [e.subject, e.run]);
    // Audited (each refusal, or one row per actor and reason where the log aggregates refusals).
    expect(new Set(denied.map((d) => d.join(' ')))).toEqual(
      new Set(['consumer-2 run-y', 'consumer-x run-z', 'consumer-x run-y']),
    );
    // The owner itself resumes its run.
    await producerOf(opened, again, TOKENS.producer, 'run-y');
  });

  it('a resubmitted job’s per-run token takes over its run, and publishes nothing else', async () => {
    const gw = await start();
    const first = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const superseded: string[] = [];
    first.on('run:superseded', (n) => superseded.push(n.run));
    await producerOf(opened, gw, TOKENS.producer, 'run-2');
    const { token } = await gw.producerTokens.mint('run-1', 'job:sim/42', 60);
    const job = await producerOf(opened, gw, token, 'run-1');
    await eventually(() => superseded.length === 1, 3000, 'the old consumer superseded');
    expect(superseded).toEqual(['run-1']);
    expect(await job.emitWithAck('run:register', { run: 'run-2', title: 'Stolen' })).toMatchObject({
      ok: false,
      error: 'job:sim/42 may not publish run run-2',
    });
    const frame = slice('run-2', 0);
    expect(await job.emitWithAck('frame', frame.header, frame.payload)).toMatchObject({
      ok: false,
    });
    const own = slice('run-1', 0);
    expect(await job.emitWithAck('frame', own.header, own.payload)).toEqual({ ok: true });
    expect(titleOf(gw, 'run-2')).toBe('run run-2');
    // A job token is a producer credential only: it opens no viewer socket and no REST call.
    const asViewer = opened.add(viewerClient(gw.url, token));
    expect(
      await connected(asViewer).then(
        () => 'connected',
        (e: Error & { data?: { code: string } }) => e.data?.code,
      ),
    ).toBe('forbidden');
  });
});
