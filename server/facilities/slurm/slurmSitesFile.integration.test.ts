import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRecord } from '@/lib/protocol';
import {
  connected,
  eventually,
  postCommand,
  producerClient,
  startTestGateway,
  TOKENS,
  openTestStore,
} from '../../testing/testGateway';
import { facilityAdapters } from '../facilityAdapters';
import { FacilityService } from '../FacilityService';
import { loadSitesFile } from '../sites/SitesConfig';
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

/**
 * A sites file with a Slurm site, against the real Slurm (scripts/ci/startSlurm.sh): it loads,
 * polls, and a resubmitted run's job that ends — exit 3, or its one-minute time limit — ends the
 * run in Slurm's words, with the job's own producer token revoked.
 */
const SYSTEM = 'beamline-cluster';
const token = slurmToken();
const why = await slurmUnavailable(token);
if (why && !IN_CI)
  console.warn(
    `Skipping the Slurm sites-file tests: ${why}. Start a local Slurm with: sudo scripts/ci/startSlurm.sh`,
  );

const open: { close(): unknown }[] = [];
const cleanup: string[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
  for (const path of cleanup.splice(0)) rmSync(path, { recursive: true, force: true });
});

/** A sites file whose Slurm site runs `executable` for a resubmitted run. */
function sitesFile(executable: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-h10-sites-'));
  cleanup.push(dir);
  const jwt = join(dir, 'slurm.jwt');
  writeFileSync(jwt, `${token}\n`, { mode: 0o600 });
  const file = join(dir, 'sites.yaml');
  writeFileSync(
    file,
    `
sites:
  - id: aps
    facility: APS
    systems:
      - id: ${SYSTEM}
        name: Beamline cluster
        jobProfile:
          executable: ${executable}
          arguments: []
          directory: ${SLURM_OUTPUT_DIR}
          stdoutPath: ${SLURM_OUTPUT_DIR}/sites-test-%j.out
          environment: { PATH: /usr/bin:/bin }
    sources:
      - id: slurm
        kind: slurm
        baseUrl: ${SLURM_URL}
        apiVersion: ${SLURM_VERSION}
        user: ${SLURM_USER}
        systems: { ${SYSTEM}: '*' }
        exclusive: true
        credentials: { kind: file, path: ${jwt} }
        commands:
          # Leaves the token it was given where the test can read it, then fails.
          fail-3: [/bin/sh, -c, 'printf %s "$LOUPE_PRODUCER_TOKEN" > ${SLURM_OUTPUT_DIR}/sites-test-token-$SLURM_JOB_ID; exit 3']
          overrun: [/bin/sh, -c, 'sleep 300']
`,
  );
  return file;
}

async function setup(executable: string) {
  const db = await openTestStore();
  const built = facilityAdapters(loadSitesFile(sitesFile(executable)));
  const service = new FacilityService({
    sources: built.sources,
    jobProfiles: built.jobProfiles,
    totalNodes: built.totalNodes,
    db,
    intervalMs: 60_000,
  });
  open.push({ close: () => service.stop() });
  const gw = await startTestGateway({ db, facilities: service, resubmitPollMs: 500 });
  open.push(gw);
  const first = producerClient(gw.url, TOKENS.producer);
  open.push(first);
  await connected(first);
  await first.emitWithAck('run:register', { run: 'run-1', title: 'Scan 17' });
  // Its consumer is gone (the reason to resubmit): nobody else streams the run.
  first.close();
  await eventually(() => gw.registry.get('run-1')?.state === 'waiting', 5000, 'waiting');
  return { gw, service, built };
}

/** Resubmits run-1 to the Slurm site for one minute; answers the command and the Slurm job id. */
async function resubmit(gw: Awaited<ReturnType<typeof setup>>['gw']) {
  const res = await postCommand(
    gw.url,
    'run-1',
    TOKENS.staff,
    { kind: 'resubmit', nodes: 1, walltimeSeconds: 60, system: SYSTEM },
    crypto.randomUUID(),
  );
  expect(res.status).toBe(202);
  const { command } = (await res.json()) as { command: CommandRecord };
  await eventually(() => gw.registry.get('run-1')?.job !== undefined, 15_000, 'the job');
  const jobId = gw.registry.get('run-1')!.job!.jobId;
  return { command, jobId };
}

