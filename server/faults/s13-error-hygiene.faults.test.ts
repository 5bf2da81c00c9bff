/**
 * Scenario 13 of ../shared/RELIABILITY.md: 'error' event hygiene. Every EventEmitter our code
 * creates has an 'error' listener (found by scanning server/ and checked on a started gateway), and
 * injected errors — ECONNRESET on viewer and producer sockets over WebSocket and long-polling, on a
 * half-sent HTTP request, and on every request of a facility poller — leave the process up, leak no
 * socket or descriptor, and do not disturb a viewer on another connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AlcfActivityAdapter } from '../facilities/adapters/AlcfActivityAdapter';
import { FacilityService } from '../facilities/FacilityService';
import { findEmitterSources, reachableEmitters } from '../testing/emitterHygiene';
import { ProducerLoop } from '../testing/ProducerLoop';
import { openFds } from '../testing/ResourceSampler';
import { TcpProxy } from '../testing/TcpProxy';
import { eventually, startTestGateway } from '../testing/testGateway';
import { expectAccounting, ViewerProbe } from '../testing/ViewerProbe';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = 30;

/** A TCP server that resets every connection it accepts: a facility API behind a broken middlebox. */
async function resettingServer(): Promise<net.Server & { resets: number }> {
  const server = Object.assign(
    net.createServer((socket) => {
      server.resets++;
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
    }),
    { resets: 0 },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise((r) => server.close(r)) });
  return server;
}

async function facilitiesAgainst(server: net.Server): Promise<FacilityService> {
  const { port } = server.address() as net.AddressInfo;
  const service = new FacilityService({
    adapters: [
      new AlcfActivityAdapter({
        baseUrl: `http://127.0.0.1:${port}`,
        systems: [{ system: 'polaris', name: 'Polaris', totalNodes: 560 }],
        timeoutMs: 1000,
      }),
    ],
    db: ':memory:',
    intervalMs: 100,
    maxBackoffMs: 200,
  });
  service.start();
  open.push({ close: () => service.stop() });
  return service;
}

