import type { FacilityId, PlannedWindow } from '@/lib/protocol';
import type {
  FacilityAdapter,
  JobState,
  JobSubmission,
  JobSubmitter,
  SeenQueuedJob,
  StartedJob,
  SystemReading,
} from '../adapters/FacilityAdapter';
import { SourceError } from '../adapters/fetchJson';
import type { IriJob } from '../adapters/IriAdapter';
import { queueReadingFrom } from '../adapters/NerscSfApiAdapter';
import type { SlurmJob, SlurmReservation } from './slurmApi';
import { SlurmRestClient, type SlurmRestClientOptions } from './SlurmRestClient';
import { slurmJobScript } from './slurmJobScript';

/** One system of a Slurm cluster: its partitions (all of the cluster's when omitted). */
export interface SlurmSystem {
  /** Our id, e.g. `beamline-cluster`. */
  system: string;
  /** Human name, e.g. "Beamline cluster". */
  name: string;
  /** Partitions that make up the system; the first takes jobs whose spec names no queue. */
  partitions?: string[];
}

/** How a job Loupe submits runs at this site. */
export interface SlurmJobProfile {
  /** Working directory of the job (must exist on the compute node). */
  directory: string;
  /** stdout / stderr paths, Slurm patterns allowed (`%j` is the job id); writable by the job user. */
  stdout?: string;
  stderr?: string;
  account?: string;
  /** Where jobs go when the spec names no queue; the system's first partition otherwise. */
  partition?: string;
  qos?: string;
  /** Slurm `--constraint`, e.g. `gpu`. */
  constraints?: string;
  /** Jobs own their nodes (sbatch --exclusive): a reconstruction wants every GPU of a node. */
  exclusive?: boolean;
  /**
   * What each executable a job spec may name runs here, as an argv prefix; the spec's arguments
   * follow. E.g. `loupe-recon` → `[node, --import, tsx, consumers/recon/main.ts, --gateway, URL]`.
   * An executable not listed is refused.
   */
  commands: Record<string, string[]>;
  /** Environment every job gets (PATH, HOME, …); the spec's environment is added over it. */
  environment?: Record<string, string>;
}

export interface SlurmAdapterOptions {
  facility: FacilityId;
  systems: SlurmSystem[];
  /** A client, or what to build one from. */
  client: SlurmRestClient | SlurmRestClientOptions;
  job: SlurmJobProfile;
  /** Told about every dropped list entry (a job, node or reservation that did not parse). */
  report?: (message: string) => void;
}

/** A PSI/J job spec (IRI's JobSpec, as far as a Slurm site reads it). */
export interface SlurmJobSpec {
  name?: string;
  executable?: string;
  arguments?: string[];
  resources: { node_count: number };
  attributes: {
    duration: number;
    queue_name?: string;
    account?: string;
    /** `qos` and `constraint` (or `constraints`) are read; others are refused by no one. */
    custom_attributes?: Record<string, string>;
  };
  /** Working directory and output paths; the profile's when absent. */
  directory?: string;
  stdout_path?: string;
  stderr_path?: string;
  /** PSI/J `environment`: added over the profile's (a run-scoped token goes here). */
  environment?: Record<string, string>;
}

/** Node states (base or flag) in which a node takes no new work. */
const UNAVAILABLE = new Set([
  'DOWN',
  'DRAIN',
  'DRAINED',
  'DRAINING',
  'FAIL',
  'FAILING',
  'ERROR',
  'FUTURE',
  'INVALID',
  'INVALID_REG',
  'NOT_RESPONDING',
  'POWERED_DOWN',
  'POWER_DOWN',
  'POWERING_DOWN',
  'POWERING_UP',
  'MAINTENANCE',
  'REBOOT_ISSUED',
  'REBOOT_REQUESTED',
  'UNKNOWN',
]);
/** Partition states in which it takes no new jobs. */
const PARTITION_CLOSED = new Set(['DOWN', 'DRAIN', 'INACTIVE']);

const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * A Slurm cluster read and driven through slurmrestd: status from ping, nodes and partitions
 * (maintenance reservations as planned windows), queue depth and the scheduler's own start
 * estimates from the job list, and submission and job state for resubmitted runs — the job API
 * answering in IRI's job model so the resubmitter follows it like any other site's.
 */
