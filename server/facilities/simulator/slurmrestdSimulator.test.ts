import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CommandRecord, SystemSnapshot } from '@/lib/protocol';
import { openDatabase } from '../../db/openDatabase';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
} from '../../testing/testGateway';
import { startEmbeddedFacilities, type EmbeddedFacilities } from '../startEmbeddedFacilities';
import { SimulatedJobRunner } from './SimulatedJobRunner';

const TOKEN = 'sim-slurm-token';
const SYSTEM = 'beamline-cluster';
/** slurmrestd 22.05.8's own `GET /openapi/v3`, recorded from Debian 12's daemon. */
const spec = JSON.parse(
  readFileSync(resolve(__dirname, '../slurm/fixtures/slurmrestd-22.05.8-openapi.json'), 'utf8'),
) as { components: { schemas: Record<string, Schema> } };
interface Schema {
  type?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** Every field `value` has must be one the spec declares, of the declared JSON type. */
function conformance(value: unknown, schema: Schema, path: string, out: string[]): void {
  while (schema.$ref) schema = spec.components.schemas[schema.$ref.split('/').pop()!]!;
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (value === null) return;
  if (schema.type === 'integer') {
    if (!Number.isInteger(value)) out.push(`${path}: ${type}, spec says integer`);
    return;
  }
  if (schema.type && schema.type !== type && !(schema.type === 'number' && type === 'number'))
    if (!(schema.type === 'object' && type === 'object'))
      return void out.push(`${path}: ${type}, spec says ${schema.type}`);
  if (type === 'array' && schema.items)
    (value as unknown[]).forEach((v, i) => conformance(v, schema.items!, `${path}[${i}]`, out));
  if (type === 'object' && schema.properties)
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const s = schema.properties[k];
      if (!s) out.push(`${path}.${k}: not in the spec`);
      else conformance(v, s, `${path}.${k}`, out);
    }
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const f of open.splice(0).reverse()) await f.close();
});

async function embedded(db: ReturnType<typeof openDatabase> | string = ':memory:') {
  const fac = await startEmbeddedFacilities({
    db,
    simulator: { manualClock: true, seed: 3, tokens: [TOKEN] },
    service: { intervalMs: 60_000, historyEveryMs: 0 },
  });
  open.push(fac);
  fac.service.stop();
  return fac;
}

const slurmGet = (fac: EmbeddedFacilities, path: string, token = TOKEN) =>
  fetch(`${fac.simulator.urls.slurm[SYSTEM]}/slurm/v0.0.38${path}`, {
    headers: { 'x-slurm-user-name': 'loupe', 'x-slurm-user-token': token },
  });

