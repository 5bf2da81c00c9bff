import { z } from 'zod';
import type { PlannedWindow } from '@/lib/protocol';
import type { FacilityAdapter, SystemReading } from './FacilityAdapter';
import { fetchJson, isNotModified, isoMs, SourceError } from './fetchJson';

const S3mResource = z
  .object({
    name: z.string(),
    status: z.enum(['OPERATIONAL', 'UNAVAILABLE']),
    upcomingDowntimes: z
      .array(
        z
          .object({
            start: z.string(),
            end: z.string().nullish(),
            description: z.string().nullish(),
            status: z.string().nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    retrievedAt: z.string().nullish(),
  })
  .passthrough();
const S3mStatus = z.object({ resources: z.array(S3mResource) });

export interface OlcfS3mOptions {
  /** e.g. https://s3m.olcf.ornl.gov */
  baseUrl: string;
  systems: { system: string; name: string }[];
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
    return this.o.systems.map((s) => {
      const r = answer.resources.find((x) => x.name.toLowerCase() === s.system);
      if (!r) throw new SourceError(`no resource named ${s.system}`);
      const windows: PlannedWindow[] = (r.upcomingDowntimes ?? [])
        .filter((d) => !/cancel/i.test(d.status ?? ''))
        .map((d) => ({
          start: isoMs(d.start, 'upcomingDowntimes.start'),
          end: d.end ? isoMs(d.end, 'upcomingDowntimes.end') : null,
          description: d.description ?? 'scheduled downtime',
        }))
        .filter((w) => w.end === null || w.end > now)
        .sort((a, b) => a.start - b.start);
      return {
        system: s.system,
        name: s.name,
        facility: 'OLCF' as const,
        source: 'olcf-s3m' as const,
        status: r.status === 'OPERATIONAL' ? ('up' as const) : ('down' as const),
        since: null,
        windows,
      };
    });
  }
}
