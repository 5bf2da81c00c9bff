import { afterEach, describe, expect, it } from 'vitest';
import { facilityAdapters } from '../facilities/facilityAdapters';
import { FacilityService } from '../facilities/FacilityService';
import { parseSites } from '../facilities/sites/SitesConfig';
import { startFixtureServer, type FixtureResponse } from '../facilities/testing/fixtureServer';
import { SystemSnapshot } from '@/lib/protocol';

/**
 * RELIABILITY 9, facility API garbage: sources answer 500, HTML, truncated JSON, unknown enum
 * values, sparse entries. Pass: a bad payload is rejected (the whole answer, or only the bad entry
 * when the rest is usable), the last good queue is kept and flagged stale, unknown enums read as
 * `unknown`, one failing source stales only what it provides, and nothing crashes.
 */

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const NOW = Date.UTC(2025, 0, 8, 12);
const iso = (ms: number) => new Date(ms).toISOString();
const H = 3_600_000;

const sfStatus = (status = 'active') =>
  JSON.stringify({ name: 'perlmutter', status, updated_at: iso(NOW - H), notes: [] });
/** Real-shaped outages: one without end_at (optional in sfapi_client), one with a broken start. */
const sfOutages = JSON.stringify([
  {
    name: 'perlmutter',
    start_at: iso(NOW + 2 * H),
    end_at: null,
    description: 'open-ended',
    status: 'Planned',
  },
  { name: 'perlmutter', start_at: 'next tuesday', end_at: iso(NOW + 9 * H), description: 'bad' },
  { name: 'perlmutter', start_at: iso(NOW + 24 * H), end_at: iso(NOW + 30 * H), description: 'PM' },
]);
const iriResources = JSON.stringify([
  {
    id: 'res-pm',
    name: 'compute',
    last_modified: iso(NOW - 2 * H),
    current_status: 'up',
    resource_type: 'urn:doe-iri:resource:compute:gpu',
    self_uri: 'https://api.iri.nersc.gov/api/v2/status/resources/res-pm',
    site_uri: 'https://api.iri.nersc.gov/api/v2/facility/sites/nersc',
    capability_uris: [],
    attributes: { configured_node_count: 1536 },
    _links: { self: { href: 'https://api.iri.nersc.gov/api/v2/status/resources/res-pm' } },
  },
  { id: 'res-broken', resource_type: 'urn:doe-iri:resource:storage' },
]);
const activity = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    updated: Math.floor(NOW / 1000) - 30,
    maint: false,
    running: [
      {
        jobid: 1,
        queue: 'prod',
        nodes: 20,
        starttime: NOW / 1000 - 600,
        submittime: NOW / 1000 - 900,
        walltime: 60,
      },
    ],
    queued: [
      { jobid: 2, queue: 'prod', nodes: 4, submittime: NOW / 1000 - 300, walltime: 30 },
      { jobid: 3, queue: 'prod', submittime: NOW / 1000 - 300, walltime: 30 },
    ],
    ...over,
  });
const s3m = (status: string) =>
  JSON.stringify({
    resources: [
      {
        name: 'frontier',
        status,
        upcomingDowntimes: [
          { start: iso(NOW + H), end: iso(NOW + 5 * H), description: 'PM', status: 'SCHEDULED' },
        ],
      },
    ],
  });

function healthy(): [string, FixtureResponse][] {
  return [
    ['/sf/status/perlmutter', { body: sfStatus() }],
    ['/sf/status/outages/planned/perlmutter', { body: sfOutages }],
    ['/sf/compute/jobs/perlmutter', { body: '{"status":"OK","output":[],"error":null}' }],
    ['/iri/api/v2/status/resources', { body: iriResources }],
    ['/iri/api/v2/status/incidents', { body: '[]' }],
    ['/alcf/polaris/activity.json', { body: activity() }],
    ['/s3m/olcf/v1alpha/status', { body: s3m('OPERATIONAL') }],
  ];
}