describe("the simulator's beamline cluster (slurmrestd v0.0.38)", () => {
  it('makes the embedded default five systems, the cluster read through the Slurm adapter', async () => {
    const fac = await embedded();
    const systems = await fac.service.pollOnce();
    expect(systems.map((s) => s.system)).toEqual([
      'aurora',
      'beamline-cluster',
      'frontier',
      'perlmutter',
      'polaris',
    ]);
    const cluster = systems.find((s) => s.system === SYSTEM)!;
    expect(SystemSnapshot.safeParse(cluster).success).toBe(true);
    expect(cluster).toMatchObject({ facility: 'APS', source: 'slurm', stale: false });
    const model = fac.simulator.models.get(SYSTEM)!;
    expect(cluster.queue).toEqual({
      running: model.running.length,
      queued: model.queue.length,
      queuedNodeHours: expect.any(Number),
      freeNodes: model.freeNodes(),
      totalNodes: 24,
    });
    expect(model.running.length).toBeGreaterThan(0);
  });

  it('answers only what the real daemon declares, in its types', async () => {
    const fac = await embedded();
    fac.simulator.advance(3600);
    const schemas: Record<string, string> = {
      '/ping': 'v0.0.38_pings',
      '/nodes': 'v0.0.38_nodes_response',
      '/partitions': 'v0.0.38_partitions_response',
      '/jobs': 'v0.0.38_jobs_response',
      '/reservations': 'v0.0.38_reservations_response',
    };
    fac.simulator.addWindow(SYSTEM, { startInS: 3600, durationS: 7200 });
    const problems: string[] = [];
    for (const [path, schema] of Object.entries(schemas)) {
      const res = await slurmGet(fac, path);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown[]>;
      const list = body[path.slice(1) === 'ping' ? 'pings' : path.slice(1)]!;
      expect(list.length, path).toBeGreaterThan(0);
      conformance(body, { $ref: `#/components/schemas/${schema}` }, path, problems);
    }
    // Where the real daemon departs from its own spec (the version as numbers, fields it does not
    // declare), the simulator may too, and nowhere else.
    const real: string[] = [];
    for (const name of ['ping', 'nodes', 'partitions', 'jobs', 'reservations']) {
      const body = JSON.parse(
        readFileSync(resolve(__dirname, `../slurm/fixtures/v0.0.38-${name}.json`), 'utf8'),
      ) as unknown;
      conformance(body, { $ref: `#/components/schemas/${schemas[`/${name}`]}` }, '', real);
    }
    const general = (p: string) => p.replace(/^\/?[a-z]*\./, '').replace(/\[\d+\]/g, '[]');
    const allowed = new Set(real.map(general));
    // e.g. jobs[].group_name, partitions[]."min nodes per job": 22.05.8 writes more than it declares.
    expect(allowed).toContain('meta.Slurm.version.major: number, spec says string');
    expect(allowed).toContain('partitions[].min nodes per job: not in the spec');
    expect(problems.filter((p) => !allowed.has(general(p)))).toEqual([]);
    // The spec checker catches drift: a field the daemon does not have.
    const drift: string[] = [];
    conformance(
      { nodes: [{ name: 'x', gpus: 2 }] },
      { $ref: '#/components/schemas/v0.0.38_nodes_response' },
      '',
      drift,
    );
    expect(drift).toEqual(['.nodes[0].gpus: not in the spec']);
  });

  it('refuses a missing or bad token as slurmrestd 22.05 does', async () => {
    const fac = await embedded();
    expect((await fetch(`${fac.simulator.urls.slurm[SYSTEM]}/slurm/v0.0.38/ping`)).status).toBe(
      401,
    );
    const bad = await slurmGet(fac, '/ping', 'forged');
    expect(bad.status).toBe(500);
    expect(JSON.stringify(await bad.json())).toContain('slurmctld config is unable to load');
  });

  it('puts the cluster in maintenance during a MAINT reservation, and back up after', async () => {
    const fac = await embedded();
    // Start from a calm moment: no outage or drained spell of the model's own.
    const model = fac.simulator.models.get(SYSTEM)!;
    for (let i = 0; i < 50 && model.status() !== 'up'; i++) fac.simulator.advance(3600);
    expect(model.status()).toBe('up');
    fac.simulator.addWindow(SYSTEM, { startInS: 1800, durationS: 3 * 3600, description: 'PM' });
    let cluster = (await fac.service.pollOnce()).find((s) => s.system === SYSTEM)!;
    expect(cluster.status).toBe('up');
    expect(cluster.nextWindow?.description).toMatch(/^maintenance reservation maint_/);
    // Reservations are in whole seconds.
    expect(Math.abs(cluster.nextWindow!.start - (fac.simulator.now() + 1800_000))).toBeLessThan(
      1000,
    );
    fac.simulator.advance(3600);
    cluster = (await fac.service.pollOnce()).find((s) => s.system === SYSTEM)!;
    expect(cluster.status).toBe('maintenance');
    expect(cluster.queue.freeNodes).toBe(0);
    fac.simulator.advance(3 * 3600);
    cluster = (await fac.service.pollOnce()).find((s) => s.system === SYSTEM)!;
    expect(['up', 'degraded']).toContain(cluster.status);
  });

  it('takes a job through the job API and follows it as Slurm reports it', async () => {
    const fac = await embedded();
    await fac.service.pollOnce();
    const started: string[] = [];
    fac.simulator.events.on('job:start', (e) => e.system === SYSTEM && started.push(e.jobId));
    const job = await fac.service.submitJob(SYSTEM, {
      name: 'loupe-run-1',
      executable: 'loupe-recon',
      arguments: ['--run', 'run-1'],
      nodes: 2,
      walltimeS: 1800,
      idempotencyKey: 'k1',
    });
    expect(job.id).toMatch(/^\d+$/);
    for (let i = 0; i < 200 && !started.includes(job.id); i++) fac.simulator.advance(120);
    expect(started).toContain(job.id);
    expect(await fac.service.jobStatus(SYSTEM, job.id)).toMatchObject({
      state: 'active',
      message: 'running on 2 nodes',
    });
    await fac.service.cancelJob(SYSTEM, job.id);
    expect((await fac.service.jobStatus(SYSTEM, job.id)).state).toBe('canceled');
    // An executable the site has no command for is refused before Slurm sees it.
    await expect(
      fac.service.submitJob(SYSTEM, {
        name: 'loupe-rm',
        executable: 'rm',
        arguments: [],
        nodes: 1,
        walltimeS: 60,
        idempotencyKey: 'k2',
      }),
    ).rejects.toThrow('Beamline cluster has no command for executable "rm"');
  });

  it('runs a resubmitted run at the cluster: the job starts under its Slurm id and its consumer streams', async () => {
    const db = openDatabase(':memory:');
    const fac = await embedded(db);
    await fac.service.pollOnce();
    const gw = await startTestGateway({ db, facilities: fac.service });
    open.push(gw);
    const first = producerClient(gw.url, TOKENS.producer);
    open.push(first);
    await connected(first);
    await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' });
    const launched: string[] = [];
    const runner = new SimulatedJobRunner({
      simulator: fac.simulator,
      jobFor: (system, id) => gw.resubmitter?.jobFor(system, id),
      gatewayUrl: gw.url,
      log: () => undefined,
      // The compute node's consumer: a producer that registers the run.
      launch: (job, key) => {
        launched.push(`${key} ${job.run}`);
        // With the token the gateway minted for this job's run.
        const node = producerClient(gw.url, job.producerToken);
        open.push(node);
        void connected(node).then(() =>
          node.emitWithAck('run:register', { run: job.run, title: job.title }),
        );
        return { stop: () => node.close() };
      },
    });
    open.push(runner);
    const res = await fetch(`${gw.url}/api/runs/run-1/commands`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKENS.staff}`,
        'content-type': 'application/json',
        'idempotency-key': crypto.randomUUID(),
      },
      body: JSON.stringify({ kind: 'resubmit', nodes: 2, walltimeSeconds: 1800, system: SYSTEM }),
    });
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(
      async () => /queued at/.test((await gw.commands.get(command.id))?.detail ?? ''),
      5000,
    );
    const jobId = /job (\d+) queued at beamline-cluster/.exec(
      (await gw.commands.get(command.id))!.detail!,
    )?.[1];
    expect(jobId).toBeDefined();
    for (let i = 0; i < 200 && launched.length === 0; i++) {
      fac.simulator.advance(120);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(launched).toEqual([`${SYSTEM}/${jobId} run-1`]);
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'applied',
      10_000,
      'applied',
    );
    expect((await gw.commands.get(command.id))!.detail).toBe(
      `streaming again from ${SYSTEM} (job ${jobId})`,
    );
  }, 30_000);
});
