import { afterEach, describe, expect, it } from 'vitest';
import { AlcfActivityAdapter } from './adapters/AlcfActivityAdapter';
import { IriAdapter } from './adapters/IriAdapter';
import { NerscSfApiAdapter } from './adapters/NerscSfApiAdapter';
import { OlcfS3mAdapter } from './adapters/OlcfS3mAdapter';
import { facilityAdapters } from './facilityAdapters';
import { FacilityService } from './FacilityService';
import { startFacilitySimulator, type SimulatorUrls } from './simulator/startFacilitySimulator';
import { simulatorSites, simulatorTokenEnv } from './sites/simulatorSites';
import { startFixtureServer, type FixtureResponse } from './testing/fixtureServer';
import { SystemSnapshot } from '@/lib/protocol';

const START = Date.UTC(2025, 0, 8, 12);
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function builtFor(urls: SimulatorUrls) {
  const built = facilityAdapters(simulatorSites(urls, 'tok'), { env: simulatorTokenEnv('tok') });
  return { sources: built.sources, jobProfiles: built.jobProfiles, totalNodes: built.totalNodes };
}

async function simulated(seed = 11) {
  const sim = await startFacilitySimulator({
    seed,
    manualClock: true,
    startTime: START,
    tokens: ['tok'],
  });
  cleanup.push(() => sim.close());
  const service = new FacilityService({
    ...builtFor(sim.urls),
    db: ':memory:',
    now: () => sim.now(),
    historyEveryMs: 0,
  });
  cleanup.push(() => service.stop());
  return { sim, service };
}