async function setup() {
  const routes = new Map<string, FixtureResponse>(healthy());
  const server = await startFixtureServer(routes);
  cleanup.push(() => server.close());
  const u = server.url;
  const sites = parseSites(`
sites:
  - id: nersc
    facility: NERSC
    systems: [{ id: perlmutter, name: Perlmutter, totalNodes: 1792 }]
    sources:
      - { id: sfapi, kind: nersc-sfapi, baseUrl: "${u}/sf", systems: { perlmutter: perlmutter }, credentials: { kind: env, variable: SF_TOKEN } }
      - { id: iri, kind: iri, apiVersion: v2, baseUrl: "${u}/iri", systems: { perlmutter: compute } }
  - id: alcf
    facility: ALCF
    systems: [{ id: polaris, name: Polaris, totalNodes: 560 }]
    sources:
      - { id: activity, kind: alcf-activity, baseUrl: "${u}/alcf", systems: { polaris: polaris } }
  - id: olcf
    facility: OLCF
    systems: [{ id: frontier, name: Frontier }]
    sources:
      - { id: s3m, kind: olcf-s3m, baseUrl: "${u}/s3m", systems: { frontier: frontier } }
`);
  const built = facilityAdapters(sites, { env: { SF_TOKEN: 'tok' } });
  let now = NOW;
  const service = new FacilityService({
    sources: built.sources,
    totalNodes: built.totalNodes,
    db: ':memory:',
    now: () => now,
    intervalMs: 15_000,
  });
  const errors: Error[] = [];
  service.on('error', (e) => errors.push(e));
  const by = (id: string) => service.snapshots().find((s) => s.system === id)!;
  return { routes, service, by, errors, advance: (ms: number) => (now += ms) };
}

