import { z } from 'zod';
import type { FacilityId, FacilityIncident, PlannedWindow } from '@/lib/protocol';
import type { FacilityAdapter, SystemReading } from './FacilityAdapter';
import { fetchJson, isNotModified, isoMs, SourceError } from './fetchJson';

const IriStatus = z.enum(['up', 'down', 'degraded', 'unknown']);
const Resource = z
  .object({
    id: z.string(),
    name: z.string().nullish(),
    last_modified: z.string(),
    current_status: IriStatus.nullish(),
    resource_type: z.enum([
      'website',
      'service',
      'compute',
      'system',
      'storage',
      'network',
      'unknown',
    ]),
    self_uri: z.string(),
    site_uri: z.string(),
    capability_uris: z.array(z.string()),
  })
  .passthrough();
const Incident = z
  .object({
    id: z.string(),
    name: z.string().nullish(),
    description: z.string().nullish(),
    last_modified: z.string(),
    status: IriStatus,
    start: z.string(),
    end: z.string().nullish(),
    type: z.enum(['planned', 'unplanned', 'reservation']),
    resolution: z.enum(['unresolved', 'cancelled', 'completed', 'extended', 'pending']),
    self_uri: z.string(),
    event_uris: z.array(z.string()),
    resource_uris: z.array(z.string()),
  })
  .passthrough();
const JobState = z.enum(['new', 'queued', 'held', 'active', 'completed', 'failed', 'canceled']);
export const IriJob = z
  .object({
    id: z.string(),
    status: z
      .object({
        state: JobState,
        time: z.number().nullish(),
        message: z.string().nullish(),
        exit_code: z.number().int().nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();
export type IriJob = z.infer<typeof IriJob>;

/** A PSI/J JobSpec, as much of it as Loupe fills in. */
export interface IriJobSpec {
  name?: string;
  executable?: string;
  arguments?: string[];
  resources: { node_count: number };
  attributes: { duration: number; queue_name?: string; account?: string };
}

export interface IriOptions {
  /** The facility's IRI API root (without /api/v1), e.g. https://api.iri.nersc.gov */
  baseUrl: string;
  facility: FacilityId;
  /** Our system ids and the resource names the facility uses (matched without case). */
  systems: { system: string; name: string }[];
  /** Token for the job API; status endpoints need none. */
  token?: string | (() => string | null) | null;
  timeoutMs?: number;
  /** How far back incidents are read, ms. */
  lookbackMs?: number;
}

const DAY_MS = 86_400_000;

/** The DOE IRI facility API: resource status, incidents (planned windows), and the job API. */
export class IriAdapter implements FacilityAdapter {
  readonly id: string;
  readonly source = 'iri' as const;
  readonly systems;
  private incidents: z.infer<typeof Incident>[] = [];
  private incidentsModified: string | null = null;
  private resources = new Map<string, z.infer<typeof Resource>>();

  constructor(private readonly o: IriOptions) {
    this.id = `iri:${o.facility}:${o.baseUrl}`;
    this.systems = o.systems.map((s) => ({ system: s.system, name: s.name, facility: o.facility }));
  }

  private get api() {
    return `${this.o.baseUrl.replace(/\/+$/, '')}/api/v1`;
  }

  private token(): string | null {
    return (typeof this.o.token === 'function' ? this.o.token() : this.o.token) ?? null;
  }

  async read(now: number): Promise<SystemReading[]> {
    const timeoutMs = this.o.timeoutMs ?? 5000;
    const resources = await fetchJson(`${this.api}/status/resources`, z.array(Resource), {
      timeoutMs,
    });
    if (isNotModified(resources)) throw new SourceError('unexpected HTTP 304');
    // Incidents change rarely: ask only for what changed since the last answer (304 otherwise).
    const from = new Date(now - (this.o.lookbackMs ?? DAY_MS)).toISOString();
    const params = new URLSearchParams({ from, limit: '1000' });
    if (this.incidentsModified) params.set('modified_since', this.incidentsModified);
    const changed = await fetchJson(`${this.api}/status/incidents?${params}`, z.array(Incident), {
      timeoutMs,
      allowNotModified: true,
    });
    if (!isNotModified(changed)) {
      const byId = new Map(this.incidents.map((i) => [i.id, i]));
      for (const i of changed) byId.set(i.id, i);
      this.incidents = [...byId.values()].filter(
        (i) => !i.end || isoMs(i.end, 'end') > now - DAY_MS,
      );
      const latest = changed.reduce<string | null>(
        (m, i) => (m === null || Date.parse(i.last_modified) > Date.parse(m) ? i.last_modified : m),
        this.incidentsModified,
      );
      this.incidentsModified = latest;
    }

    return this.o.systems.map((s) => {
      const r = resources.find(
        (x) =>
          x.resource_type === 'compute' && (x.name ?? '').toLowerCase() === s.name.toLowerCase(),
      );
      if (!r) throw new SourceError(`no compute resource named ${s.name}`);
      this.resources.set(s.system, r);
      // An incident names its resources by URI; follow the link rather than matching ids.
      const mine = this.incidents.filter((i) => i.resource_uris.includes(r.self_uri));
      const incidents: FacilityIncident[] = mine.map((i) => ({
        id: i.id,
        system: s.system,
        kind: i.type,
        status: i.status,
        start: isoMs(i.start, 'start'),
        end: i.end ? isoMs(i.end, 'end') : null,
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
      return {
        system: s.system,
        name: s.name,
        facility: this.o.facility,
        source: 'iri' as const,
        status: r.current_status ?? 'unknown',
        since: isoMs(r.last_modified, 'last_modified'),
        windows,
        incidents,
      };
    });
  }

  /** The resource behind one of our systems (read from /status/resources on demand). */
  private async resource(system: string): Promise<z.infer<typeof Resource>> {
    const known = this.resources.get(system);
    if (known) return known;
    await this.read(Date.now());
    const r = this.resources.get(system);
    if (!r) throw new SourceError(`no compute resource for ${system}`);
    return r;
  }

  /** Submits a PSI/J job to `system`; answers the IRI Job (state `new` or `queued`). */
  async submitJob(system: string, spec: IriJobSpec): Promise<IriJob> {
    const r = await this.resource(system);
    const job = await fetchJson(`${this.api}/compute/job/${encodeURIComponent(r.id)}`, IriJob, {
      method: 'POST',
      body: spec,
      token: this.token(),
      timeoutMs: this.o.timeoutMs ?? 5000,
    });
    if (isNotModified(job)) throw new SourceError('unexpected HTTP 304');
    return job;
  }

  /** A job's current status. */
  async jobStatus(system: string, jobId: string): Promise<IriJob> {
    const r = await this.resource(system);
    const job = await fetchJson(
      `${this.api}/compute/status/${encodeURIComponent(r.id)}/${encodeURIComponent(jobId)}`,
      IriJob,
      { token: this.token(), timeoutMs: this.o.timeoutMs ?? 5000 },
    );
    if (isNotModified(job)) throw new SourceError('unexpected HTTP 304');
    return job;
  }
}