describe('s13 error hygiene', () => {
  it("every EventEmitter our code creates has an 'error' listener", async () => {
    const sources = findEmitterSources(SERVER_DIR);
    expect(sources.classes.map((c) => c.name).sort()).toEqual(
      expect.arrayContaining(['CommandService', 'FacilityService', 'RunRegistry']),
    );
    for (const site of sources.sites)
      expect(
        site.hasErrorListener,
        `${site.file}: ${site.variable} = new EventEmitter() has no 'error' listener`,
      ).toBe(true);

    const facilities = await facilitiesAgainst(await resettingServer());
    // Recording on, so the recorder is among the emitters a started gateway makes.
    const recordings = mkdtempSync(join(tmpdir(), 'loupe-s13-'));
    open.push({ close: () => rmSync(recordings, { recursive: true, force: true }) });
    const gw = await startTestGateway({
      facilities,
      recording: {
        dir: recordings,
        maxBytesPerRun: 2 ** 20,
        maxBytes: 2 ** 21,
        maxAgeMs: 3_600_000,
      },
    });
    open.push(gw);
    // The facility service is made by the process that starts the gateway, and handed to it.
    const instances = reachableEmitters(
      { gateway: gw, facilities },
      new Set(sources.classes.map((c) => c.name)),
    );
    // Each of our emitter classes is instantiated by a started gateway and found here…
    expect(new Set(instances.map((i) => i.name))).toEqual(
      new Set(sources.classes.map((c) => c.name)),
    );
    // …and each instance has someone listening for 'error', so an emitted error never throws.
    for (const i of instances)
      expect(i.errorListeners, `${i.path} (${i.name}) has no 'error' listener`).toBeGreaterThan(0);
    console.log(
      `s13 hygiene: classes ${sources.classes.map((c) => `${c.name} (${c.file})`).join(', ')}; ` +
        `new EventEmitter sites ${sources.sites.map((s) => `${s.file}:${s.variable}`).join(', ')}; ` +
        `instances ${instances.map((i) => `${i.path} ${i.errorListeners} listener(s)`).join(', ')}`,
    );
  });

  it(`${ROUNDS} rounds of ECONNRESET on sockets, pollers and requests leave the gateway up and clean`, async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    open.push({
      close: () => {
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onUncaught);
      },
    });
    const broken = await resettingServer();
    const facilities = await facilitiesAgainst(broken);
    const gw = await startTestGateway({
      facilities,
      metricsIntervalMs: 250,
      // Long-polling sessions whose TCP was reset are reaped by the heartbeat: keep it short.
      pingIntervalMs: 1000,
      pingTimeoutMs: 1000,
    });
    open.push(gw);
    const proxy = await TcpProxy.start({ target: { port: gw.port }, maxConnections: 64 });
    open.push(proxy);
    const producer = await new ProducerLoop({
      url: gw.url,
      run: 'run-s13',
      shape: [64, 64],
    }).ready();
    open.push(producer);
    const witness = new ViewerProbe({ url: gw.url, run: 'run-s13' });
    open.push(witness);
    await witness.ready();
    producer.start();
    await eventually(() => witness.samples >= 2, 10_000, 'witness metrics');
    const fdsBefore = openFds();
    let clientResets = 0;
    let resetConnections = 0;
    let pollingDropped = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const viewers = [
        ...[0, 1].map(
          () => new ViewerProbe({ url: proxy.url, run: 'run-s13', io: { reconnection: false } }),
        ),
        new ViewerProbe({
          url: proxy.url,
          run: 'run-s13',
          io: { reconnection: false, transports: ['polling'] },
        }),
      ];
      const streaming = new ProducerLoop({
        url: proxy.url,
        run: `run-s13-${round}`,
        shape: [64, 64],
      });
      await Promise.all([...viewers.map((v) => v.ready()), streaming.ready()]);
      streaming.start();
      // A request cut off in the middle of its body.
      const partial = net.connect({ host: '127.0.0.1', port: proxy.port });
      let partialClosed = false;
      partial.on('error', (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' && clientResets++);
      partial.on('close', () => (partialClosed = true));
      partial.write(
        'POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
      );
      await eventually(
        () => viewers.every((v) => v.received > 0),
        10_000,
        'frames through the proxy',
      );
      await eventually(
        () => proxy.connections.some((c) => c.client.remotePort === partial.localPort),
        5000,
        'half-sent request at the proxy',
      );
      resetConnections += proxy.connections.length;
      proxy.reset();
      // WebSocket clients lose their session; a long-polling one between two requests may not
      // (its next request opens a new connection), which is how polling is meant to recover.
      await eventually(
        () => viewers.slice(0, 2).every((v) => !v.socket.connected),
        5000,
        'clients see the reset',
      );
      if (!viewers[2]!.socket.connected) pollingDropped++;
      await eventually(() => partialClosed, 5000, 'half-sent request reset');
      streaming.close();
      for (const v of viewers) v.close();
    }

    await eventually(
      () => gw.viewers.sockets.size === 1 && gw.producers.sockets.size === 1,
      10_000,
      'reset sockets reaped',
    );
    await eventually(() => broken.resets >= 10, 10_000, 'poller resets');
    producer.stop();
    await producer.settled();
    await new Promise((r) => setTimeout(r, 300));
    const fdsAfter = openFds();
    expect(uncaught).toEqual([]);
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + 8);
    const polaris = facilities.snapshots().find((s) => s.system === 'polaris');
    expect(polaris?.status).toBe('unknown');
    expect((await fetch(`${gw.url}/api/health`)).ok).toBe(true);
    // Ten metrics samples make the accounting check meaningful; wait for them, not for the clock.
    await eventually(() => witness.samples >= 10, 20_000, 'ten metrics samples at the witness');
    const [w] = await expectAccounting([witness], { minSamples: 10 });
    expect(witness.disconnects).toHaveLength(0);
    console.log(
      `s13 resets: ${ROUNDS} rounds, ${resetConnections} proxied connections reset (ws, polling, producer, half-sent POST; ${pollingDropped} polling sessions dropped, the others recovered), ` +
        `${clientResets} ECONNRESET seen by the raw client; facility poller reset ${broken.resets} times, polaris ${polaris?.status}; ` +
        `fds ${fdsBefore} → ${fdsAfter}; uncaught 0; witness ${JSON.stringify(w!.counters)}`,
    );
  });
});
