import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRecord, FrameHeader } from '@/lib/protocol';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
  openTestStore,
} from '../../testing/testGateway';
import type { IriJob } from '../adapters/IriAdapter';
import { FacilityService } from '../FacilityService';
import { SlurmAdapter, type SlurmJobProfile } from './SlurmAdapter';
import { RECON_EXECUTABLE, reconConsumerProfile } from './slurmSite';
import {
  IN_CI,
  SLURM_OUTPUT_DIR,
  SLURM_URL,
  SLURM_USER,
  SLURM_VERSION,
  slurmCli,
  slurmToken,
  slurmUnavailable,
} from './testing/realSlurm';

const URL = SLURM_URL;
const USER = SLURM_USER;
const VERSION = SLURM_VERSION;
const OUTPUT_DIR = SLURM_OUTPUT_DIR;
const REPO = resolve(__dirname, '../../..');
const SYSTEM = 'beamline-cluster';

const token = slurmToken();
const why = await slurmUnavailable(token);
if (why && !IN_CI)
  console.warn(
    `Skipping the Slurm integration tests: ${why}. Start a local Slurm with: sudo scripts/ci/startSlurm.sh`,
  );

const open: { close(): unknown }[] = [];
const jobs: { adapter: SlurmAdapter; id: string }[] = [];
afterEach(async () => {
  // Never leave a job of ours holding the node for the next test.
  for (const j of jobs.splice(0)) await j.adapter.cancelJob(SYSTEM, j.id).catch(() => undefined);
  for (const thing of open.splice(0).reverse()) await thing.close();
});

function adapter(job: SlurmJobProfile, report?: (m: string) => void): SlurmAdapter {
  return new SlurmAdapter({
    facility: 'APS',
    systems: [{ system: SYSTEM, name: 'Beamline cluster' }],
    client: { baseUrl: URL, version: VERSION, user: USER, token: token! },
    job,
    ...(report && { report }),
  });
}

/** Small shell jobs: `sleep N`, `sh -c CMD`. */
const shellJobs: SlurmJobProfile = {
  directory: OUTPUT_DIR,
  stdout: `${OUTPUT_DIR}/test-%j.out`,
  exclusive: true,
  commands: { sleep: ['/bin/sleep'], sh: ['/bin/sh', '-c'] },
  environment: { PATH: '/usr/bin:/bin' },
};

async function submit(a: SlurmAdapter, executable: string, args: string[], minutes = 5) {
  const job = await a.submitJob(SYSTEM, {
    name: `loupe-test-${executable}`,
    executable,
    arguments: args,
    resources: { node_count: 1 },
    attributes: { duration: minutes * 60 },
  });
  jobs.push({ adapter: a, id: job.id });
  return job.id;
}

