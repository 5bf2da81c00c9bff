import type {
  FacilityId,
  FacilityIncident,
  FacilitySource,
  JobStatus,
  PlannedWindow,
  QueueDepth,
} from '@/lib/protocol';
import type { QueueState } from '../queueFeatures';

/** A job seen running, with what its wait was (epoch s). */
export interface StartedJob {
  id: string;
  queue: string | null;
  nodes: number;
  walltimeS: number;
  submit: number;
  start: number;
}

/** A queued job as seen at one poll (epoch s). */
export interface SeenQueuedJob {
  id: string;
  queue: string | null;
  nodes: number;
  walltimeS: number;
  submit: number;
}

/**
 * What one source said about one system. Every field but the identity is optional: a source says
 * what it knows (IRI has no queue depth, ALCF's feed has no degraded state), the service merges.
 */
export interface SystemReading {
  system: string;
  name: string;
  facility: FacilityId;
  source: FacilitySource;
  /** Raw availability before maintenance is derived. */
  status?: 'up' | 'degraded' | 'down' | 'unknown';
  /** When the status began, epoch ms. */
  since?: number | null;
  /** Planned windows not yet ended (epoch ms). */
  windows?: PlannedWindow[];
  incidents?: FacilityIncident[];
  queue?: QueueDepth;
  /** The queue job by job, when the source lists jobs. */
  queueState?: QueueState;
  queuedJobs?: SeenQueuedJob[];
  runningJobs?: StartedJob[];
  /** Compute nodes the source publishes (IRI v2 `configured_node_count`, Slurm's partition). */
  totalNodes?: number;
  /**
   * Entries of the answer that were malformed and left out (the rest was used), e.g.
   * "outage 3: end_at not a date". Shown with the system's freshness.
   */
  dropped?: string[];
  /**
   * When the source's own data was produced (epoch ms), when it says (ALCF's `updated`); a feed
   * that stops moving makes its figures stale even though it answers.
   */
  dataAt?: number;
}

/** The job a resubmission sends: PSI/J's JobSpec as Loupe fills it from the system's profile. */
export interface JobSubmission {
  name: string;
  executable: string;
  arguments: string[];
  nodes: number;
  /** Requested walltime, seconds. */
  walltimeS: number;
  account?: string;
  queue?: string;
  customAttributes?: Record<string, string>;
  directory?: string;
  stdoutPath?: string;
  stderrPath?: string;
  environment?: Record<string, string>;
  /** Sent as `Idempotency-Key` where the API takes one: a retry never submits twice. */
  idempotencyKey: string;
}

/** A job's state as the facility gives it. */
export interface JobState {
  /** The facility's job id. */
  id: string;
  /** PSI/J's states (IRI's JobState); a Slurm adapter maps PENDING → queued, RUNNING → active … */
  state: JobStatus;
  /** The facility's own state word (Slurm `TIMEOUT`, `NODE_FAIL`), null where it has none of its own. */
  facilityState?: string | null;
  /** The facility's own words (IRI `status.message`, Slurm's reason), or null. */
  message: string | null;
  /** The scheduler's own start estimate (epoch ms), when it publishes one. */
  startEstimate: number | null;
  exitCode: number | null;
  /** When the job started / ended (epoch ms), where the facility says. */
  startedAt?: number | null;
  endedAt?: number | null;
}

/** A source that can also run jobs (IRI's compute API, slurmrestd). Errors are SourceErrors. */
export interface JobSubmitter {
  submitJob(system: string, job: JobSubmission): Promise<JobState>;
  jobStatus(system: string, jobId: string): Promise<JobState>;
  /** Where the API can cancel (slurmrestd). */
  cancelJob?(system: string, jobId: string): Promise<void>;
}

/** Reads one source. `read` rejects with a SourceError saying why when the answer is unusable. */
export interface FacilityAdapter {
  /** Unique per configured instance, e.g. `iri:ALCF`. */
  readonly id: string;
  readonly source: FacilitySource;
  /** Systems this adapter reports on (our ids). */
  readonly systems: readonly { system: string; name: string; facility: FacilityId }[];
  read(now: number): Promise<SystemReading[]>;
  /** Present when jobs can be submitted through this source. */
  readonly jobs?: JobSubmitter;
}