export class SlurmAdapter implements FacilityAdapter {
  readonly id: string;
  readonly source = 'slurm' as const;
  readonly systems;
  readonly client: SlurmRestClient;
  /** Entries the last read dropped, with why. */
  dropped: string[] = [];
  /** The scheduler's expected start (epoch s) of each pending job, as of the last read. */
  private readonly expected = new Map<string, number>();

  constructor(private readonly o: SlurmAdapterOptions) {
    this.client = o.client instanceof SlurmRestClient ? o.client : new SlurmRestClient(o.client);
    this.id = `slurm:${o.systems.map((s) => s.system).join(',')}`;
    this.systems = o.systems.map((s) => ({
      system: s.system,
      name: s.name,
      facility: o.facility,
    }));
  }

  async read(now: number): Promise<SystemReading[]> {
    const c = this.client;
    const [pings, nodes, partitions, jobs, reservations] = await Promise.all([
      c.ping(),
      c.nodes(),
      c.partitions(),
      c.jobs(),
      // A site that hides reservations still has a status and a queue.
      c.reservations().catch((error: unknown) => ({
        items: [] as SlurmReservation[],
        dropped: [`reservations unreadable: ${(error as Error).message}`],
      })),
    ]);
    this.dropped = [
      ...pings.dropped,
      ...nodes.dropped,
      ...partitions.dropped,
      ...jobs.dropped,
      ...reservations.dropped,
    ];
    for (const d of this.dropped) this.o.report?.(`${this.id}: dropped ${d}`);
    const nowS = now / 1000;
    this.expected.clear();
    for (const j of jobs.items)
      if (j.state === 'PENDING' && j.start !== null && j.start > nowS)
        this.expected.set(j.id, j.start);

    const responding = pings.items.some((p) => p.responding);
    return this.o.systems.map((s) => {
      const wanted = s.partitions?.length ? new Set(s.partitions) : null;
      const inSystem = (names: string[]) => !wanted || names.some((n) => wanted.has(n));
      const myPartitions = partitions.items.filter((p) => !wanted || wanted.has(p.name));
      const myNodes = nodes.items.filter((n) => inSystem(n.partitions));
      const myJobs = jobs.items.filter((j) => inSystem(j.partitions));
      const windows = maintenanceWindows(reservations.items, wanted, nowS);

      const available = myNodes.filter((n) => !n.states.some((x) => UNAVAILABLE.has(x)));
      const closed =
        myPartitions.length > 0 &&
        myPartitions.every((p) => p.states.some((x) => PARTITION_CLOSED.has(x)));
      let status: SystemReading['status'];
      if (!responding || closed || myNodes.length === 0 || available.length === 0) status = 'down';
      else if (available.length < myNodes.length) status = 'degraded';
      else status = 'up';
      // A maintenance reservation over every node now: Slurm keeps the nodes "up", the site is not.
      const active = windows.find((w) => w.start <= now && (w.end === null || w.end > now));
      const allReserved = reservations.items.some(
        (r) =>
          r.flags.includes('MAINT') &&
          r.start <= nowS &&
          (r.end === null || r.end > nowS) &&
          (r.flags.includes('ALL_NODES') || (r.nodeCount ?? 0) >= myNodes.length),
      );
      if (active && allReserved) status = 'down';

      const runningJobs: StartedJob[] = [];
      const queuedJobs: SeenQueuedJob[] = [];
      for (const j of myJobs) {
        const queue = j.partitions[0] ?? null;
        const walltimeS = j.timeLimitS ?? 0;
        if (j.state === 'RUNNING' && j.submit !== null && j.start !== null)
          runningJobs.push({
            id: j.id,
            queue,
            nodes: j.nodes,
            walltimeS,
            submit: j.submit,
            start: j.start,
          });
        else if (j.state === 'PENDING' && j.submit !== null)
          queuedJobs.push({ id: j.id, queue, nodes: j.nodes, walltimeS, submit: j.submit });
      }
      // Nodes listed, else the partitions' count; a snapshot's totalNodes must be positive.
      const totalNodes =
        myNodes.length || myPartitions.reduce((sum, p) => sum + (p.totalNodes ?? 0), 0) || 1;
      const q = queueReadingFrom(runningJobs, queuedJobs, totalNodes, now);
      // Free is what the nodes say: idle and available (a job's node count hides shared nodes).
      q.queue!.freeNodes = available.filter((n) => n.states[0] === 'IDLE').length;
      return {
        system: s.system,
        name: s.name,
        facility: this.o.facility,
        source: 'slurm' as const,
        status,
        since: null,
        windows,
        ...q,
      };
    });
  }

