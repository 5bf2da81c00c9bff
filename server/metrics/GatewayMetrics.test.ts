import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RECON_JOB, encodeFrame } from '@/lib/protocol';
import { AlcfActivityAdapter } from '../facilities/adapters/AlcfActivityAdapter';
import { FacilityService } from '../facilities/FacilityService';
import { startFixtureServer } from '../facilities/testing/fixtureServer';
import type { Gateway } from '../gateway';
import {
  connected,
  postCommand,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';

const SCRAPE_TOKEN = 'scrape-token-0123456789abcdef';
const PROMTOOL = '/usr/bin/promtool';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

function scrape(gw: Gateway, token?: string): Promise<Response> {
  return fetch(`${gw.url}/metrics`, {
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
  });
}

/** The value of one sample line, e.g. `loupe_frames_received_total{stream="xy"}`. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

/** Loupe's own families pass `promtool check metrics` (Debian's prometheus package), when installed. */
function expectPromtoolClean(text: string): void {
  if (!existsSync(PROMTOOL)) {
    // CI installs it (scripts/ensureTestDeps.ts): there the lint is never skipped.
    if (process.env.CI) throw new Error(`${PROMTOOL} is missing: apt-get install prometheus`);
    return;
  }
  // prom-client's default process/nodejs families are left out (it names some gauges `_total`,
  // which the lint flags).
  const ours = text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?loupe_/.test(l))
    .join('\n');
  expect(ours.split('\n').length).toBeGreaterThan(10);
  const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: ours + '\n', encoding: 'utf8' });
  expect(check.status, check.stdout + check.stderr).toBe(0);
}

