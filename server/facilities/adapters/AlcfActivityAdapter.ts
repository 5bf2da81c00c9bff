import { z } from 'zod';
import type { PlannedWindow } from '@/lib/protocol';
import type { FacilityAdapter, SystemReading } from './FacilityAdapter';
import { fetchJson, isNotModified, parseEach, SourceError } from './fetchJson';
import { queueReadingFrom } from './NerscSfApiAdapter';

const Epoch = z.union([
  z.number(),
  z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number),
]);
const Activity = z.object({
  updated: Epoch,
  maint: z.boolean(),
  start: Epoch.nullish(),
  end: Epoch.nullish(),
  motd_info: z
    .array(z.object({ type: z.string(), message: z.string().nullish() }).passthrough())
    .nullish(),
  running: z.array(z.unknown()),
  queued: z.array(z.unknown()),
  reservation: z.array(z.unknown()).nullish(),
});
const Running = z
  .object({
    jobid: z.union([z.string(), z.number()]).transform(String),
    queue: z.string(),
    nodes: z.number().int().nonnegative(),
    starttime: Epoch,
    submittime: Epoch,
    /** Minutes. */
    walltime: z.number().nonnegative(),
  })
  .passthrough();
const Queued = z
  .object({
    jobid: z.union([z.string(), z.number()]).transform(String),
    queue: z.string(),
    nodes: z.number().int().nonnegative(),
    submittime: Epoch,
    walltime: z.number().nonnegative(),
  })
  .passthrough();
const Reservation = z
  .object({
    name: z.string(),
    queue: z.string().nullish(),
    start: Epoch,
    duration: z.number(),
  })
  .passthrough();

export interface AlcfActivityOptions {
  /** e.g. https://status.alcf.anl.gov */
  baseUrl: string;
  systems: { system: string; name: string; resource?: string; totalNodes: number | null }[];
  timeoutMs?: number;
}

/** ALCF's public queue feed, `/{machine}/activity.json`: queue depth and maintenance. */
export class AlcfActivityAdapter implements FacilityAdapter {
  readonly id: string;
  readonly source = 'alcf-activity' as const;
  readonly systems;

  constructor(private readonly o: AlcfActivityOptions) {
    this.id = `alcf-activity:${o.baseUrl}`;
    this.systems = o.systems.map((s) => ({
      system: s.system,
      name: s.name,
      facility: 'ALCF' as const,
    }));
  }

  async read(now: number): Promise<SystemReading[]> {
    const base = this.o.baseUrl.replace(/\/+$/, '');
    return Promise.all(
      this.o.systems.map(async (s) => {
        const a = await fetchJson(
          `${base}/${encodeURIComponent(s.resource ?? s.system)}/activity.json`,
          Activity,
          {
            timeoutMs: this.o.timeoutMs ?? 5000,
          },
        );
        if (isNotModified(a)) throw new SourceError('unexpected HTTP 304');
        const id = (x: unknown, i: number) =>
          typeof x === 'object' && x !== null && 'jobid' in x ? String(x.jobid) : String(i);
        const running = parseEach(a.running, Running, 'running job', id);
        const queued = parseEach(a.queued, Queued, 'queued job', id);
        const reservations = parseEach(a.reservation ?? [], Reservation, 'reservation');
        const dropped = [...running.dropped, ...queued.dropped, ...reservations.dropped];
        const windows: PlannedWindow[] = [];
        if (a.start != null && a.end != null && a.end * 1000 > now)
          windows.push({
            start: a.start * 1000,
            end: a.end * 1000,
            description:
              a.motd_info?.find((m) => m.type === 'MAINT')?.message ?? 'scheduled maintenance',
          });
        for (const r of reservations.ok) {
          if (!/maint/i.test(`${r.name} ${r.queue ?? ''}`)) continue;
          const start = r.start * 1000;
          // Reservation durations are minutes in the feed.
          const end = start + r.duration * 60_000;
          if (end > now && !windows.some((w) => w.start === start))
            windows.push({ start, end, description: `reservation ${r.name}` });
        }
        windows.sort((x, y) => x.start - y.start);
        const q = queueReadingFrom(
          running.ok.map((j) => ({
            id: j.jobid,
            queue: j.queue,
            nodes: j.nodes,
            walltimeS: j.walltime * 60,
            submit: j.submittime,
            start: j.starttime,
          })),
          queued.ok.map((j) => ({
            id: j.jobid,
            queue: j.queue,
            nodes: j.nodes,
            walltimeS: j.walltime * 60,
            submit: j.submittime,
          })),
          s.totalNodes,
          now,
        );
        return {
          system: s.system,
          name: s.name,
          facility: 'ALCF' as const,
          source: 'alcf-activity' as const,
          // The feed says only whether maintenance is on; nothing about degraded service.
          status: a.maint ? ('down' as const) : ('up' as const),
          since: null,
          windows,
          // `updated` is when ALCF last refreshed the feed: the service ages the queue by it.
          dataAt: a.updated * 1000,
          ...(dropped.length && { dropped }),
          ...q,
        };
      }),
    );
  }
}
