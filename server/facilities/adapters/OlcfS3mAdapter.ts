import { z } from 'zod';
import type { PlannedWindow } from '@/lib/protocol';
import type { FacilityAdapter, SystemReading } from './FacilityAdapter';
import { fetchJson, isNotModified, parseEach, SourceError } from './fetchJson';

const IsoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'not a date');
const Downtime = z
  .object({
    start: IsoDate,
    end: IsoDate.nullish(),
    description: z.string().nullish(),
    status: z.string().nullish(),
  })
  .passthrough();
/**
 * S3M publishes OPERATIONAL and UNAVAILABLE; anything else (DEGRADED, a new value) is read as
 * unknown rather than rejecting the answer.
 */
const S3mResource = z
  .object({
    name: z.string(),
    status: z.string(),
    upcomingDowntimes: z.array(z.unknown()).nullish(),
    retrievedAt: IsoDate.nullish(),
  })
  .passthrough();
const S3mStatus = z.object({ resources: z.array(z.unknown()) });

export interface OlcfS3mOptions {
  /** e.g. https://s3m.olcf.ornl.gov */
  baseUrl: string;
  systems: { system: string; name: string; resource?: string }[];
  timeoutMs?: number;
}

/** OLCF S3M `/olcf/v1alpha/status`: OPERATIONAL/UNAVAILABLE and upcoming downtimes. */
export class OlcfS3mAdapter implements FacilityAdapter {
  readonly id: string;
  readonly source = 'olcf-s3m' as const;
  readonly systems;

  constructor(private readonly o: OlcfS3mOptions) {
    this.id = `olcf-s3m:${o.baseUrl}`;
    this.systems = o.systems.map((s) => ({
      system: s.system,
      name: s.name,
      facility: 'OLCF' as const,
    }));
  }

  async read(now: number): Promise<SystemReading[]> {
    const base = this.o.baseUrl.replace(/\/+$/, '');
    const answer = await fetchJson(`${base}/olcf/v1alpha/status`, S3mStatus, {
      timeoutMs: this.o.timeoutMs ?? 5000,
    });
    if (isNotModified(answer)) throw new SourceError('unexpected HTTP 304');
    const resources = parseEach(answer.resources, S3mResource, 'resource');
    const readings: SystemReading[] = [];
    const dropped = [...resources.dropped];
    for (const s of this.o.systems) {
      const want = (s.resource ?? s.system).toLowerCase();
      const r = resources.ok.find((x) => x.name.toLowerCase() === want);
      if (!r) {
        dropped.push(`no resource named ${want}`);
        continue;
      }
      const downtimes = parseEach(r.upcomingDowntimes ?? [], Downtime, `${r.name} downtime`);
      dropped.push(...downtimes.dropped);
      if (r.status !== 'OPERATIONAL' && r.status !== 'UNAVAILABLE')
        dropped.push(`${r.name}: status ${r.status.slice(0, 40)} not known, read as unknown`);
      const windows: PlannedWindow[] = downtimes.ok
        .filter((d) => !/cancel|complete/i.test(d.status ?? ''))
        .map((d) => ({
          start: Date.parse(d.start),
          end: d.end ? Date.parse(d.end) : null,
          description: d.description ?? 'scheduled downtime',
        }))
        .filter((w) => w.end === null || w.end > now)
        .sort((a, b) => a.start - b.start);
      readings.push({
        system: s.system,
        name: s.name,
        facility: 'OLCF' as const,
        source: 'olcf-s3m' as const,
        status:
          r.status === 'OPERATIONAL'
            ? ('up' as const)
            : r.status === 'UNAVAILABLE'
              ? ('down' as const)
              : ('unknown' as const),
        since: null,
        windows,
      });
    }
    if (readings.length === 0) throw new SourceError(dropped[0] ?? 'no resources');
    if (dropped.length) for (const r of readings) r.dropped = dropped;
    return readings;
  }
}
