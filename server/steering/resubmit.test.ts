import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRecord } from '@/lib/protocol';
import type { Gateway } from '../gateway';
import { SimulatedJobRunner } from '../facilities/simulator/SimulatedJobRunner';
import {
  startEmbeddedFacilities,
  type EmbeddedFacilities,
} from '../facilities/startEmbeddedFacilities';
import {
  connected,
  eventually,
  openTestStore,
  producerClient,
  startTestGateway,
  TOKENS,
} from '../testing/testGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** A gateway with the embedded facility simulator on a manual clock, and run-1 streaming. */
async function setup(): Promise<{ gw: Gateway; fac: EmbeddedFacilities; superseded: string[] }> {
  const db = await openTestStore();
  open.push(db);
  const fac = await startEmbeddedFacilities({
    db,
    simulator: { manualClock: true, seed: 7 },
    service: { intervalMs: 100 },
  });
  open.push(fac);
  await fac.service.pollOnce();
  const gw = await startTestGateway({ db, facilities: fac.service });
  open.push(gw);
  const first = producerClient(gw.url, TOKENS.producer);
  open.push(first);
  const superseded: string[] = [];
  first.on('run:superseded', (n) => superseded.push(n.reason));
  await connected(first);
  expect((await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' })).ok).toBe(
    true,
  );
  return { gw, fac, superseded };
}

function resubmit(gw: Gateway, token: string, body: Record<string, unknown>) {
  return fetch(`${gw.url}/api/runs/run-1/commands`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': crypto.randomUUID(),
    },
    body: JSON.stringify({ kind: 'resubmit', nodes: 1, walltimeSeconds: 1800, ...body }),
  });
}