/** Polls the job's state until it is one of `states`. */
async function follow(
  a: SlurmAdapter,
  id: string,
  states: NonNullable<IriJob['status']>['state'][],
  timeoutMs: number,
): Promise<IriJob> {
  const start = Date.now();
  for (;;) {
    const job = await a.jobStatus(SYSTEM, id);
    if (job.status && states.includes(job.status.state)) return job;
    if (Date.now() - start > timeoutMs)
      throw new Error(`job ${id} still ${job.status?.state} (${job.status?.message})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const cli = slurmCli;

describe.runIf(why !== null && IN_CI)('Slurm in CI', () => {
  it('is running (scripts/ci/startSlurm.sh, called by .ci/run)', () => {
    throw new Error(`CI needs a real Slurm for these tests: ${why}`);
  });
});

describe.skipIf(why !== null)(`a real Slurm through slurmrestd ${VERSION}`, () => {
  it('reads status, node count and queue depth as sinfo and squeue see them', async () => {
    const dropped: string[] = [];
    const a = adapter(shellJobs, (m) => dropped.push(m));
    const [reading] = await a.read(Date.now());
    const nodes = cli('sinfo', ['-h', '-N', '-o', '%N %T']).split('\n').filter(Boolean);
    const names = new Set(nodes.map((l) => l.split(' ')[0]));
    const running = cli('squeue', ['-h', '-t', 'R', '-o', '%i']).split('\n').filter(Boolean);
    const pending = cli('squeue', ['-h', '-t', 'PD', '-o', '%i']).split('\n').filter(Boolean);
    expect(reading).toMatchObject({ system: SYSTEM, facility: 'APS', source: 'slurm' });
    expect(reading!.queue).toMatchObject({
      totalNodes: names.size,
      running: running.length,
      queued: pending.length,
    });
    const bad = nodes.filter((l) => /down|drain|fail|maint|not_resp|unk/i.test(l.split(' ')[1]!));
    expect(reading!.status).toBe(
      bad.length === 0 ? 'up' : bad.length === nodes.length ? 'down' : 'degraded',
    );
    expect(dropped).toEqual([]);
  });

  it("shows a job waiting behind another with the scheduler's own start estimate, and follows both to cancelled", async () => {
    const a = adapter(shellJobs);
    const first = await submit(a, 'sleep', ['600'], 5);
    const second = await submit(a, 'sleep', ['600'], 5);
    const running = await follow(a, first, ['active'], 30_000);
    const startedAt = running.status!.time!;
    // Backfill (every 5 s, startSlurm.sh) estimates when the second job gets the node.
    let expected: number | null = null;
    for (let tries = 0; expected === null; tries++) {
      if (tries === 45) throw new Error('no start estimate from Slurm within 45 s');
      await new Promise((r) => setTimeout(r, 1000));
      await a.read(Date.now());
      expected = a.expectedStart(second);
    }
    // The node frees when the first job's 5-minute limit runs out.
    expect(expected! / 1000).toBeGreaterThanOrEqual(startedAt + 300 - 5);
    expect(expected! / 1000).toBeLessThanOrEqual(startedAt + 300 + 120);
    const waiting = await a.jobStatus(SYSTEM, second);
    expect(waiting.status).toMatchObject({ state: 'queued' });
    expect(waiting.status!.message).toMatch(/^pending \(\w+\); Slurm expects it to start at /);
    const [reading] = await a.read(Date.now());
    expect(reading!.queuedJobs?.map((j) => j.id)).toContain(second);
    expect(reading!.runningJobs?.map((j) => j.id)).toContain(first);
    expect(reading!.queue!.queuedNodeHours).toBeGreaterThanOrEqual(5 / 60);
    expect(reading!.queue!.freeNodes).toBe(0);

    await a.cancelJob(SYSTEM, first);
    await a.cancelJob(SYSTEM, second);
    expect((await follow(a, first, ['canceled'], 30_000)).status!.message).toMatch(/^cancelled/);
    expect((await follow(a, second, ['canceled'], 30_000)).status!.state).toBe('canceled');
  }, 120_000);

  it("reports a job's end as Slurm does: completed, or failed with the script's exit code", async () => {
    const a = adapter(shellJobs);
    const ok = await submit(a, 'sh', ['exit 0'], 1);
    const bad = await submit(a, 'sh', ['exit 3'], 1);
    const done = await follow(a, ok, ['completed', 'failed', 'canceled'], 60_000);
    expect(done.status).toMatchObject({ state: 'completed', exit_code: 0 });
    const failed = await follow(a, bad, ['completed', 'failed', 'canceled'], 60_000);
    expect(failed.status).toMatchObject({ state: 'failed', exit_code: 3 });
    expect(failed.status!.message).toMatch(/exit code 3/);
  }, 120_000);

  it('turns a resubmitted run into a Slurm job whose consumer dials in and streams again', async () => {
    const db = await openTestStore();
    const profile = reconConsumerProfile({
      repoDir: REPO,
      gatewayUrl: 'http://127.0.0.1:0',
      outputDir: OUTPUT_DIR,
    });
    const recon = profile.commands[RECON_EXECUTABLE]!;
    // A small reconstruction: the test machine has two cores for everyone.
    recon.push('--width', '128', '--height', '128', '--size', '64', '--fps', '10');
    const site = adapter(profile);
    const service = new FacilityService({ adapters: [site], db, intervalMs: 2000 });
    open.push({ close: () => service.stop() });
    await service.pollOnce();
    const gw = await startTestGateway({ db, facilities: service });
    open.push(gw);
    // The gateway's port is known only now; the job script is written at submission.
    recon[recon.indexOf('--gateway') + 1] = gw.url;

    // run-1 streams from its first consumer, which then stalls; a viewer watches.
    const first = producerClient(gw.url, TOKENS.producer);
    open.push(first);
    await connected(first);
    expect((await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' })).ok).toBe(
      true,
    );
    const viewer = viewerClient(gw.url);
    open.push(viewer);
    const frames: { header: FrameHeader; at: number }[] = [];
    viewer.on('frame', (header, _payload, received) => {
      frames.push({ header, at: Date.now() });
      received();
    });
    await connected(viewer);
    expect((await viewer.emitWithAck('run:subscribe', { run: 'run-1' })).ok).toBe(true);

    const t0 = Date.now();
    const res = await fetch(`${gw.url}/api/runs/run-1/commands`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKENS.staff}`,
        'content-type': 'application/json',
        'idempotency-key': crypto.randomUUID(),
      },
      body: JSON.stringify({ kind: 'resubmit', nodes: 1, walltimeSeconds: 600, system: SYSTEM }),
    });
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(
      async () => /queued at/.test((await gw.commands.get(command.id))?.detail ?? ''),
      15_000,
      'the job queued',
    );
    const tQueued = Date.now();
    const jobId = /job (\d+) queued at beamline-cluster/.exec(
      (await gw.commands.get(command.id))!.detail!,
    )?.[1];
    expect(jobId, (await gw.commands.get(command.id))!.detail!).toBeDefined();
    jobs.push({ adapter: site, id: jobId! });
    // It is a real Slurm job, of the job user, running the consumer for run-1.
    expect(cli('squeue', ['-h', '-j', jobId!, '-o', '%u %j'])).toBe(`${USER} loupe-run-1`);
    const script = cli('scontrol', ['write', 'batch_script', jobId!, '-']);
    expect(script).toContain('consumers/recon/main.ts --gateway');
    expect(script).toContain('--run run-1');
    // The job's own producer token travels in its environment, never in its script.
    expect(script).not.toMatch(/LOUPE_PRODUCER_TOKEN|eyJ/);

    const stdout = `${OUTPUT_DIR}/loupe-${jobId}.out`;
    const log = () =>
      ['out', 'err']
        .map((x) => `${OUTPUT_DIR}/loupe-${jobId}.${x}`)
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f, 'utf8').slice(-2000))
        .join('\n');
    try {
      await eventually(
        async () => (await gw.commands.get(command.id))?.state === 'applied',
        120_000,
        'streaming again',
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}: ${(await gw.commands.get(command.id))?.detail}; job output: ${log()}`,
      );
    }
    const tApplied = Date.now();
    expect((await gw.commands.get(command.id))!.detail).toBe(
      `streaming again from ${SYSTEM} (job ${jobId})`,
    );
    const before = frames.length;
    await eventually(() => frames.length > before, 60_000, 'frames from the Slurm job');
    const tFrame = frames[before]!.at;
    expect(frames[before]!.header.run).toBe('run-1');
    expect(existsSync(stdout)).toBe(true);
    console.log(
      `Slurm resubmit: POST → queued ${tQueued - t0} ms, → consumer registered ${tApplied - t0} ms, → first frame ${tFrame - t0} ms (job ${jobId})`,
    );

    // Ending the job (scancel) is followed to its end, and the consumer goes with it.
    await service.cancelJob(SYSTEM, jobId!);
    const ended = await follow(site, jobId!, ['canceled', 'failed', 'completed'], 30_000);
    expect(ended.status!.state).toBe('canceled');
    // The run says so, in Slurm's words, and the job's token is no longer good.
    await eventually(() => gw.registry.get('run-1')?.state === 'ended', 15_000, 'run ended');
    expect(gw.registry.get('run-1')!.stateMessage).toMatch(
      new RegExp(`^Job ${jobId} on ${SYSTEM} ended: CANCELLED after \\d+ (s|min)`),
    );
    // SIGTERM, then SIGKILL after KillWait (5 s): after that the run gets nothing more.
    await new Promise((r) => setTimeout(r, 6000));
    const count = frames.length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(frames.length).toBe(count);
  }, 240_000);
});