describe('RELIABILITY 9: facility API garbage', () => {
  it('uses sparse real-shaped answers, dropping only the malformed entries', async () => {
    const { service, by } = await setup();
    await service.pollOnce();
    for (const s of service.snapshots()) expect(SystemSnapshot.safeParse(s).success).toBe(true);
    const pm = by('perlmutter');
    expect(pm).toMatchObject({ status: 'up', stale: false });
    // The outage without end_at is a window; the one with a broken start is dropped and said so.
    expect(pm.nextWindow).toMatchObject({
      start: NOW + 2 * H,
      end: null,
      description: 'open-ended',
    });
    expect(pm.dropped).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^outage 1: start_at not a date/),
        expect.stringMatching(/^resource res-broken:/),
      ]),
    );
    // IRI v2 publishes the node count (URN child type compute:gpu); it beats the sites file's.
    expect(pm.queue.totalNodes).toBe(1536);
    expect(pm.origins?.nodes).toMatchObject({ source: 'NERSC IRI v2', stale: false });
    const polaris = by('polaris');
    expect(polaris.queue).toMatchObject({ running: 1, queued: 1, freeNodes: 540 });
    expect(polaris.dropped).toEqual([expect.stringMatching(/^queued job 3: nodes/)]);
  });

  it('one failing secondary source stales only what it provides, with the reason', async () => {
    const { routes, service, by } = await setup();
    routes.delete('/iri/api/v2/status/incidents');
    await service.pollOnce();
    const pm = by('perlmutter');
    // Status and queue come from the SF API, fresh; IRI's 404 is reported, not a stale card.
    expect(pm).toMatchObject({ status: 'up', stale: false, staleReason: null });
    expect(pm.freshness).toMatch(
      /^status from NERSC SF API 0 s ago; NERSC IRI v2 failing: HTTP 404/,
    );
    expect(pm.origins?.status).toMatchObject({ source: 'NERSC SF API', stale: false });
    // The node count IRI would give falls back to the sites file's.
    expect(pm.queue.totalNodes).toBe(1792);
  });

  const garbage: [string, FixtureResponse, RegExp][] = [
    [
      'HTTP 500 problem',
      {
        status: 500,
        body: '{"type":"about:blank","status":500,"title":"Internal Server Error","detail":"db down","instance":"/x"}',
      },
      /HTTP 500: Internal Server Error — db down/,
    ],
    [
      'HTML',
      { body: '<!doctype html><h1>Maintenance</h1>', contentType: 'text/html' },
      /answered HTML/,
    ],
    ['truncated JSON', { body: activity().slice(0, 80) }, /invalid JSON/],
    [
      'wrong shape',
      { body: '{"updated":"yesterday","running":7}' },
      /unexpected answer at updated/,
    ],
  ];
  for (const [name, response, reason] of garbage) {
    it(`${name} from ALCF's feed: rejected, last good queue kept and flagged stale`, async () => {
      const { routes, service, by, errors } = await setup();
      await service.pollOnce();
      expect(by('polaris')).toMatchObject({ status: 'up', stale: false });
      routes.set('/alcf/polaris/activity.json', response);
      await service.pollOnce();
      const p = by('polaris');
      expect(p).toMatchObject({ status: 'unknown', stale: true });
      expect(p.staleReason).toMatch(reason);
      expect(p.queue.running).toBe(1);
      expect(p.origins?.queue).toMatchObject({ source: 'ALCF activity feed', stale: true });
      // The other sites are untouched.
      expect(by('perlmutter').stale).toBe(false);
      expect(errors).toEqual([]);
      routes.set('/alcf/polaris/activity.json', { body: activity() });
      await service.pollOnce();
      expect(by('polaris')).toMatchObject({ status: 'up', stale: false });
    });
  }

  it('reads unknown enum values as unknown and says which', async () => {
    const { routes, service, by, errors } = await setup();
    routes.set('/s3m/olcf/v1alpha/status', { body: s3m('DEGRADED') });
    routes.set('/sf/status/perlmutter', { body: sfStatus('partly-cloudy') });
    routes.set('/iri/api/v2/status/resources', { body: iriResources.replace('"up"', '"flaky"') });
    await service.pollOnce();
    expect(by('frontier')).toMatchObject({ status: 'unknown' });
    expect(by('frontier').dropped).toEqual([expect.stringMatching(/status DEGRADED not known/)]);
    // S3M's downtimes are still read from that answer.
    expect(by('frontier').nextWindow).toMatchObject({ start: NOW + H, description: 'PM' });
    expect(by('perlmutter')).toMatchObject({ status: 'unknown' });
    expect(by('perlmutter').dropped).toEqual(
      expect.arrayContaining([expect.stringMatching(/status partly-cloudy not known/)]),
    );
    expect(errors).toEqual([]);
  });

  it("ALCF's feed frozen for more than four intervals makes its queue stale", async () => {
    const { service, by, advance } = await setup();
    await service.pollOnce();
    expect(by('polaris').stale).toBe(false);
    // The feed keeps answering the same `updated`; an hour passes.
    advance(H);
    await service.pollOnce();
    const p = by('polaris');
    expect(p.status).toBe('up');
    expect(p.stale).toBe(true);
    expect(p.origins?.queue).toMatchObject({
      stale: true,
      reason: expect.stringMatching(/feed not updated for 61 min/),
    });
    expect(p.freshness).toMatch(/ALCF activity feed stale: feed not updated for 61 min/);
  });

  it('survives a burst of every kind of garbage on every source without a crash', async () => {
    const { routes, service, errors } = await setup();
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    cleanup.push(() => void process.off('unhandledRejection', onRejection));
    const bodies: FixtureResponse[] = [
      { status: 500, body: 'oops' },
      { body: '<html>' },
      { body: '{"a":' },
      { body: 'null' },
      { body: '[]' },
      { body: '{"resources":[{"name":5}]}' },
      { body: '"just a string"' },
      { status: 204, body: '' },
    ];
    for (let round = 0; round < bodies.length; round++) {
      for (const [path] of healthy())
        routes.set(path, bodies[(round + path.length) % bodies.length]!);
      await service.pollOnce();
      for (const s of service.snapshots()) expect(SystemSnapshot.safeParse(s).success).toBe(true);
    }
    expect(errors).toEqual([]);
    expect(rejections).toEqual([]);
  });
});