describe('/metrics', () => {
  it('is not served without a configured scrape token', async () => {
    const gw = await startTestGateway();
    open.push(gw);
    expect((await scrape(gw)).status).toBe(404);
    expect((await scrape(gw, SCRAPE_TOKEN)).status).toBe(404);
  });

  it('refuses a missing or wrong token, and never with a viewer’s or staff’s token', async () => {
    const gw = await startTestGateway({ metricsToken: SCRAPE_TOKEN });
    open.push(gw);
    for (const token of [undefined, 'wrong', TOKENS.staff, `${SCRAPE_TOKEN}x`]) {
      const res = await scrape(gw, token);
      expect(res.status, `token ${token}`).toBe(401);
      expect(await res.text()).not.toMatch(/loupe_/);
    }
  });

  it('counts frames, connections and commands, in the text format promtool accepts', async () => {
    const gw = await startTestGateway({ metricsToken: SCRAPE_TOKEN });
    open.push(gw);
    const p = producerClient(gw.url, TOKENS.producer);
    open.push(p);
    await connected(p);
    expect(await p.emitWithAck('run:register', { run: 'run-1', title: 'Metrics' })).toMatchObject({
      ok: true,
    });
    const v = viewerClient(gw.url);
    open.push(v);
    v.on('frame', (_header, _payload, received) => {
      received();
    });
    await connected(v);
    expect(await v.emitWithAck('run:subscribe', { run: 'run-1' })).toMatchObject({ ok: true });

    const pixels = new Uint16Array(6 * 8);
    for (let seq = 1; seq <= 3; seq++) {
      const frame = encodeFrame(
        {
          run: 'run-1',
          stream: 'xy',
          seq,
          dtype: 'uint16',
          shape: [6, 8],
          voxelSize: [1, 1, 1],
          acquiredAt: Date.now(),
          reconstructedAt: Date.now(),
          publishedAt: Date.now(),
        },
        pixels,
      );
      expect(await p.emitWithAck('frame', frame.header, frame.payload)).toEqual({ ok: true });
    }
    // A command: accepted, then its outcome, counted by kind and state.
    const sent = await postCommand(
      gw.url,
      'run-1',
      TOKENS.staff,
      { kind: 'pause' },
      'metrics-pause-1',
    );
    expect(sent.status, await sent.clone().text()).toBeLessThan(300);

    // The viewer acknowledges every frame it gets: scrape until each sent one is acknowledged.
    let text = '';
    for (let attempt = 0; attempt < 100; attempt++) {
      const res = await scrape(gw, SCRAPE_TOKEN);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      text = await res.text();
      const sent = sample(text, 'loupe_frames_sent_total{stream="xy"}');
      const acked = sample(text, 'loupe_frame_publish_to_ack_seconds_count{stream="xy"}');
      if (sent !== null && sent === acked) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sample(text, 'loupe_frames_received_total{stream="xy"}')).toBe(3);
    expect(sample(text, 'loupe_frame_received_bytes_total')).toBe(3 * pixels.byteLength);
    expect(sample(text, 'loupe_connections{role="viewer"}')).toBe(1);
    // Three frames to one subscribed viewer: sent (or replaced by a newer one), each acknowledged.
    const sentXy = sample(text, 'loupe_frames_sent_total{stream="xy"}') ?? 0;
    const replacedXy = sample(text, 'loupe_frames_replaced_total{stream="xy"}') ?? 0;
    expect(sentXy + replacedXy).toBe(3);
    expect(sentXy).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'loupe_frame_sent_bytes_total')).toBe(sentXy * pixels.byteLength);
    expect(sample(text, 'loupe_frame_publish_to_ack_seconds_count{stream="xy"}')).toBe(sentXy);
    expect(sample(text, 'loupe_frames_in_flight')).toBe(0);
    expect(sample(text, 'loupe_connections{role="producer"}')).toBe(1);
    expect(sample(text, 'loupe_commands_total{kind="pause",state="accepted"}')).toBe(1);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);

    expectPromtoolClean(text);
  });

  it('times every facility poll by source and outcome, and ages each system’s reading', async () => {
    const now = Date.UTC(2026, 11, 2, 12);
    const job = { queue: 'prod', nodes: 10, submittime: now / 1000 - 3600, walltime: 60 };
    const server = await startFixtureServer(
      new Map([
        [
          '/polaris/activity.json',
          {
            body: JSON.stringify({
              updated: now / 1000,
              maint: false,
              running: [],
              queued: [{ jobid: 1, ...job }],
            }),
          },
        ],
        ['/aurora/activity.json', { status: 503, body: 'down' }],
      ]),
    );
    open.push(server);
    const service = new FacilityService({
      adapters: [
        new AlcfActivityAdapter({
          baseUrl: server.url,
          systems: [{ system: 'polaris', name: 'Polaris', totalNodes: 560 }],
        }),
        new AlcfActivityAdapter({
          baseUrl: server.url,
          systems: [{ system: 'aurora', name: 'Aurora', totalNodes: 10_624 }],
        }),
      ],
      db: ':memory:',
      now: () => now,
    });
    open.push({ close: () => service.stop() });
    const gw = await startTestGateway({ metricsToken: SCRAPE_TOKEN, facilities: service });
    open.push(gw);
    await service.pollOnce();
    const text = await (await scrape(gw, SCRAPE_TOKEN)).text();
    const polls = (outcome: string) =>
      sample(
        text,
        `loupe_facility_poll_duration_seconds_count{source="ALCF activity feed",outcome="${outcome}"}`,
      );
    expect(polls('success')).toBe(1);
    expect(polls('failure')).toBe(1);
    expect(sample(text, 'loupe_facility_reading_age_seconds{system="polaris"}')).toBe(0);
    expect(sample(text, 'loupe_facility_queued_node_seconds{system="polaris"}')).toBe(10 * 3600);
    expectPromtoolClean(text);
  });

  it('exports each system’s wait estimate: median, measured 95% bound, observations', async () => {
    const now = Date.UTC(2026, 11, 2, 12);
    const activity = (queued: number) => ({
      body: JSON.stringify({
        updated: now / 1000,
        maint: false,
        running: [],
        queued: Array.from({ length: queued }, (_, i) => ({
          jobid: i + 1,
          queue: 'prod',
          nodes: 8,
          submittime: now / 1000 - 600,
          walltime: 60,
        })),
      }),
    });
    const server = await startFixtureServer(
      new Map([
        ['/polaris/activity.json', activity(3)],
        ['/sophia/activity.json', activity(1)],
      ]),
    );
    open.push(server);
    const service = new FacilityService({
      adapters: ['polaris', 'sophia'].map(
        (system) =>
          new AlcfActivityAdapter({
            baseUrl: server.url,
            systems: [{ system, name: system, totalNodes: 560 }],
          }),
      ),
      db: ':memory:',
      now: () => now,
    });
    open.push({ close: () => service.stop() });
    await service.pollOnce();
    // Enough observed waits on polaris for a measured bound (≥ 59); sophia has none (placeholder).
    for (let i = 0; i < 120; i++)
      service.recordWait('polaris', {
        id: `w${i}`,
        queue: 'prod',
        nodes: 8,
        walltimeS: 3600,
        submit: now / 1000 - 86_400 + i * 600,
        start: now / 1000 - 86_400 + i * 600 + 300 + ((i * 37) % 100) * 30,
      });
    const gw = await startTestGateway({ metricsToken: SCRAPE_TOKEN, facilities: service });
    open.push(gw);
    const text = await (await scrape(gw, SCRAPE_TOKEN)).text();
    const wait = (system: string, which: 'median' | 'bound95') =>
      sample(text, `loupe_facility_wait_${which}_seconds{system="${system}"}`);
    const estimates = new Map(service.estimate(DEFAULT_RECON_JOB).map((e) => [e.system, e]));
    const polaris = estimates.get('polaris')!;
    expect(polaris.placeholderBound).toBe(false);
    expect(polaris.observations).toBeGreaterThan(0);
    expect(wait('polaris', 'median')).toBe(polaris.median);
    expect(wait('polaris', 'bound95')).toBe(polaris.bound95);
    expect(polaris.bound95).toBeGreaterThanOrEqual(polaris.median);
    expect(sample(text, 'loupe_facility_wait_observations{system="polaris"}')).toBe(
      polaris.observations,
    );
    // Too few observations: the median stands, the bound is a placeholder and is not exported.
    const sophia = estimates.get('sophia')!;
    expect(sophia.placeholderBound).toBe(true);
    expect(wait('sophia', 'median')).toBe(sophia.method === 'none' ? null : sophia.median);
    expect(wait('sophia', 'bound95')).toBeNull();
    expect(sample(text, 'loupe_facility_wait_observations{system="sophia"}')).toBe(
      sophia.observations,
    );
    // Labels stay bounded: one series per system and figure, nothing per job or run.
    expect(text.split('\n').filter((l) => l.startsWith('loupe_facility_wait_')).length).toBe(
      [...estimates.values()].reduce(
        (n, e) => n + 1 + (e.method === 'none' ? 0 : e.placeholderBound ? 1 : 2),
        0,
      ),
    );
    expectPromtoolClean(text);
  });
});
