import { z } from 'zod';
import type { PlannedWindow } from '@/lib/protocol';
import type { FacilityAdapter, SeenQueuedJob, StartedJob, SystemReading } from './FacilityAdapter';
import { fetchJson, isNotModified, isoMs, SourceError } from './fetchJson';

const NerscStatus = z.object({
  name: z.string(),
  full_name: z.string().nullish(),
  status: z.enum(['active', 'degraded', 'unavailable', 'other']),
  updated_at: z.string().nullish(),
  notes: z.array(z.string()).nullish(),
});
const NerscOutage = z.object({
  name: z.string(),
  start_at: z.string(),
  end_at: z.string().nullable(),
  description: z.string().nullish(),
  status: z.enum(['Active', 'Cancelled', 'Completed', 'Extended', 'Planned']),
});
/** squeue rows: every value a string. */
const SqueueRow = z
  .object({
    jobid: z.string(),
    state: z.string(),
    nodes: z.string().regex(/^\d+$/),
    time_limit: z.string(),
    submit_time: z.string(),
    start_time: z.string().nullish(),
    qos: z.string().nullish(),
    partition: z.string().nullish(),
  })
  .passthrough();
const Jobs = z.object({
  status: z.enum(['OK', 'ERROR']),
  output: z.array(SqueueRow).nullish(),
  error: z.string().nullish(),
});

export interface NerscSfApiOptions {
  /** e.g. https://api.nersc.gov/api/v1.2 */
  baseUrl: string;
  /** OAuth2 access token for /compute/jobs; without it the queue is not read. */
  token?: string | (() => string | null) | null;
  /** Our system ids, equal to NERSC's machine names, with their compute node counts. */
  systems: { system: string; name: string; totalNodes: number }[];
  timeoutMs?: number;
  /** Slurm prints local times without a zone; minutes east of UTC (NERSC: −480/−420). */
  slurmUtcOffsetMin?: number;
}

/** Slurm time limits: [D-]HH:MM:SS, MM:SS or minutes; "UNLIMITED" has no bound (null). */
export function parseSlurmDuration(text: string): number | null {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text.trim());
  if (m)
    return (Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  if (/^\d+$/.test(text.trim())) return Number(text) * 60;
  return null;
}

/** NERSC Superfacility API v1.2: /status/{name}, /status/outages/planned/{name}, /compute/jobs/{name}. */
export class NerscSfApiAdapter implements FacilityAdapter {
  readonly id: string;
  readonly source = 'nersc-sfapi' as const;
  readonly systems;

  constructor(private readonly o: NerscSfApiOptions) {
    this.id = `nersc-sfapi:${o.baseUrl}`;
    this.systems = o.systems.map((s) => ({
      system: s.system,
      name: s.name,
      facility: 'NERSC' as const,
    }));
  }

  async read(now: number): Promise<SystemReading[]> {
    const timeoutMs = this.o.timeoutMs ?? 5000;
    const base = this.o.baseUrl.replace(/\/+$/, '');
    const token = typeof this.o.token === 'function' ? this.o.token() : this.o.token;
    return Promise.all(
      this.o.systems.map(async (s) => {
        const [status, outages, jobs] = await Promise.all([
          fetchJson(`${base}/status/${encodeURIComponent(s.system)}`, NerscStatus, { timeoutMs }),
          fetchJson(
            `${base}/status/outages/planned/${encodeURIComponent(s.system)}`,
            z.array(NerscOutage),
            { timeoutMs },
          ),
          token
            ? fetchJson(`${base}/compute/jobs/${encodeURIComponent(s.system)}`, Jobs, {
                timeoutMs,
                token,
              })
            : Promise.resolve(null),
        ]);
        if (isNotModified(status) || isNotModified(outages) || isNotModified(jobs))
          throw new SourceError('unexpected HTTP 304');
        const windows: PlannedWindow[] = outages
          .filter((o) => o.status !== 'Cancelled' && o.status !== 'Completed')
          .map((o) => ({
            start: isoMs(o.start_at, 'start_at'),
            end: o.end_at ? isoMs(o.end_at, 'end_at') : null,
            description: o.description ?? 'planned outage',
          }))
          .filter((w) => w.end === null || w.end > now)
          .sort((a, b) => a.start - b.start);
        const reading: SystemReading = {
          system: s.system,
          name: s.name,
          facility: 'NERSC',
          source: 'nersc-sfapi',
          status: (
            { active: 'up', degraded: 'degraded', unavailable: 'down', other: 'unknown' } as const
          )[status.status],
          since: status.updated_at ? isoMs(status.updated_at, 'updated_at') : null,
          windows,
        };
        if (jobs) {
          if (jobs.status === 'ERROR') throw new SourceError(`jobs: ${jobs.error ?? 'ERROR'}`);
          Object.assign(reading, this.queueOf(jobs.output ?? [], s.totalNodes, now));
        }
        return reading;
      }),
    );
  }

  private queueOf(rows: z.infer<typeof SqueueRow>[], totalNodes: number, now: number) {
    const offsetMs = (this.o.slurmUtcOffsetMin ?? 0) * 60_000;
    const slurmMs = (text: string, field: string) => {
      const zoned = /[zZ]|[+-]\d\d:?\d\d$/.test(text);
      return isoMs(zoned ? text : `${text}Z`, field) - (zoned ? 0 : offsetMs);
    };
    const runningJobs: StartedJob[] = [];
    const queuedJobs: SeenQueuedJob[] = [];
    for (const r of rows) {
      const walltimeS = parseSlurmDuration(r.time_limit) ?? 0;
      const base = {
        id: r.jobid,
        queue: r.qos ?? r.partition ?? null,
        nodes: Number(r.nodes),
        walltimeS,
      };
      if (r.state === 'RUNNING' && r.start_time && r.start_time !== 'N/A') {
        runningJobs.push({
          ...base,
          submit: slurmMs(r.submit_time, 'submit_time') / 1000,
          start: slurmMs(r.start_time, 'start_time') / 1000,
        });
      } else if (r.state === 'PENDING') {
        queuedJobs.push({ ...base, submit: slurmMs(r.submit_time, 'submit_time') / 1000 });
      }
    }
    return queueReadingFrom(runningJobs, queuedJobs, totalNodes, now);
  }
}

/** Queue depth and job-by-job state from job lists (shared by the Slurm and ALCF adapters). */
export function queueReadingFrom(
  runningJobs: StartedJob[],
  queuedJobs: SeenQueuedJob[],
  totalNodes: number,
  now: number,
): Pick<SystemReading, 'queue' | 'queueState' | 'runningJobs' | 'queuedJobs'> {
  const busy = runningJobs.reduce((s, j) => s + j.nodes, 0);
  return {
    queue: {
      running: runningJobs.length,
      queued: queuedJobs.length,
      queuedNodeHours: queuedJobs.reduce((s, j) => s + (j.nodes * j.walltimeS) / 3600, 0),
      freeNodes: Math.max(totalNodes - busy, 0),
      totalNodes,
    },
    queueState: {
      now: now / 1000,
      totalNodes,
      running: runningJobs.map((j) => ({ nodes: j.nodes, start: j.start, walltimeS: j.walltimeS })),
      queued: [...queuedJobs]
        .sort((a, b) => a.submit - b.submit)
        .map((j) => ({ nodes: j.nodes, submit: j.submit, walltimeS: j.walltimeS })),
    },
    runningJobs,
    queuedJobs,
  };
}
