import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseJobs,
  parseNodes,
  parsePartitions,
  parsePings,
  parseReservations,
  parseSubmitted,
  SlurmAnswerError,
  slurmErrors,
  submitBody,
  type SlurmJobRequest,
} from './slurmApi';

/** Answers recorded from Debian 12's slurmrestd 22.05.8 (v0.0.38), never edited. */
const recorded = (name: string): unknown =>
  JSON.parse(readFileSync(resolve(__dirname, 'fixtures', `v0.0.38-${name}.json`), 'utf8'));
/** v0.0.42 answers written field by field from slurmrestd 24.05's OpenAPI document. */
const v42 = JSON.parse(
  readFileSync(resolve(__dirname, 'fixtures', 'v0.0.42-from-spec.json'), 'utf8'),
) as Record<string, unknown>;

describe('slurmrestd v0.0.38 (recorded from Slurm 22.05.8)', () => {
  it('reads the controller ping, nodes with their state flags, and partitions', () => {
    expect(parsePings('v0.0.38', recorded('ping'))).toEqual({
      items: [{ hostname: 'vm', responding: true, primary: true }],
      dropped: [],
    });
    // Drained by hand while a job held it: base state plus v0.0.38's separate state_flags.
    expect(parseNodes('v0.0.38', recorded('nodes')).items).toEqual([
      {
        name: 'beamline-node1',
        states: ['ALLOCATED', 'DRAIN'],
        partitions: ['beamline'],
        reason: 'fixture: drained by hand',
      },
    ]);
    expect(parsePartitions('v0.0.38', recorded('partitions')).items).toEqual([
      { name: 'beamline', states: ['UP'], totalNodes: 1 },
    ]);
  });

  it("reads jobs with minutes as seconds, raw exit statuses, and a pending job's expected start", () => {
    const { items, dropped } = parseJobs('v0.0.38', recorded('jobs'));
    expect(dropped).toEqual([]);
    const byId = Object.fromEntries(items.map((j) => [j.id, j]));
    expect(byId['5']).toMatchObject({
      state: 'RUNNING',
      nodes: 1,
      timeLimitS: 600,
      start: 1796164464,
      partitions: ['beamline'],
      user: 'loupe',
      reason: null,
    });
    // Backfill's estimate: when job 5's ten minutes run out.
    expect(byId['6']).toMatchObject({ state: 'PENDING', reason: 'Resources', start: 1796165520 });
    expect(byId['3']).toMatchObject({ state: 'COMPLETED', exitCode: 0, signal: null });
  });

  it('drops a malformed job and reports why, keeping the rest', () => {
    const body = recorded('jobs') as { jobs: Record<string, unknown>[] };
    body.jobs[1] = { ...body.jobs[1], job_state: 42 };
    body.jobs[2] = { ...body.jobs[2], job_state: 'WIBBLE' };
    const { items, dropped } = parseJobs('v0.0.38', body);
    expect(items.map((j) => j.id)).toEqual(['3', '6']);
    expect(dropped).toHaveLength(2);
    expect(dropped[0]).toMatch(/^jobs\[1\] job_state: /);
    expect(dropped[1]).toBe('jobs[2] job_state: unknown ["WIBBLE"]');
  });

  it('decodes wait statuses and flag states the way job_state_string() writes them', () => {
    const job = (extra: Record<string, unknown>) => ({
      jobs: [{ job_id: 9, job_state: 'FAILED', ...extra }],
    });
    expect(parseJobs('v0.0.38', job({ exit_code: 768 })).items[0]).toMatchObject({
      exitCode: 3,
      signal: null,
    });
    expect(
      parseJobs('v0.0.38', job({ job_state: 'CANCELLED', exit_code: 15 })).items[0],
    ).toMatchObject({ exitCode: null, signal: 'signal 15' });
    // A cancelled job reads COMPLETING until its processes are gone.
    expect(parseJobs('v0.0.38', job({ job_state: 'COMPLETING' })).items[0]).toMatchObject({
      state: 'RUNNING',
      flags: ['COMPLETING'],
    });
  });

  it('reads a maintenance reservation', () => {
    expect(parseReservations('v0.0.38', recorded('reservations')).items).toEqual([
      expect.objectContaining({ flags: ['MAINT', 'SPEC_NODES', 'ALL_NODES'], nodeCount: 1 }),
    ]);
  });

  it("turns Slurm's errors into a reason: an unknown job, a refused submission", () => {
    expect(slurmErrors(recorded('job-unknown'))).toBe(
      'Invalid job id specified: Unable to find JobId=999999',
    );
    expect(() => parseSubmitted('v0.0.38', recorded('submit-refused'))).toThrow(
      new SlurmAnswerError('slurmrestd refused the job: Invalid partition name specified'),
    );
    expect(() => parseJobs('v0.0.38', recorded('job-unknown'))).not.toThrow();
    expect(() => parseJobs('v0.0.38', { errors: [{ error: 'Access denied' }] })).toThrow(
      'slurmrestd: Access denied',
    );
  });
});