describe('adapters against the simulator over HTTP', () => {
  it('normalise all four systems, with queue depth where the source publishes it', async () => {
    const { service } = await simulated();
    const systems = await service.pollOnce();
    expect(systems.map((s) => s.system)).toEqual(['aurora', 'frontier', 'perlmutter', 'polaris']);
    for (const s of systems) {
      expect(SystemSnapshot.safeParse(s).success).toBe(true);
      expect(s.stale).toBe(false);
      expect(['up', 'degraded', 'down', 'maintenance']).toContain(s.status);
    }
    const byId = Object.fromEntries(systems.map((s) => [s.system, s]));
    expect(byId.polaris!.queue.totalNodes).toBe(560);
    expect(byId.polaris!.queue.queued).toBeGreaterThan(0);
    expect(byId.perlmutter!.queue.running).toBeGreaterThan(0);
    // Neither S3M nor IRI defines queue depth.
    expect(byId.frontier!.queue.queued).toBeNull();
  });

  it('shows a system entering and leaving maintenance from a planned window', async () => {
    const { sim, service } = await simulated();
    sim.addWindow('polaris', { startInS: 1800, durationS: 4 * 3600, description: 'Polaris PM' });
    let polaris = (await service.pollOnce()).find((s) => s.system === 'polaris')!;
    expect(polaris.status).not.toBe('maintenance');
    expect(polaris.nextWindow?.start).toBe(sim.now() + 1_800_000);
    sim.advance(3600);
    polaris = (await service.pollOnce()).find((s) => s.system === 'polaris')!;
    expect(polaris.status).toBe('maintenance');
    expect(polaris.since).toBe(sim.now() - 1_800_000);
    sim.advance(4 * 3600);
    polaris = (await service.pollOnce()).find((s) => s.system === 'polaris')!;
    expect(['up', 'degraded']).toContain(polaris.status);
  });

  it('learns observed waits from job lists and keeps history in SQLite', async () => {
    const { sim, service } = await simulated();
    for (let i = 0; i < 12; i++) {
      await service.pollOnce();
      sim.advance(1800);
    }
    const [polaris] = service.estimate({ nodes: 16, walltime: 3600, systems: ['polaris'] });
    expect(polaris!.observations).toBeGreaterThan(0);
    expect(polaris!.bound95).toBeGreaterThanOrEqual(polaris!.median);
    const history = await service.history('polaris', 0, sim.now());
    expect(history.length).toBe(12);
    const rec = service.recommend({ nodes: 8, walltime: 3600, dataBytes: 50e9 });
    expect(rec.ranked.length + rec.excluded.length).toBe(4);
    // Frontier has no queue source: left out, with the reason.
    expect(rec.excluded.find((e) => e.system === 'frontier')?.reasons[0]).toMatch(
      /no wait estimate/,
    );
  }, 15_000);

  it('turns expired credentials into unknown, not the last good queue', async () => {
    const sim = await startFacilitySimulator({
      seed: 2,
      manualClock: true,
      startTime: START,
      tokens: ['tok'],
    });
    cleanup.push(() => sim.close());
    const service = new FacilityService({
      adapters: [
        new NerscSfApiAdapter({
          baseUrl: sim.urls.nerscSfApi,
          token: 'tok',
          systems: [{ system: 'perlmutter', name: 'Perlmutter', totalNodes: 1792 }],
        }),
      ],
      db: ':memory:',
    });
    const [good] = await service.pollOnce();
    expect(good!.queue.running).toBeGreaterThan(0);
    sim.expireTokens();
    const [bad] = await service.pollOnce();
    expect(bad!.status).toBe('unknown');
    expect(bad!.stale).toBe(true);
    expect(bad!.staleReason).toMatch(/NERSC SF API failing: credentials refused \(HTTP 401/);
    expect(bad!.queue.running).toBeNull();
  });
});

const nerscStatus = JSON.stringify({
  name: 'perlmutter',
  full_name: 'Perlmutter',
  description: 'x',
  system_type: 'compute',
  notes: [],
  status: 'active',
  updated_at: '2025-01-08T10:00:00Z',
});
const s3m = (status: string) =>
  JSON.stringify({
    resources: [
      {
        name: 'frontier',
        description: 'Frontier',
        status,
        downtimeScheduleAvailable: true,
        upcomingDowntimes: [
          {
            resourceName: 'frontier',
            status: 'SCHEDULED',
            start: '2025-01-08T11:00:00Z',
            end: '2025-01-08T20:00:00Z',
            description: 'PM',
            attributes: { scheduled: true, reboot: true },
          },
        ],
        retrievedAt: '2025-01-08T12:00:00Z',
      },
    ],
  });

describe('adapters against real-shaped payloads and garbage', () => {
  async function fixture(routes: Map<string, FixtureResponse>) {
    const server = await startFixtureServer(routes);
    cleanup.push(() => server.close());
    return server;
  }
  const nersc = (url: string) =>
    new NerscSfApiAdapter({
      baseUrl: `${url}/api/v1.2`,
      systems: [{ system: 'perlmutter', name: 'Perlmutter', totalNodes: 1792 }],
      timeoutMs: 300,
      token: 'x',
    });

  it('reads a real-shaped NERSC answer, squeue rows as strings', async () => {
    const routes = new Map<string, FixtureResponse>([
      ['/api/v1.2/status/perlmutter', { body: nerscStatus }],
      [
        '/api/v1.2/status/outages/planned/perlmutter',
        {
          body: JSON.stringify([
            {
              name: 'perlmutter',
              start_at: '2025-01-20T14:00:00Z',
              end_at: '2025-01-20T22:00:00Z',
              description: 'Maintenance',
              notes: null,
              status: 'Planned',
            },
          ]),
        },
      ],
      [
        '/api/v1.2/compute/jobs/perlmutter',
        {
          body: JSON.stringify({
            status: 'OK',
            error: null,
            output: [
              {
                jobid: '1',
                state: 'RUNNING',
                nodes: '4',
                time_limit: '1-00:00:00',
                submit_time: '2025-01-08T09:00:00',
                start_time: '2025-01-08T10:00:00',
                qos: 'regular',
                partition: 'gpu',
                priority: '100',
                reason: 'None',
              },
              {
                jobid: '2',
                state: 'PENDING',
                nodes: '10',
                time_limit: '02:00:00',
                submit_time: '2025-01-08T11:00:00',
                start_time: '2025-01-09T01:00:00',
                qos: 'regular',
                partition: 'gpu',
                priority: '90',
                reason: 'Priority',
              },
            ],
          }),
        },
      ],
    ]);
    const server = await fixture(routes);
    const service = new FacilityService({
      adapters: [nersc(server.url)],
      db: ':memory:',
      now: () => START,
    });
    const [s] = await service.pollOnce();
    expect(s).toMatchObject({
      status: 'up',
      stale: false,
      queue: { running: 1, queued: 1, queuedNodeHours: 20, freeNodes: 1788 },
    });
    expect(s!.nextWindow?.start).toBe(Date.parse('2025-01-20T14:00:00Z'));
  });

  const garbage: [string, FixtureResponse, RegExp][] = [
    [
      'HTML',
      {
        body: '<!doctype html><html>Service temporarily unavailable</html>',
        contentType: 'text/html',
      },
      /HTML/,
    ],
    ['truncated JSON', { body: nerscStatus.slice(0, 40) }, /invalid JSON/],
    ['HTTP 500', { status: 500, body: '{"detail":"boom"}' }, /HTTP 500/],
    ['timeout', { body: nerscStatus, delayMs: 2000 }, /no answer within 300 ms/],
  ];
  for (const [name, response, reason] of garbage) {
    it(`makes the source's systems unknown and stale on ${name}, and backs off`, async () => {
      const routes = new Map<string, FixtureResponse>([
        ['/api/v1.2/status/perlmutter', response],
        ['/api/v1.2/status/outages/planned/perlmutter', { body: '[]' }],
        ['/api/v1.2/compute/jobs/perlmutter', { body: '{"status":"OK","output":[],"error":null}' }],
      ]);
      const server = await fixture(routes);
      const service = new FacilityService({ adapters: [nersc(server.url)], db: ':memory:' });
      const updates: number[] = [];
      service.on('update', (s) => updates.push(s.length));
      const [s] = await service.pollOnce();
      expect(s!.status).toBe('unknown');
      expect(s!.stale).toBe(true);
      expect(s!.staleReason).toMatch(reason);
      expect(updates.length).toBeLessThanOrEqual(1);
      // It recovers when the source does.
      routes.set('/api/v1.2/status/perlmutter', { body: nerscStatus });
      const [ok] = await service.pollOnce();
      expect(ok).toMatchObject({ status: 'up', stale: false, staleReason: null });
    }, 5000);
  }

  it('derives maintenance from an S3M downtime covering now and rejects an unknown status', async () => {
    const routes = new Map<string, FixtureResponse>([
      ['/olcf/v1alpha/status', { body: s3m('UNAVAILABLE') }],
    ]);
    const server = await fixture(routes);
    const adapter = new OlcfS3mAdapter({
      baseUrl: server.url,
      systems: [{ system: 'frontier', name: 'Frontier' }],
    });
    const service = new FacilityService({ adapters: [adapter], db: ':memory:', now: () => START });
    expect((await service.pollOnce())[0]).toMatchObject({
      status: 'maintenance',
      since: Date.parse('2025-01-08T11:00:00Z'),
    });
    routes.set('/olcf/v1alpha/status', { body: s3m('OPERATIONAL') });
    expect((await service.pollOnce())[0]!.status).toBe('up');
    routes.set('/olcf/v1alpha/status', { body: s3m('MOSTLY_FINE') });
    // A status S3M never published is read as unknown and reported; the downtimes still count.
    const odd = (await service.pollOnce())[0]!;
    expect(odd).toMatchObject({ status: 'unknown', stale: false });
    expect(odd.dropped).toEqual([expect.stringMatching(/MOSTLY_FINE not known/)]);
    expect(odd.nextWindow?.description).toBe('PM');
  });

  it('reads an SF API status it does not know as unknown, and says so', async () => {
    const routes = new Map<string, FixtureResponse>([
      ['/api/v1.2/status/perlmutter', { body: nerscStatus.replace('"active"', '"sunny"') }],
      ['/api/v1.2/status/outages/planned/perlmutter', { body: '[]' }],
      ['/api/v1.2/compute/jobs/perlmutter', { body: '{"status":"OK","output":[],"error":null}' }],
    ]);
    const server = await fixture(routes);
    const service = new FacilityService({ adapters: [nersc(server.url)], db: ':memory:' });
    const [s] = await service.pollOnce();
    expect(s).toMatchObject({ status: 'unknown' });
    expect(s!.dropped).toEqual([expect.stringMatching(/status sunny not known/)]);
  });

  it('reads IRI resources and follows incident resource_uris; ALCF activity garbage goes stale', async () => {
    const base = 'https://iri.example.org/api/v1';
    const routes = new Map<string, FixtureResponse>([
      [
        '/api/v1/status/resources',
        {
          body: JSON.stringify([
            {
              id: 'r1',
              name: 'Polaris',
              last_modified: '2025-01-08T11:00:00Z',
              current_status: 'down',
              resource_type: 'compute',
              self_uri: `${base}/status/resources/r1`,
              site_uri: `${base}/facility/sites/s`,
              capability_uris: [],
            },
          ]),
        },
      ],
      [
        '/api/v1/status/incidents',
        {
          body: JSON.stringify([
            {
              id: 'i1',
              name: 'PM',
              description: 'Monday PM',
              last_modified: '2025-01-01T00:00:00Z',
              status: 'down',
              start: '2025-01-08T11:00:00Z',
              end: '2025-01-08T23:00:00Z',
              type: 'planned',
              resolution: 'pending',
              self_uri: `${base}/status/incidents/i1`,
              event_uris: [],
              resource_uris: [`${base}/status/resources/r1`],
            },
            {
              id: 'i2',
              name: 'other',
              last_modified: '2025-01-01T00:00:00Z',
              status: 'down',
              start: '2025-01-08T00:00:00Z',
              end: '2025-01-09T00:00:00Z',
              type: 'planned',
              resolution: 'pending',
              self_uri: `${base}/status/incidents/i2`,
              event_uris: [],
              resource_uris: [`${base}/status/resources/r9`],
            },
          ]),
        },
      ],
      [
        '/polaris/activity.json',
        { body: '{"updated": 1736337600, "maint": false, "running": [{"jobid": 1' },
      ],
    ]);
    const server = await fixture(routes);
    const service = new FacilityService({
      adapters: [
        new IriAdapter({
          baseUrl: server.url,
          facility: 'ALCF',
          apiVersion: 'v1',
          systems: [{ system: 'polaris', name: 'Polaris', resource: 'Polaris' }],
        }),
        new AlcfActivityAdapter({
          baseUrl: server.url,
          systems: [{ system: 'polaris', name: 'Polaris', totalNodes: 560 }],
        }),
      ],
      db: ':memory:',
      now: () => START,
    });
    const [p] = await service.pollOnce();
    expect(p).toMatchObject({ status: 'maintenance', source: 'iri', stale: true });
    expect(p!.nextWindow?.description).toBe('Monday PM');
    expect(p!.staleReason).toMatch(/ALCF activity feed failing: invalid JSON/);
    // The status is IRI's, fresh; only the queue the feed provides is stale.
    expect(p!.origins?.status).toMatchObject({ source: 'ALCF IRI', stale: false });
    expect(p!.origins?.queue).toMatchObject({ stale: true });
    expect(service.incidents().map((i) => i.id)).toEqual(['i1']);
  });

  it("ages a feed on the service's clock: a 60x simulated clock does not make every reading stale", async () => {
    // ALCF's feed says when it was refreshed; the service compares that with its own clock. At the
    // embedded simulator's 60x, one real 5 s poll period is 300 simulated seconds.
    const updated = START / 1000;
    const server = await fixture(
      new Map<string, FixtureResponse>([
        [
          '/polaris/activity.json',
          {
            body: JSON.stringify({
              updated,
              maint: false,
              running: [],
              queued: [],
              reservation: [],
            }),
          },
        ],
      ]),
    );
    let clock = START;
    const service = new FacilityService({
      adapters: [
        new AlcfActivityAdapter({
          baseUrl: server.url,
          systems: [{ system: 'polaris', name: 'Polaris', totalNodes: 560 }],
        }),
      ],
      db: ':memory:',
      now: () => clock,
      intervalMs: 5000,
      clockRate: 60,
    });
    expect((await service.pollOnce())[0]).toMatchObject({ stale: false });
    clock = START + 300_000;
    expect((await service.pollOnce())[0]).toMatchObject({ stale: false });
    // Four real intervals (20 s = 1200 simulated s) without a refresh: the queue is stale.
    clock = START + 1_500_000;
    const [late] = await service.pollOnce();
    expect(late).toMatchObject({ stale: true });
    expect(late!.staleReason).toMatch(/feed not updated for 25 min/);
  });

  it('backs off a failing source and never throws out of the poller', async () => {
    const routes = new Map<string, FixtureResponse>([
      ['/olcf/v1alpha/status', { status: 503, body: 'down' }],
    ]);
    const server = await fixture(routes);
    let hits = 0;
    const adapter = new OlcfS3mAdapter({
      baseUrl: server.url,
      systems: [{ system: 'frontier', name: 'Frontier' }],
    });
    const read = adapter.read.bind(adapter);
    adapter.read = (now) => {
      hits++;
      return read(now);
    };
    const service = new FacilityService({
      adapters: [adapter],
      db: ':memory:',
      intervalMs: 20,
      maxBackoffMs: 10_000,
    });
    service.start();
    cleanup.push(() => service.stop());
    await new Promise((r) => setTimeout(r, 700));
    // Without back-off 700 ms / 20 ms ≈ 35 polls; with doubling 20, 40, 80, 160, 320 ms: about 5.
    expect(hits).toBeGreaterThanOrEqual(3);
    expect(hits).toBeLessThanOrEqual(8);
    expect(service.snapshots()[0]).toMatchObject({
      status: 'unknown',
      stale: true,
      staleReason: expect.stringMatching(/OLCF S3M failing: HTTP 503/),
    });
  }, 5000);
});
