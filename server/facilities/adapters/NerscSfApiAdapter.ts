import { z } from 'zod';
import type { PlannedWindow } from '@/lib/protocol';
import type { FacilityAdapter, SeenQueuedJob, StartedJob, SystemReading } from './FacilityAdapter';
import { resolveToken, type TokenSource } from '../credentials/TokenProvider';
import { fetchJson, isNotModified, isoMs, lenientEnum, parseEach, SourceError } from './fetchJson';

const IsoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'not a date');
/** sfapi_client's models: every field but the name optional; a status we do not know is `other`. */
const NerscStatus = z.object({
  name: z.string(),
  full_name: z.string().nullish(),
  status: z.string(),
  updated_at: IsoDate.nullish(),
  notes: z.array(z.string()).nullish(),
});
const NERSC_STATUS: Record<string, 'up' | 'degraded' | 'down' | 'unknown'> = {
  active: 'up',
  degraded: 'degraded',
  unavailable: 'down',
  other: 'unknown',
};
/** sfapi_client's Outage: `end_at` and `status` are optional there too. */
const NerscOutage = z.object({
  name: z.string().nullish(),
  start_at: IsoDate,
  end_at: IsoDate.nullish(),
  description: z.string().nullish(),
  status: lenientEnum(
    ['Active', 'Cancelled', 'Completed', 'Extended', 'Planned'],
    'Planned',
  ).nullish(),
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
  output: z.array(z.unknown()).nullish(),
  error: z.string().nullish(),
});

export interface NerscSfApiOptions {
  /** e.g. https://api.nersc.gov/api/v1.2 */
  baseUrl: string;
  /** OAuth2 access token for /compute/jobs; without it the queue is not read. */
  token?: TokenSource;
  /** Our system ids, NERSC's machine names (`resource`) and their compute node counts. */
  systems: { system: string; name: string; resource?: string; totalNodes: number | null }[];
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
    const token = await resolveToken(this.o.token);
    return Promise.all(
      this.o.systems.map(async (s) => {
        const machine = encodeURIComponent(s.resource ?? s.system);
        const [status, outageList, jobs] = await Promise.all([
          fetchJson(`${base}/status/${machine}`, NerscStatus, { timeoutMs }),
          fetchJson(`${base}/status/outages/planned/${machine}`, z.array(z.unknown()), {
            timeoutMs,
          }),
          token
            ? fetchJson(`${base}/compute/jobs/${machine}`, Jobs, {
                timeoutMs,
                token,
              })
            : Promise.resolve(null),
        ]);
        if (isNotModified(status) || isNotModified(outageList) || isNotModified(jobs))
          throw new SourceError('unexpected HTTP 304');
        const outages = parseEach(outageList, NerscOutage, 'outage');
        const dropped = [...outages.dropped];
        if (!(status.status in NERSC_STATUS))
          dropped.push(`status ${status.status.slice(0, 40)} not known, read as unknown`);
        const windows: PlannedWindow[] = outages.ok
          .filter((o) => o.status !== 'Cancelled' && o.status !== 'Completed')
          .map((o) => ({
            start: Date.parse(o.start_at),
            end: o.end_at ? Date.parse(o.end_at) : null,
            description: o.description ?? 'planned outage',
          }))
          .filter((w) => w.end === null || w.end > now)
          .sort((a, b) => a.start - b.start);
        const reading: SystemReading = {
          system: s.system,
          name: s.name,
          facility: 'NERSC',
          source: 'nersc-sfapi',
          status: NERSC_STATUS[status.status] ?? 'unknown',
          since: status.updated_at ? Date.parse(status.updated_at) : null,
          windows,
        };
        if (jobs) {
          if (jobs.status === 'ERROR') throw new SourceError(`jobs: ${jobs.error ?? 'ERROR'}`);
          const rows = parseEach(jobs.output ?? [], SqueueRow, 'job', (x, i) =>
            typeof x === 'object' && x !== null && 'jobid' in x ? String(x.jobid) : String(i),
          );
          dropped.push(...rows.dropped);
          Object.assign(reading, this.queueOf(rows.ok, s.totalNodes, now));
        }
        if (dropped.length) reading.dropped = dropped;
        return reading;
      }),
    );
  }

  private queueOf(rows: z.infer<typeof SqueueRow>[], totalNodes: number | null, now: number) {
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
  totalNodes: number | null,
  now: number,
): Pick<SystemReading, 'queue' | 'queueState' | 'runningJobs' | 'queuedJobs'> {
  const busy = runningJobs.reduce((s, j) => s + j.nodes, 0);
  return {
    queue: {
      running: runningJobs.length,
      queued: queuedJobs.length,
      queuedNodeHours: queuedJobs.reduce((s, j) => s + (j.nodes * j.walltimeS) / 3600, 0),
      // Unknown until a source publishes the node count (the service fills it in then).
      freeNodes: totalNodes === null ? null : Math.max(totalNodes - busy, 0),
      totalNodes,
    },
    queueState: {
      now: now / 1000,
      totalNodes: totalNodes ?? busy,
      running: runningJobs.map((j) => ({ nodes: j.nodes, start: j.start, walltimeS: j.walltimeS })),
      queued: [...queuedJobs]
        .sort((a, b) => a.submit - b.submit)
        .map((j) => ({ nodes: j.nodes, submit: j.submit, walltimeS: j.walltimeS })),
    },
    runningJobs,
    queuedJobs,
  };
}
