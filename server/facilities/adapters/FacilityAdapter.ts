import type {
  FacilityId,
  FacilityIncident,
  FacilitySource,
  PlannedWindow,
  QueueDepth,
} from '@/lib/protocol';
import type { QueueState } from '../queueFeatures';
import type { IriJob, IriJobSpec } from './IriAdapter';

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
}

/** Reads one source. `read` rejects with a SourceError saying why when the answer is unusable. */
export interface FacilityAdapter {
  /** Unique per configured instance, e.g. `iri:ALCF`. */
  readonly id: string;
  readonly source: FacilitySource;
  /** Systems this adapter reports on (our ids). */
  readonly systems: readonly { system: string; name: string; facility: FacilityId }[];
  read(now: number): Promise<SystemReading[]>;
}

/**
 * A source that also takes jobs (IRI's job API, slurmrestd). Jobs are described and followed in
 * IRI's terms (a PSI/J spec in, PSI/J states out) whatever the site speaks.
 */
export interface JobApi {
  submitJob(system: string, spec: IriJobSpec): Promise<IriJob>;
  jobStatus(system: string, jobId: string): Promise<IriJob>;
  cancelJob?(system: string, jobId: string): Promise<void>;
}

export function isJobApi(adapter: FacilityAdapter): adapter is FacilityAdapter & JobApi {
  const a = adapter as Partial<JobApi>;
  return typeof a.submitJob === 'function' && typeof a.jobStatus === 'function';
}
