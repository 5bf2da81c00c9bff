import { z } from 'zod';
import type { FacilityId, FacilityIncident, PlannedWindow } from '@/lib/protocol';
import { resolveToken, type TokenSource } from '../credentials/TokenProvider';
import type { components as V1 } from '../iri/iriV1';
import type { components as V2 } from '../iri/iriV2';
import type {
  FacilityAdapter,
  JobState,
  JobSubmission,
  JobSubmitter,
  SystemReading,
} from './FacilityAdapter';
import { fetchJson, isNotModified, lenientEnum, parseEach, SourceError } from './fetchJson';

type Spec = V1['schemas']['JobSpec'] | V2['schemas']['JobSpec'];

const STATUS = ['up', 'down', 'degraded', 'unknown'] as const;
const IsoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'not a date');
/** v1's resource_type is an enum, v2's a URN (`urn:doe-iri:resource:compute[:child]`). */
const Resource = z
  .object({
    id: z.string(),
    name: z.string().nullish(),
    last_modified: IsoDate,
    current_status: lenientEnum(STATUS, 'unknown').nullish(),
    resource_type: z.string(),
    self_uri: z.string(),
    attributes: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();
type Resource = z.infer<typeof Resource>;
const Incident = z
  .object({
    id: z.string(),
    name: z.string().nullish(),
    description: z.string().nullish(),
    last_modified: IsoDate,
    status: lenientEnum(STATUS, 'unknown'),
    start: IsoDate,
    end: IsoDate.nullish(),
    type: z.enum(['planned', 'unplanned', 'reservation']),
    resolution: lenientEnum(
      ['unresolved', 'cancelled', 'completed', 'extended', 'pending'],
      'unresolved',
    ),
    resource_uris: z.array(z.string()),
  })
  .passthrough();
type Incident = z.infer<typeof Incident>;
const JOB_STATES = ['new', 'queued', 'held', 'active', 'completed', 'failed', 'canceled'] as const;
/** IRI's Job; `status.meta_data.start_estimate` is where a site may put its scheduler's guess. */
export const IriJob = z
  .object({
    id: z.string(),
    status: z
      .object({
        state: z.enum(JOB_STATES),
        time: z.number().nullish(),
        message: z.string().nullish(),
        exit_code: z.number().int().nullish(),
        meta_data: z.record(z.string(), z.unknown()).nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();
export type IriJob = z.infer<typeof IriJob>;

export interface IriOptions {
  /** The facility's IRI API root, without /api/vN, e.g. https://api.iri.nersc.gov */
  baseUrl: string;
  apiVersion: 'v1' | 'v2';
  facility: FacilityId;
  /** Our system ids and the resource name (or id) the facility uses, matched without case. */
  systems: { system: string; name: string; resource: string }[];
  /** Token for the job API; status endpoints need none. */
  token?: TokenSource;
  timeoutMs?: number;
  /** How far back incidents are read, ms. */
  lookbackMs?: number;
}

const DAY_MS = 86_400_000;
const COMPUTE_URN = 'urn:doe-iri:resource:compute';

/** Compute in v1's enum or any v2 compute URN, parent or child (`…:compute:gpu`). */
export function isComputeType(resourceType: string): boolean {
  return (
    resourceType === 'compute' ||
    resourceType === COMPUTE_URN ||
    resourceType.startsWith(`${COMPUTE_URN}:`)
  );
}

/** v2's `attributes.configured_node_count` (or `node_count`), when a site publishes it. */
function nodeCount(r: Resource): number | undefined {
  const a = r.attributes ?? {};
  const n = a.configured_node_count ?? a.node_count;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The last path segment of a URI, so an incident's resource link matches behind a proxy too. */
const tail = (uri: string) => uri.replace(/\/+$/, '').split('/').pop() ?? uri;

/** The DOE IRI facility API, v1 or v2: resource status, incidents (planned windows), jobs. */
export class IriAdapter implements FacilityAdapter, JobSubmitter {
  readonly id: string;
  readonly source = 'iri' as const;
  readonly systems;
  readonly jobs: JobSubmitter = this;
  private incidents: Incident[] = [];
  private incidentsModified: string | null = null;
  private resources = new Map<string, Resource>();

  constructor(private readonly o: IriOptions) {
    this.id = `iri:${o.facility}:${o.baseUrl}`;
    this.systems = o.systems.map((s) => ({ system: s.system, name: s.name, facility: o.facility }));
  }

  private get api() {
    return `${this.o.baseUrl.replace(/\/+$/, '')}/api/${this.o.apiVersion}`;
  }

  private get timeoutMs() {
    return this.o.timeoutMs ?? 5000;
  }

  async read(now: number): Promise<SystemReading[]> {
    const answer = await fetchJson(`${this.api}/status/resources`, z.array(z.unknown()), {
      timeoutMs: this.timeoutMs,
    });
    if (isNotModified(answer)) throw new SourceError('unexpected HTTP 304');
    const resources = parseEach(answer, Resource, 'resource', (x, i) =>
      typeof x === 'object' && x !== null && 'id' in x ? String(x.id) : String(i),
    );
    const dropped = [...resources.dropped];
    // Incidents change rarely: ask only for what changed since the last answer (304 otherwise).
    const from = new Date(now - (this.o.lookbackMs ?? DAY_MS)).toISOString();
    const params = new URLSearchParams({ from, limit: '1000' });
    if (this.incidentsModified) params.set('modified_since', this.incidentsModified);
    const changed = await fetchJson(
      `${this.api}/status/incidents?${params}`,
      z.array(z.unknown()),
      { timeoutMs: this.timeoutMs, allowNotModified: true },
    );
    if (!isNotModified(changed)) {
      const parsed = parseEach(changed, Incident, 'incident', (x, i) =>
        typeof x === 'object' && x !== null && 'id' in x ? String(x.id) : String(i),
      );
      dropped.push(...parsed.dropped);
      const byId = new Map(this.incidents.map((i) => [i.id, i]));
      for (const i of parsed.ok) byId.set(i.id, i);
      this.incidents = [...byId.values()].filter((i) => !i.end || Date.parse(i.end) > now - DAY_MS);
      this.incidentsModified = parsed.ok.reduce<string | null>(
        (m, i) => (m === null || Date.parse(i.last_modified) > Date.parse(m) ? i.last_modified : m),
        this.incidentsModified,
      );
    }

    const readings: SystemReading[] = [];
    for (const s of this.o.systems) {
      const want = s.resource.toLowerCase();
      const r = resources.ok.find(
        (x) =>
          isComputeType(x.resource_type) &&
          ((x.name ?? '').toLowerCase() === want || x.id.toLowerCase() === want),
      );
      if (!r) {
        // One system missing at this source is that system's problem, not its neighbours'.
        dropped.push(`no compute resource named ${s.resource}`);
        continue;
      }
      this.resources.set(s.system, r);
      // An incident names its resources by URI; follow the link (or its id, behind a proxy).
      const mine = this.incidents.filter((i) =>
        i.resource_uris.some((u) => u === r.self_uri || tail(u) === r.id),
      );
      const incidents: FacilityIncident[] = mine.map((i) => ({
        id: i.id,
        system: s.system,
        kind: i.type,
        status: i.status,
        start: Date.parse(i.start),
        end: i.end ? Date.parse(i.end) : null,
        description: i.description ?? i.name ?? i.type,
        resolution: i.resolution,
      }));
      const windows: PlannedWindow[] = incidents
        .filter(
          (i) =>
            i.kind !== 'unplanned' && i.resolution !== 'cancelled' && i.resolution !== 'completed',
        )
        .filter((i) => i.end === null || i.end > now)
        .map((i) => ({ start: i.start, end: i.end, description: i.description }))
        .sort((a, b) => a.start - b.start);
      const totalNodes = nodeCount(r);
      readings.push({
        system: s.system,
        name: s.name,
        facility: this.o.facility,
        source: 'iri' as const,
        status: r.current_status ?? 'unknown',
        since: Date.parse(r.last_modified),
        windows,
        incidents,
        ...(totalNodes !== undefined && { totalNodes }),
      });
    }
    if (readings.length === 0) throw new SourceError(dropped[0] ?? 'no compute resources');
    if (dropped.length) for (const r of readings) r.dropped = dropped;
    return readings;
  }

  /** The resource behind one of our systems (read from /status/resources on demand). */
  private async resource(system: string): Promise<Resource> {
    const known = this.resources.get(system);
    if (known) return known;
    await this.read(Date.now());
    const r = this.resources.get(system);
    if (!r) throw new SourceError(`no compute resource for ${system}`);
    return r;
  }

  /** The PSI/J JobSpec IRI takes, from Loupe's submission and the system's profile. */
  static jobSpec(job: JobSubmission): Spec {
    return {
      name: job.name,
      executable: job.executable,
      arguments: job.arguments,
      ...(job.directory && { directory: job.directory }),
      ...(job.stdoutPath && { stdout_path: job.stdoutPath }),
      ...(job.stderrPath && { stderr_path: job.stderrPath }),
      ...(job.environment &&
        Object.keys(job.environment).length && { environment: job.environment }),
      resources: { node_count: job.nodes },
      attributes: {
        duration: job.walltimeS,
        ...(job.queue && { queue_name: job.queue }),
        ...(job.account && { account: job.account }),
        ...(job.customAttributes &&
          Object.keys(job.customAttributes).length && { custom_attributes: job.customAttributes }),
      },
    };
  }

  private stateOf(job: IriJob): JobState {
    const meta = job.status?.meta_data ?? {};
    const estimate = meta.start_estimate ?? meta.estimated_start_time;
    return {
      id: job.id,
      state: job.status?.state ?? 'new',
      message: job.status?.message ?? null,
      startEstimate:
        typeof estimate === 'number'
          ? Math.round(estimate * 1000)
          : typeof estimate === 'string' && !Number.isNaN(Date.parse(estimate))
            ? Date.parse(estimate)
            : null,
      exitCode: job.status?.exit_code ?? null,
      // IRI's `status.time` is when the job entered its current state.
      ...(typeof job.status?.time === 'number' &&
        (job.status.state === 'active'
          ? { startedAt: job.status.time * 1000 }
          : ['completed', 'failed', 'canceled'].includes(job.status.state)
            ? { endedAt: job.status.time * 1000 }
            : {})),
    };
  }

  /** Submits a PSI/J job to `system`; v2 carries an Idempotency-Key so a retry submits once. */
  async submitJob(system: string, submission: JobSubmission): Promise<JobState> {
    const r = await this.resource(system);
    const headers: Record<string, string> =
      this.o.apiVersion === 'v2' ? { 'idempotency-key': submission.idempotencyKey } : {};
    const job = await fetchJson(`${this.api}/compute/job/${encodeURIComponent(r.id)}`, IriJob, {
      method: 'POST',
      body: IriAdapter.jobSpec(submission),
      token: await resolveToken(this.o.token),
      timeoutMs: this.timeoutMs,
      headers,
    });
    if (isNotModified(job)) throw new SourceError('unexpected HTTP 304');
    return this.stateOf(job);
  }

  /** A job's current status. */
  async jobStatus(system: string, jobId: string): Promise<JobState> {
    const r = await this.resource(system);
    const job = await fetchJson(
      `${this.api}/compute/status/${encodeURIComponent(r.id)}/${encodeURIComponent(jobId)}`,
      IriJob,
      { token: await resolveToken(this.o.token), timeoutMs: this.timeoutMs },
    );
    if (isNotModified(job)) throw new SourceError('unexpected HTTP 304');
    return this.stateOf(job);
  }
}
