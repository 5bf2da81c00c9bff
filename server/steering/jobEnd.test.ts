import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRecord, FrameHeader, RunSummary } from '@/lib/protocol';
import { openDatabase } from '../db/openDatabase';
import type {
  FacilityAdapter,
  JobState,
  JobSubmission,
  JobSubmitter,
} from '../facilities/adapters/FacilityAdapter';
import { FacilityService } from '../facilities/FacilityService';
import type { Gateway } from '../gateway';
import {
  connected,
  eventually,
  postCommand,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';
import { PRODUCER_TOKEN_VARIABLE } from './FacilityResubmitter';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** A site whose one job's state the test sets, as a scheduler would report it. */
class ScriptedSite implements FacilityAdapter, JobSubmitter {
  readonly id = 'scripted';
  readonly source = 'slurm' as const;
  readonly systems = [
    { system: 'beamline-cluster', name: 'Beamline cluster', facility: 'APS' as const },
  ];
  readonly jobs: JobSubmitter = this;
  submitted: JobSubmission[] = [];
  state: JobState = {
    id: '1234',
    state: 'queued',
    message: 'pending (Priority)',
    startEstimate: null,
    exitCode: null,
  };

  async read() {
    return [
      {
        ...this.systems[0]!,
        source: 'slurm' as const,
        status: 'up' as const,
        since: null,
        windows: [],
        queue: { running: 0, queued: 0, queuedNodeHours: 0, freeNodes: 1, totalNodes: 1 },
      },
    ];
  }

  async submitJob(_system: string, job: JobSubmission): Promise<JobState> {
    this.submitted.push(job);
    return { ...this.state, startEstimate: Date.parse('2026-12-02T13:00:00Z') };
  }

  async jobStatus(): Promise<JobState> {
    return this.state;
  }
}

function header(run: string, view: 'full' | 'roi', seq: number): FrameHeader {
  return {
    run,
    view,
    stream: 'xy',
    seq,
    dtype: 'uint8',
    shape: [2, 2],
    voxelSize: [1, 1, 1],
    acquiredAt: 1,
    reconstructedAt: 1,
    publishedAt: 1,
    ...(view === 'roi' && { region: { x: [0, 1], y: [0, 1], z: [0, 1] } }),
  } as FrameHeader;
}

async function setup(): Promise<{ gw: Gateway; site: ScriptedSite }> {
  const db = openDatabase(':memory:');
  const site = new ScriptedSite();
  const service = new FacilityService({ adapters: [site], db, intervalMs: 60_000 });
  open.push({ close: () => service.stop() });
  await service.pollOnce();
  const gw = await startTestGateway({
    db,
    facilities: service,
    resubmitPollMs: 20,
    sessionRecheckMs: 50,
  });
  open.push(gw);
  return { gw, site };
}

describe("a resubmitted job's life at its site", () => {
  it('gives the job a producer token for its run only, and ends the run with the facility’s words when the job ends', async () => {
    const { gw, site } = await setup();
    // run-1 streams from its first consumer, with a zoomed region.
    const first = producerClient(gw.url, TOKENS.producer);
    open.push(first);
    await connected(first);
    expect((await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' })).ok).toBe(
      true,
    );
    const producerId = gw.registry.producerOf('run-1')!;
    expect(gw.registry.accept(header('run-1', 'full', 0), new Uint8Array(4), producerId).ok).toBe(
      true,
    );
    expect(gw.registry.accept(header('run-1', 'roi', 0), new Uint8Array(4), producerId).ok).toBe(
      true,
    );
    const viewer = viewerClient(gw.url);
    open.push(viewer);
    const updates: RunSummary[] = [];
    viewer.on('run:update', (r) => updates.push(r));
    await connected(viewer);
    expect((await viewer.emitWithAck('run:subscribe', { run: 'run-1' })).ok).toBe(true);

    const res = await postCommand(
      gw.url,
      'run-1',
      TOKENS.staff,
      { kind: 'resubmit', nodes: 1, walltimeSeconds: 600, system: 'beamline-cluster' },
      crypto.randomUUID(),
    );
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(() => site.submitted.length === 1, 5000, 'the submission');

    // The job's environment carries a token of its own, not the users file's producer token.
    const token = site.submitted[0]!.environment![PRODUCER_TOKEN_VARIABLE]!;
    expect(token).toBeDefined();
    expect(token).not.toBe(TOKENS.producer);
    expect(await gw.producerTokens.verify(token)).toMatchObject({
      role: 'producer',
      runs: ['run-1'],
    });
    // Queued, with the job id and the site's own start estimate, on the run itself.
    await eventually(() => gw.registry.get('run-1')?.job?.state === 'queued', 5000, 'queued');
    expect(gw.registry.get('run-1')!.job).toMatchObject({
      jobId: '1234',
      system: 'beamline-cluster',
      message: 'pending (Priority)',
      command: command.id,
    });
    expect((await gw.commands.get(command.id))?.detail).toMatch(
      /job 1234 queued at beamline-cluster.*estimates its start at 2026-12-02T13:00:00/,
    );

    // It starts; its consumer dials in with the job's token and streams run-1 …
    const started = Date.now();
    site.state = {
      ...site.state,
      state: 'active',
      message: 'running on 1 node',
      startedAt: started,
    };
    await eventually(() => gw.registry.get('run-1')?.job?.state === 'active', 5000, 'running');
    const job = producerClient(gw.url, token);
    open.push(job);
    await connected(job);
    expect((await job.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' })).ok).toBe(
      true,
    );
    // … and nothing else.
    const other = await job.emitWithAck('run:register', { run: 'run-2', title: 'Not mine' });
    expect(other.ok).toBe(false);
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'applied',
      5000,
      'applied',
    );
    // The region the old job zoomed into is not the new job's.
    expect(gw.registry.get('run-1')!.streams.map((s) => s.key)).toEqual(['full/xy']);
    expect(gw.registry.get('run-1')!.roiEpoch).toBe(1);

    // The scheduler ends it at its walltime.
    const jobGone = new Promise<void>((resolve) => job.on('disconnect', () => resolve()));
    site.state = {
      ...site.state,
      state: 'failed',
      facilityState: 'TIMEOUT',
      message: 'walltime reached (TimeLimit)',
      endedAt: started + 10 * 60_000,
    };
    await eventually(() => gw.registry.get('run-1')?.state === 'ended', 5000, 'ended');
    expect(gw.registry.get('run-1')!.stateMessage).toBe(
      'Job 1234 on beamline-cluster ended: TIMEOUT after 10 min — walltime reached (TimeLimit)',
    );
    // The viewer's copy arrives over its socket after the registry changed (red once under load).
    await eventually(() => updates.at(-1)?.state === 'ended', 5000, 'the viewer told');
    expect(updates.at(-1)).toMatchObject({
      state: 'ended',
      job: { state: 'failed', facilityState: 'TIMEOUT', jobId: '1234' },
    });
    // Its token is revoked: the session it opened is ended, and it opens no other.
    expect(await gw.producerTokens.verify(token)).toBeNull();
    await jobGone;
    const again = producerClient(gw.url, token);
    open.push(again);
    await expect(connected(again)).rejects.toThrow();
    // The command's outcome stands: the job did stream.
    expect((await gw.commands.get(command.id))?.state).toBe('applied');
  }, 30_000);

  it('ends the run when the job fails before it streams, with the exit code, and drops the old region', async () => {
    const { gw, site } = await setup();
    const first = producerClient(gw.url, TOKENS.producer);
    open.push(first);
    await connected(first);
    await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' });
    const producerId = gw.registry.producerOf('run-1')!;
    gw.registry.accept(header('run-1', 'roi', 0), new Uint8Array(4), producerId);
    first.close();
    await eventually(() => gw.registry.get('run-1')?.state === 'waiting', 5000, 'waiting');

    const res = await postCommand(
      gw.url,
      'run-1',
      TOKENS.staff,
      { kind: 'resubmit', nodes: 1, walltimeSeconds: 600, system: 'beamline-cluster' },
      crypto.randomUUID(),
    );
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(() => site.submitted.length === 1, 5000, 'the submission');
    const token = site.submitted[0]!.environment![PRODUCER_TOKEN_VARIABLE]!;
    site.state = {
      ...site.state,
      state: 'failed',
      facilityState: 'FAILED',
      message: 'failed (NonZeroExitCode), exit code 3',
      exitCode: 3,
      startedAt: Date.now() - 2000,
      endedAt: Date.now(),
    };
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'failed',
      5000,
      'failed',
    );
    expect((await gw.commands.get(command.id))?.reason).toBe(
      'job 1234 at beamline-cluster ended failed before streaming: failed (NonZeroExitCode), exit code 3',
    );
    const run = gw.registry.get('run-1')!;
    expect(run.state).toBe('ended');
    expect(run.stateMessage).toBe(
      'Job 1234 on beamline-cluster ended: FAILED after 2 s — failed (NonZeroExitCode), exit code 3',
    );
    expect(run.streams).toEqual([]);
    expect(run.roiEpoch).toBe(1);
    expect(await gw.producerTokens.verify(token)).toBeNull();
  }, 30_000);

  it('leaves a run its old consumer still streams as it is when the new job ends before taking over', async () => {
    const { gw, site } = await setup();
    const first = producerClient(gw.url, TOKENS.producer);
    open.push(first);
    await connected(first);
    await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' });
    const res = await postCommand(
      gw.url,
      'run-1',
      TOKENS.staff,
      { kind: 'resubmit', nodes: 1, walltimeSeconds: 600, system: 'beamline-cluster' },
      crypto.randomUUID(),
    );
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(() => site.submitted.length === 1, 5000, 'the submission');
    site.state = {
      ...site.state,
      state: 'canceled',
      facilityState: 'CANCELLED',
      message: 'cancelled',
    };
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'failed',
      5000,
      'failed',
    );
    await eventually(() => gw.registry.get('run-1')?.job?.state === 'canceled', 5000, 'job ended');
    expect(gw.registry.get('run-1')).toMatchObject({ state: 'streaming', producerConnected: true });
    expect(gw.registry.get('run-1')!.stateMessage).toBeUndefined();
  }, 30_000);
});