  /**
   * The job API in the service's terms: a resubmission's JobSubmission in, the facility's JobState
   * out (Slurm's own start estimate included), by way of the PSI/J spec below.
   */
  readonly jobs: JobSubmitter = {
    submitJob: async (system: string, job: JobSubmission): Promise<JobState> =>
      this.toJobState(
        await this.submitJob(system, {
          name: job.name,
          executable: job.executable,
          arguments: job.arguments,
          resources: { node_count: job.nodes },
          attributes: {
            duration: job.walltimeS,
            ...(job.queue && { queue_name: job.queue }),
            ...(job.account && { account: job.account }),
            ...(job.customAttributes && { custom_attributes: job.customAttributes }),
          },
          ...(job.directory && { directory: job.directory }),
          ...(job.stdoutPath && { stdout_path: job.stdoutPath }),
          ...(job.stderrPath && { stderr_path: job.stderrPath }),
          ...(job.environment && { environment: job.environment }),
        }),
      ),
    jobStatus: async (system: string, jobId: string): Promise<JobState> => {
      this.systemOf(system);
      const job = await this.client.job(jobId);
      if (!job) return this.toJobState(gone(jobId));
      return { ...slurmJobState(job), startEstimate: this.expectedStart(jobId) };
    },
    cancelJob: (system: string, jobId: string) => this.cancelJob(system, jobId),
  };

  private toJobState(job: IriJob): JobState {
    return {
      id: job.id,
      state: job.status?.state ?? 'new',
      message: job.status?.message ?? null,
      startEstimate: this.expectedStart(job.id),
      exitCode: job.status?.exit_code ?? null,
    };
  }

  /** The scheduler's own expected start of a pending job (epoch ms), as of the last read. */
  expectedStart(jobId: string): number | null {
    const s = this.expected.get(jobId);
    return s === undefined ? null : s * 1000;
  }

  /** Submits `spec` as a batch job running the profile's command for its executable. */
  async submitJob(system: string, spec: SlurmJobSpec): Promise<IriJob> {
    const sys = this.systemOf(system);
    const p = this.o.job;
    const exe = spec.executable ?? '';
    const prefix = p.commands[exe];
    if (!prefix) throw new SourceError(`${sys.name} has no command for executable "${exe}"`);
    // The sites file's job profile (the spec's fields) over the adapter's own defaults.
    const custom = spec.attributes.custom_attributes ?? {};
    const directory = spec.directory ?? p.directory;
    const submitted = await this.client.submit({
      name: spec.name ?? `loupe-${exe}`,
      script: slurmJobScript({ directory, argv: [...prefix, ...(spec.arguments ?? [])] }),
      nodes: spec.resources.node_count,
      walltimeS: spec.attributes.duration,
      partition: spec.attributes.queue_name ?? p.partition ?? sys.partitions?.[0],
      account: spec.attributes.account ?? p.account,
      qos: custom.qos ?? p.qos,
      constraints: custom.constraint ?? custom.constraints ?? p.constraints,
      exclusive: p.exclusive,
      directory,
      stdout: spec.stdout_path ?? p.stdout,
      stderr: spec.stderr_path ?? p.stderr,
      environment: { ...p.environment, ...spec.environment },
    });
    return {
      id: submitted.jobId,
      status: {
        state: 'new',
        time: Date.now() / 1000,
        message: submitted.message || `submitted to Slurm as job ${submitted.jobId}`,
        exit_code: null,
      },
    };
  }

  /** The job's state in IRI's terms, Slurm's reason and start estimate in the message. */
  async jobStatus(system: string, jobId: string): Promise<IriJob> {
    this.systemOf(system);
    const job = await this.client.job(jobId);
    return job ? slurmToIri(job) : gone(jobId);
  }

