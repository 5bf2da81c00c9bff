import { afterEach, describe, expect, it } from 'vitest';
import { startFacilitySimulator, type FacilitySimulator } from './startFacilitySimulator';

const START = Date.UTC(2025, 0, 8, 12); // a Wednesday, no ALCF Monday in the first days
const open: FacilitySimulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function sim(seed: number) {
  const s = await startFacilitySimulator({
    seed,
    manualClock: true,
    startTime: START,
    tokens: ['t0k'],
  });
  open.push(s);
  return s;
}
const get = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init);
  return { status: r.status, body: r.status === 304 ? null : ((await r.json()) as unknown) };
};

describe('facility simulator', () => {
  it('is deterministic from its seed', async () => {
    const [a, b, c] = await Promise.all([sim(7), sim(7), sim(8)]);
    for (const s of [a, b, c]) s.advance(36 * 3600);
    const feed = async (s: FacilitySimulator) =>
      JSON.stringify((await get(`${s.urls.alcfActivity}/polaris/activity.json`)).body);
    expect(await feed(a)).toBe(await feed(b));
    expect(await feed(a)).not.toBe(await feed(c));
    const jobs = async (s: FacilitySimulator) =>
      JSON.stringify(
        (
          await get(`${s.urls.nerscSfApi}/compute/jobs/perlmutter`, {
            headers: { authorization: 'Bearer t0k' },
          })
        ).body,
      );
    expect(await jobs(a)).toBe(await jobs(b));
  }, 15_000);

  it('queues an IRI job like any other: new, queued, active, completed, and says when it starts', async () => {
    const s = await sim(3);
    const started: string[] = [];
    s.events.on('job:start', (e) => started.push(e.jobId));
    const res = await get(`${s.urls.iri.ALCF}/api/v1/status/resources`);
    const polaris = (res.body as { id: string; name: string }[]).find((r) => r.name === 'Polaris')!;
    const post = await fetch(`${s.urls.iri.ALCF}/api/v1/compute/job/${polaris.id}`, {
      method: 'POST',
      headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'recon',
        resources: { node_count: 2 },
        attributes: { duration: 600, queue_name: 'debug' },
      }),
    });
    const job = (await post.json()) as { id: string; status: { state: string } };
    expect(post.status).toBe(200);
    const statusUrl = `${s.urls.iri.ALCF}/api/v1/compute/status/${polaris.id}/${job.id}`;
    const state = async () =>
      (
        (await get(statusUrl, { headers: { authorization: 'Bearer t0k' } })).body as {
          status: { state: string };
        }
      ).status.state;
    const seen = new Set<string>([job.status.state]);
    for (let i = 0; i < 400 && (await state()) !== 'completed'; i++) {
      seen.add(await state());
      s.advance(600);
    }
    seen.add(await state());
    expect(seen.has('completed')).toBe(true);
    expect(seen.has('active') || started.includes(job.id)).toBe(true);
    expect(started).toContain(job.id);
    expect(['new', 'active']).toContain(job.status.state);
    // No token, no job API.
    expect((await get(statusUrl)).status).toBe(401);
  }, 15_000);

  it('answers incidents with IRI filters and 304 when nothing changed since', async () => {
    const s = await sim(5);
    s.addWindow('aurora', { startInS: 3600, durationS: 7200, description: 'test window' });
    const base = `${s.urls.iri.ALCF}/api/v1/status/incidents`;
    const planned = (await get(`${base}?type=planned`)).body as {
      last_modified: string;
      type: string;
    }[];
    expect(planned.length).toBeGreaterThan(0);
    expect(planned.every((i) => i.type === 'planned')).toBe(true);
    const latest = planned
      .map((i) => i.last_modified)
      .sort()
      .at(-1)!;
    const all = (await get(base)).body as { last_modified: string }[];
    const newest = all
      .map((i) => i.last_modified)
      .sort()
      .at(-1)!;
    expect((await get(`${base}?modified_since=${encodeURIComponent(newest)}`)).status).toBe(304);
    expect(latest <= newest).toBe(true);
    expect((await get(`${base}?type=sideways`)).status).toBe(422);
  });

  it('serves the NERSC planned outages unfiltered as a list of lists', async () => {
    const s = await sim(1);
    s.addWindow('perlmutter', { startInS: 86_400, durationS: 8 * 3600 });
    const body = (await get(`${s.urls.nerscSfApi}/status/outages/planned`)).body as unknown[];
    expect(Array.isArray(body[0])).toBe(true);
    const one = (await get(`${s.urls.nerscSfApi}/status/outages/planned/perlmutter`)).body as {
      status: string;
    }[];
    expect(one.some((o) => o.status === 'Planned')).toBe(true);
  });
});