describe.runIf(why !== null && IN_CI)('Slurm sites file in CI', () => {
  it('has a Slurm to run against (scripts/ci/startSlurm.sh, called by .ci/run)', () => {
    throw new Error(`CI needs a real Slurm for these tests: ${why}`);
  });
});

describe.skipIf(why !== null)(
  `a sites file with a Slurm site (slurmrestd ${SLURM_VERSION})`,
  () => {
    it('loads and polls it: the cluster as sinfo sees it, from the Slurm source', async () => {
      const { service, built } = await setup('fail-3');
      expect(built.sources.map((s) => s.label)).toEqual([`APS Slurm ${SLURM_VERSION}`]);
      const [snapshot] = (await service.pollOnce()).filter((s) => s.system === SYSTEM);
      const nodes = slurmCli('sinfo', ['-h', '-N', '-o', '%N']).split('\n').filter(Boolean);
      expect(snapshot).toMatchObject({
        system: SYSTEM,
        facility: 'APS',
        source: 'slurm',
        stale: false,
        queue: { totalNodes: new Set(nodes).size },
      });
      expect(['up', 'degraded']).toContain(snapshot!.status);
    });

    it('ends the run when its job exits 3, in Slurm’s words, and revokes the job’s token', async () => {
      const { gw } = await setup('fail-3');
      const { command, jobId } = await resubmit(gw);
      const tokenFile = `${SLURM_OUTPUT_DIR}/sites-test-token-${jobId}`;
      cleanup.push(tokenFile, `${SLURM_OUTPUT_DIR}/sites-test-${jobId}.out`);
      await eventually(() => gw.registry.get('run-1')?.state === 'ended', 60_000, 'run ended');
      const run = gw.registry.get('run-1')!;
      expect(run.stateMessage).toMatch(
        new RegExp(`^Job ${jobId} on ${SYSTEM} ended: FAILED after \\d+ s — .*exit code 3$`),
      );
      expect(run.job).toMatchObject({ state: 'failed', facilityState: 'FAILED', exitCode: 3 });
      expect(await gw.commands.get(command.id)).toMatchObject({ state: 'failed' });
      expect((await gw.commands.get(command.id))!.reason).toMatch(/ended failed before streaming/);
      // The job had a token of its own, for run-1 only; now that it ended the token is refused.
      expect(existsSync(tokenFile)).toBe(true);
      const jobToken = readFileSync(tokenFile, 'utf8').trim();
      expect(jobToken).not.toBe(TOKENS.producer);
      const claims = JSON.parse(Buffer.from(jobToken.split('.')[1]!, 'base64url').toString()) as {
        run: string;
        sub: string;
      };
      expect(claims).toMatchObject({ run: 'run-1', sub: `job:${SYSTEM}/${command.id}` });
      expect(await gw.producerTokens.verify(jobToken)).toBeNull();
    }, 90_000);

    it('ends the run when its job hits its one-minute time limit', async () => {
      const { gw } = await setup('overrun');
      const { jobId } = await resubmit(gw);
      cleanup.push(`${SLURM_OUTPUT_DIR}/sites-test-${jobId}.out`);
      try {
        await eventually(
          () => gw.registry.get('run-1')?.job?.state === 'active',
          30_000,
          'running',
        );
        // Slurm enforces time limits on its own timer (about every 30 s) and then waits KillWait.
        await eventually(() => gw.registry.get('run-1')?.state === 'ended', 150_000, 'run ended');
      } finally {
        slurmCli('scancel', [jobId]);
      }
      const run = gw.registry.get('run-1')!;
      expect(run.job).toMatchObject({ state: 'failed', facilityState: 'TIMEOUT' });
      expect(run.stateMessage).toMatch(
        new RegExp(`^Job ${jobId} on ${SYSTEM} ended: TIMEOUT after \\d+ min — walltime reached`),
      );
    }, 200_000);
  },
);