describe('resubmit through site selection and the facility job API', () => {
  it('queues the job at the recommended site, and when it starts its consumer streams the run again', async () => {
    const { gw, fac, superseded } = await setup();
    // The simulated compute node: when the scheduler starts Loupe's job, its consumer dials in.
    const startedJobs = new Set<string>();
    fac.simulator.events.on('job:start', (e) => startedJobs.add(e.jobId));
    const launched: string[] = [];
    const runner = new SimulatedJobRunner({
      simulator: fac.simulator,
      jobFor: (system, id) => gw.resubmitter?.jobFor(system, id),
      gatewayUrl: gw.url,
      log: () => undefined,
      launch: (job, key) => {
        launched.push(`${key} ${job.run}`);
        // The job dials in with the token minted for its run, not a facility-wide credential.
        const node = producerClient(gw.url, job.producerToken);
        open.push(node);
        void connected(node).then(() =>
          node.emitWithAck('run:register', { run: job.run, title: job.title }),
        );
        return { stop: () => node.close() };
      },
    });
    open.push(runner);
    const res = await resubmit(gw, TOKENS.scientist, {});
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(
      async () => /(queued|running) at/.test((await gw.commands.get(command.id))?.detail ?? ''),
      5000,
      `queued (${JSON.stringify(await gw.commands.get(command.id))})`,
    );
    const queued = (await gw.commands.get(command.id))!;
    const match = /job (\S+) (?:queued|running) at ([a-z0-9-]+)/.exec(queued.detail ?? '');
    expect(match, queued.detail).not.toBeNull();
    const [, jobId, system] = match!;
    const decision = (await fac.service.decisions())[0]!;
    expect(decision).toMatchObject({ who: 'ada', system, override: false });
    expect(gw.resubmitter?.jobFor(system!, jobId!)).toMatchObject({ run: 'run-1' });
    // Queued jobs start when the scheduler gets to them; move simulated time until it does.
    for (let i = 0; i < 300 && !startedJobs.has(jobId!); i++) fac.simulator.advance(300);
    expect(startedJobs.has(jobId!)).toBe(true);
    await eventually(() => launched.length === 1, 6000, 'consumer launched');
    expect(launched).toEqual([`${system}/${jobId} run-1`]);
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'applied',
      10_000,
      'streaming again',
    );
    expect((await gw.commands.get(command.id))?.detail).toBe(
      `streaming again from ${system} (job ${jobId})`,
    );
    // The old consumer was told to stop, so the two do not fight over the run.
    await eventually(async () => superseded.length === 1, 3000, 'superseded');
    expect((await gw.audit.query({ action: 'site:decide', limit: 5 }))[0]).toMatchObject({
      subject: 'ada',
      outcome: 'allowed',
    });
  }, 30_000);

  it('lets staff override the site, and refuses a scientist’s override', async () => {
    const { gw, fac } = await setup();
    const recommended = fac.service.recommend({
      nodes: 1,
      walltime: 1800,
      dataBytes: 12 * 2 ** 30,
    }).recommended;
    const other = fac.service
      .snapshots()
      .find((s) => s.system !== recommended && s.system !== 'frontier')!.system;
    const byScientist = (await (
      await resubmit(gw, TOKENS.scientist, { system: other })
    ).json()) as { command: CommandRecord };
    expect(byScientist.command.state).toBe('failed');
    expect(byScientist.command.reason).toMatch(/only staff may send a job elsewhere/);
    const byStaff = (await (await resubmit(gw, TOKENS.staff, { system: other })).json()) as {
      command: CommandRecord;
    };
    await eventually(
      async () => (await gw.commands.get(byStaff.command.id))?.state === 'delivered',
      5000,
      'queued',
    );
    expect((await gw.commands.get(byStaff.command.id))?.detail).toMatch(
      new RegExp(`queued at ${other} \\(staff override\\)`),
    );
    expect((await fac.service.decisions())[0]).toMatchObject({
      who: 'sam',
      system: other,
      override: true,
    });
  }, 30_000);

  it('honours staff’s site decision and the job shape it was made for', async () => {
    const { gw, fac } = await setup();
    const recommended = fac.service.recommend({
      nodes: 3,
      walltime: 2400,
      dataBytes: 0,
    }).recommended;
    const other = fac.service
      .snapshots()
      .find((s) => s.system !== recommended && s.system !== 'frontier')!.system;
    // Simulated time runs ahead; the decision is stamped with the wall clock all the same.
    fac.simulator.advance(86_400);
    const decision = await fac.service.recordDecision(
      { subject: 'sam', role: 'staff' },
      { system: other, recommended, job: { nodes: 3, walltime: 2400 } },
    );
    expect(Math.abs(decision.at - Date.now())).toBeLessThan(5000);
    const { command } = (await (
      await resubmit(gw, TOKENS.scientist, { nodes: undefined, walltimeSeconds: undefined })
    ).json()) as { command: CommandRecord };
    await eventually(
      async () => /(queued|running) at/.test((await gw.commands.get(command.id))?.detail ?? ''),
      5000,
      `queued (${JSON.stringify(await gw.commands.get(command.id))})`,
    );
    expect((await gw.commands.get(command.id))?.detail).toMatch(
      new RegExp(`at ${other} \\(staff decision ${decision.id}\\), 3 nodes × 40 min`),
    );
    // The decision stands: no new "recommended" one written over it.
    expect((await fac.service.decisions())[0]).toMatchObject({ id: decision.id, system: other });
    const job = [...fac.simulator.models.get(other)!.jobs.values()].find((j) => j.external);
    expect(job).toMatchObject({ nodes: 3, walltimeS: 2400 });
  }, 30_000);

  it('shows the facility’s error when the submission fails', async () => {
    const { gw, fac } = await setup();
    fac.simulator.expireTokens();
    const { command } = (await (await resubmit(gw, TOKENS.staff, {})).json()) as {
      command: CommandRecord;
    };
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'failed',
      5000,
      'failed',
    );
    expect((await gw.commands.get(command.id))?.reason).toMatch(/refused the job: .*401/);
  }, 30_000);
});
