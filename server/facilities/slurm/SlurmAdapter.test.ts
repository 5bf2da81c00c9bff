import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FixtureResponse, startFixtureServer } from '../testing/fixtureServer';
import { jobEndedMessage } from '@/lib/runs/describeJob';
import { runJob } from '../../steering/FacilityResubmitter';
import { SlurmAdapter, slurmJobState, slurmToIri } from './SlurmAdapter';
import type { SlurmJob } from './slurmApi';

/** v0.0.42 answers written from slurmrestd 24.05's OpenAPI document (fixtures/v0.0.42-from-spec.json). */
const v42 = JSON.parse(
  readFileSync(resolve(__dirname, 'fixtures', 'v0.0.42-from-spec.json'), 'utf8'),
) as Record<string, unknown>;
/** "Now" in the fixtures' time: job 42 waits, reservation pm_dec is ahead. */
const NOW_MS = 1796164000_000;

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function v42Server(overrides: Record<string, FixtureResponse> = {}) {
  const routes = new Map<string, FixtureResponse>(
    Object.entries({
      ping: 'ping',
      nodes: 'nodes',
      partitions: 'partitions',
      jobs: 'jobs',
      reservations: 'reservations',
    }).map(([path, key]) => [`/slurm/v0.0.42/${path}/`, { body: JSON.stringify(v42[key]) }]),
  );
  // slurmrestd 24.05 lists its paths with a trailing slash and answers both.
  for (const [path, r] of [...routes]) routes.set(path.replace(/\/$/, ''), r);
  for (const [path, r] of Object.entries(overrides)) {
    routes.set(`/slurm/v0.0.42${path}`, r);
    routes.set(`/slurm/v0.0.42${path.replace(/\/$/, '')}`, r);
  }
  const server = await startFixtureServer(routes);
  open.push(server);
  return server;
}

function adapter(baseUrl: string, report?: (m: string) => void) {
  return new SlurmAdapter({
    facility: 'APS',
    systems: [
      { system: 'beamline-cluster', name: 'Beamline cluster', partitions: ['beamline'] },
      { system: 'beamline-debug', name: 'Beamline debug', partitions: ['debug'] },
    ],
    client: { baseUrl, version: 'v0.0.42', user: 'loupe', token: 'jwt' },
    job: { directory: '/', commands: {} },
    ...(report && { report }),
  });
}

describe('SlurmAdapter (v0.0.42 shapes over HTTP)', () => {
  it('derives status per system from its partitions and nodes, and queue depth from its jobs', async () => {
    const server = await v42Server();
    const reported: string[] = [];
    const [cluster, debug] = await adapter(server.url, (m) => reported.push(m)).read(NOW_MS);
    // bc03 drained and bc04 not responding: two of four nodes out → degraded.
    expect(cluster).toMatchObject({
      system: 'beamline-cluster',
      source: 'slurm',
      status: 'degraded',
      queue: { running: 1, queued: 1, queuedNodeHours: 2, freeNodes: 1, totalNodes: 4 },
    });
    expect(cluster!.windows).toEqual([
      {
        start: 1796200000_000,
        end: 1796228800_000,
        description: 'maintenance reservation pm_dec on bc[01-04]',
      },
    ]);
    // The debug partition is DOWN.
    expect(debug).toMatchObject({ status: 'down', queue: { totalNodes: 1, freeNodes: 0 } });
    // The node without a name and the job with a string id were dropped, and said so.
    expect(reported).toHaveLength(2);
    expect(reported[0]).toMatch(/dropped nodes\[4\] name/);
    expect(reported[1]).toMatch(/dropped jobs\[4\] job_id/);
  });

  it('reads a system down when no controller answers the ping', async () => {
    const ping = v42.ping as { pings: { responding: boolean }[] };
    const server = await v42Server({
      '/ping/': {
        body: JSON.stringify({
          ...ping,
          pings: ping.pings.map((p) => ({ ...p, responding: false })),
        }),
      },
    });
    const [cluster] = await adapter(server.url).read(NOW_MS);
    expect(cluster!.status).toBe('down');
  });

  it('keeps status and queue when reservations fail, and fails whole on a garbage node list', async () => {
    const server = await v42Server({
      '/reservations/': { status: 502, body: '<html>bad gateway' },
    });
    const a = adapter(server.url);
    const [cluster] = await a.read(NOW_MS);
    expect(cluster!.status).toBe('degraded');
    expect(cluster!.windows).toEqual([]);
    expect(a.dropped).toContain('reservations unreadable: answered HTML, not JSON (HTTP 502)');

    const broken = await v42Server({ '/nodes/': { body: '{"nodes": {"oops": 1}}' } });
    await expect(adapter(broken.url).read(NOW_MS)).rejects.toThrow(
      'unexpected answer: no "nodes" list',
    );
    const refused = await v42Server({
      '/jobs/': { status: 401, body: '{"errors":[{"error":"Authentication failure"}]}' },
    });
    await expect(adapter(refused.url).read(NOW_MS)).rejects.toMatchObject({
      auth: true,
      message: 'credentials refused: HTTP 401: Authentication failure',
    });
  });
});