describe('slurmrestd v0.0.42 (as its OpenAPI document defines it)', () => {
  it('reads pings, nodes, partitions and reservations from no-val structs and state arrays', () => {
    expect(parsePings('v0.0.42', v42.ping).items).toEqual([
      { hostname: 'ctl1', responding: true, primary: true },
      { hostname: 'ctl2', responding: false, primary: false },
    ]);
    const nodes = parseNodes('v0.0.42', v42.nodes);
    expect(nodes.items.map((n) => n.states)).toEqual([
      ['IDLE'],
      ['MIXED'],
      ['IDLE', 'DRAIN'],
      ['DOWN', 'NOT_RESPONDING'],
    ]);
    expect(nodes.dropped).toEqual([
      'nodes[4] name: Invalid input: expected string, received undefined',
    ]);
    expect(parsePartitions('v0.0.42', v42.partitions).items).toEqual([
      { name: 'beamline', states: ['UP'], totalNodes: 4 },
      { name: 'debug', states: ['DOWN'], totalNodes: 1 },
    ]);
    expect(parseReservations('v0.0.42', v42.reservations).items[0]).toEqual({
      name: 'pm_dec',
      start: 1796200000,
      end: 1796228800,
      flags: ['MAINT', 'IGNORE_JOBS', 'ALL_NODES'],
      nodeCount: 4,
      nodeList: 'bc[01-04]',
      partition: null,
    });
  });

  it('reads jobs: unset numbers are null, infinite limits unlimited, exit codes and signals apart', () => {
    const { items, dropped } = parseJobs('v0.0.42', v42.jobs);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatch(/^jobs\[4\] job_id: /);
    const byId = Object.fromEntries(items.map((j) => [j.id, j]));
    expect(byId['41']).toMatchObject({ state: 'RUNNING', timeLimitS: 1800, exitCode: null });
    expect(byId['42']).toMatchObject({ state: 'PENDING', nodes: 2, start: 1796165000 });
    expect(byId['43']).toMatchObject({ state: 'FAILED', timeLimitS: null, exitCode: 3 });
    expect(byId['44']).toMatchObject({
      state: 'CANCELLED',
      flags: ['COMPLETING'],
      signal: 'TERM',
    });
    expect(parseSubmitted('v0.0.42', v42.submit)).toEqual({ jobId: '46', message: null });
  });
});

describe('the submission body', () => {
  const job: SlurmJobRequest = {
    name: 'loupe-run-1',
    script: '#!/bin/bash\nexec true\n',
    nodes: 2,
    walltimeS: 1801,
    partition: 'beamline',
    exclusive: true,
    directory: '/home/loupe',
    stdout: '/tmp/%j.out',
    environment: { PATH: '/bin', LOUPE_PRODUCER_TOKEN: 't' },
  };

  it('v0.0.38: script beside job, minutes as an integer, environment an object', () => {
    expect(submitBody('v0.0.38', job)).toEqual({
      script: job.script,
      job: {
        name: 'loupe-run-1',
        current_working_directory: '/home/loupe',
        partition: 'beamline',
        standard_output: '/tmp/%j.out',
        exclusive: 'exclusive',
        nodes: 2,
        time_limit: 31,
        environment: { PATH: '/bin', LOUPE_PRODUCER_TOKEN: 't' },
      },
    });
  });

  it('v0.0.42+: script inside job, a no-val time limit, environment as K=V', () => {
    expect(submitBody('v0.0.44', job)).toEqual({
      job: {
        name: 'loupe-run-1',
        current_working_directory: '/home/loupe',
        partition: 'beamline',
        standard_output: '/tmp/%j.out',
        script: job.script,
        shared: ['none'],
        minimum_nodes: 2,
        maximum_nodes: 2,
        time_limit: { set: true, infinite: false, number: 31 },
        environment: ['PATH=/bin', 'LOUPE_PRODUCER_TOKEN=t'],
      },
    });
  });
});