  async cancelJob(system: string, jobId: string): Promise<void> {
    this.systemOf(system);
    await this.client.cancel(jobId);
  }

  private systemOf(system: string): SlurmSystem {
    const s = this.o.systems.find((x) => x.system === system);
    if (!s) throw new SourceError(`${system} is not a system of ${this.id}`);
    return s;
  }
}

/** Maintenance reservations not yet over, as planned windows (epoch ms). */
function maintenanceWindows(
  reservations: SlurmReservation[],
  partitions: Set<string> | null,
  nowS: number,
): PlannedWindow[] {
  return reservations
    .filter((r) => r.flags.includes('MAINT'))
    .filter((r) => !partitions || r.partition === null || partitions.has(r.partition))
    .filter((r) => r.end === null || r.end > nowS)
    .map((r) => ({
      start: r.start * 1000,
      end: r.end === null ? null : r.end * 1000,
      description: `maintenance reservation ${r.name}${r.nodeList ? ` on ${r.nodeList}` : ''}`,
    }))
    .sort((a, b) => a.start - b.start);
}

/** A job slurmctld no longer lists: it ended longer ago than its MinJobAge. */
function gone(jobId: string): IriJob {
  return {
    id: jobId,
    status: {
      state: 'completed',
      time: Date.now() / 1000,
      message: 'no longer known to slurmctld (ended longer ago than its MinJobAge)',
      exit_code: null,
    },
  };
}

/**
 * A Slurm job as the job API's JobState: PSI/J's state and Slurm's message (slurmToIri), with
 * Slurm's own state word (TIMEOUT, NODE_FAIL, OUT_OF_MEMORY …) and its start and end times.
 */
export function slurmJobState(job: SlurmJob): JobState {
  const iri = slurmToIri(job);
  const ended = ['completed', 'failed', 'canceled'].includes(iri.status!.state);
  return {
    id: job.id,
    state: iri.status!.state,
    facilityState: job.state,
    message: iri.status!.message ?? null,
    startEstimate: null,
    exitCode: job.exitCode,
    startedAt: job.state === 'PENDING' || job.start === null ? null : job.start * 1000,
    endedAt: ended && job.end !== null ? job.end * 1000 : null,
  };
}

/** Slurm's job state as the PSI/J states IRI uses, with what Slurm says about it. */
export function slurmToIri(job: SlurmJob): IriJob {
  const at = (s: number | null) => s ?? Date.now() / 1000;
  const reason = job.reason ? ` (${job.reason})` : '';
  let state: NonNullable<IriJob['status']>['state'];
  let message: string;
  let time: number;
  switch (job.state) {
    case 'PENDING':
      state = job.reason?.startsWith('JobHeld') ? 'held' : 'queued';
      message =
        `pending${reason}` +
        (job.start !== null ? `; Slurm expects it to start at ${iso(job.start)}` : '');
      time = at(job.submit);
      break;
    case 'RUNNING':
      state = 'active';
      message = job.flags.includes('COMPLETING')
        ? 'ending (COMPLETING: its processes are being stopped)'
        : `running on ${job.nodes} node${job.nodes === 1 ? '' : 's'}`;
      time = at(job.start);
      break;
    case 'SUSPENDED':
      state = 'held';
      message = `suspended${reason}`;
      time = at(job.start);
      break;
    case 'COMPLETED':
      state = 'completed';
      message = `completed, exit code ${job.exitCode ?? 0}`;
      time = at(job.end);
      break;
    case 'CANCELLED':
      state = 'canceled';
      message = `cancelled${reason}${job.signal ? ` (${job.signal})` : ''}`;
      time = at(job.end);
      break;
    case 'TIMEOUT':
      state = 'failed';
      message = `walltime reached${reason}`;
      time = at(job.end);
      break;
    default:
      state = 'failed';
      message = `${job.state.toLowerCase().replace(/_/g, ' ')}${reason}${
        job.exitCode !== null ? `, exit code ${job.exitCode}` : ''
      }${job.signal ? `, ${job.signal}` : ''}`;
      time = at(job.end);
  }
  return {
    id: job.id,
    status: { state, time, message, exit_code: job.exitCode },
  };
}