describe("a Slurm job in IRI's terms", () => {
  const job = (over: Partial<SlurmJob>): SlurmJob => ({
    id: '7',
    name: 'loupe-run-1',
    state: 'PENDING',
    flags: [],
    user: 'loupe',
    partitions: ['beamline'],
    nodes: 1,
    timeLimitS: 600,
    submit: 1000,
    start: null,
    end: null,
    reason: 'Priority',
    exitCode: null,
    signal: null,
    ...over,
  });

  it('says what Slurm says: queued with its estimate, held, running, ending, ended how', () => {
    expect(slurmToIri(job({ start: 1796165520 })).status).toMatchObject({
      state: 'queued',
      message: 'pending (Priority); Slurm expects it to start at 2026-12-01T22:52:00Z',
    });
    expect(slurmToIri(job({ reason: 'JobHeldUser' })).status!.state).toBe('held');
    expect(slurmToIri(job({ state: 'RUNNING', start: 1100, reason: null })).status).toMatchObject({
      state: 'active',
      time: 1100,
    });
    expect(slurmToIri(job({ state: 'TIMEOUT', reason: null, end: 1700 })).status).toMatchObject({
      state: 'failed',
      message: 'walltime reached',
    });
    expect(
      slurmToIri(job({ state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 3 })).status,
    ).toMatchObject({
      state: 'failed',
      exit_code: 3,
      message: 'failed (NonZeroExitCode), exit code 3',
    });
    expect(
      slurmToIri(job({ state: 'CANCELLED', reason: null, signal: 'TERM' })).status,
    ).toMatchObject({ state: 'canceled', message: 'cancelled (TERM)' });
    expect(slurmToIri(job({ state: 'NODE_FAIL', reason: null })).status!.message).toBe('node fail');
  });

  it("keeps Slurm's own word and times, and the run's line says how each end came", () => {
    const ended = (over: Partial<SlurmJob>) => {
      const state = slurmJobState(job({ state: 'RUNNING', start: 1000, reason: null, ...over }));
      return {
        state,
        line: jobEndedMessage(
          runJob(state, {
            command: 'c1',
            system: 'beamline-cluster',
            walltimeS: 600,
            submittedAt: 900_000,
            previous: undefined,
          }),
        ),
      };
    };
    const timeout = ended({ state: 'TIMEOUT', reason: 'TimeLimit', end: 1600 });
    expect(timeout.state).toMatchObject({
      state: 'failed',
      facilityState: 'TIMEOUT',
      startedAt: 1_000_000,
      endedAt: 1_600_000,
    });
    expect(timeout.line).toBe(
      'Job 7 on beamline-cluster ended: TIMEOUT after 10 min — walltime reached (TimeLimit)',
    );
    expect(ended({ state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 3, end: 1002 }).line).toBe(
      'Job 7 on beamline-cluster ended: FAILED after 2 s — failed (NonZeroExitCode), exit code 3',
    );
    expect(ended({ state: 'CANCELLED', end: 1180 }).line).toBe(
      'Job 7 on beamline-cluster ended: CANCELLED after 3 min — cancelled',
    );
    expect(ended({ state: 'NODE_FAIL', end: 8200 }).line).toBe(
      'Job 7 on beamline-cluster ended: NODE_FAIL after 2 h 00 min — node fail',
    );
    expect(ended({ state: 'OUT_OF_MEMORY', exitCode: null, end: 1060 }).state).toMatchObject({
      state: 'failed',
      facilityState: 'OUT_OF_MEMORY',
    });
    expect(ended({ state: 'COMPLETED', exitCode: 0, end: 1300 }).line).toBe(
      'Job 7 on beamline-cluster ended: COMPLETED after 5 min — completed, exit code 0',
    );
    // Cancelled while pending: it never started.
    expect(ended({ state: 'CANCELLED', start: null, end: 1100 }).line).toBe(
      'Job 7 on beamline-cluster ended: CANCELLED before it started — cancelled',
    );
    // A pending job's start is the scheduler's estimate, not a start.
    expect(slurmJobState(job({ start: 1796165520 }))).toMatchObject({
      state: 'queued',
      facilityState: 'PENDING',
      startedAt: null,
      endedAt: null,
    });
  });
});
