'use client';

import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { formatCountdown, formatWhen } from './formatDuration';
import { useFacilityNow } from './useFacilityNow';

interface Row {
  key: string;
  system: string;
  kind: string;
  status: string;
  start: number;
  end: number | null;
  description: string;
  resolution: string;
}

const KIND_COLOUR: Record<string, string> = {
  planned: 'text-maint',
  unplanned: 'text-bad',
  reservation: 'text-info',
};

/**
 * Incidents the IRI sources report and every system's next planned window (ALCF's feed, S3M and
 * the SF API publish windows but no incidents), current ones first, then by start.
 */
export function IncidentList() {
  const { incidents, systems } = useFacilities((s) => ({
    incidents: s.incidents,
    systems: s.systems,
  }));
  const windows = Object.values(systems).flatMap((x) =>
    x.nextWindow ? [{ system: x.system, window: x.nextWindow }] : [],
  );
  const now = useFacilityNow(1000);
  const rows: Row[] = incidents.map((i) => ({
    key: `i-${i.system}-${i.id}`,
    system: i.system,
    kind: i.kind,
    status: i.status,
    start: i.start,
    end: i.end,
    description: i.description,
    resolution: i.resolution,
  }));
  for (const { system, window: w } of windows) {
    // The same window often comes from two sources: keep one.
    if (rows.some((r) => r.system === system && Math.abs(r.start - w.start) < 60_000)) continue;
    rows.push({
      key: `w-${system}-${w.start}`,
      system,
      kind: 'planned',
      status: 'down',
      start: w.start,
      end: w.end,
      description: w.description,
      resolution: 'pending',
    });
  }
  const current = (r: Row) => r.start <= now && (r.end === null || r.end > now);
  const list = rows
    .filter((r) => r.end === null || r.end > now - 86_400_000)
    .sort((a, b) => Number(current(b)) - Number(current(a)) || a.start - b.start);

  return (
    <section className="rounded-lg border border-edge bg-panel p-3">
      <h2 className="mb-2 text-sm font-semibold tracking-wide text-muted uppercase">
        Incidents and planned windows
      </h2>
      {list.length === 0 ? (
        <p className="text-sm text-muted">None reported in the last 24 h or announced.</p>
      ) : (
        <ul data-testid={testIds.facilityIncidents} className="divide-y divide-edge text-sm">
          {list.map((r) => {
            const live = current(r);
            return (
              <li
                key={r.key}
                data-system={r.system}
                data-kind={r.kind}
                data-current={live}
                className="py-1.5"
              >
                <div className="flex flex-wrap items-baseline gap-x-2">
                  <span className="font-mono font-semibold">{r.system}</span>
                  <span className={KIND_COLOUR[r.kind] ?? ''}>{r.kind}</span>
                  <span
                    className={`ml-auto font-mono text-xs ${live ? 'text-maint' : 'text-white'}`}
                  >
                    {live
                      ? r.end
                        ? `now · ends in ${formatCountdown(r.end - now)}`
                        : 'now · no end given'
                      : r.start > now
                        ? `starts in ${formatCountdown(r.start - now)}`
                        : 'over'}
                  </span>
                </div>
                <div className="text-xs text-muted">
                  {formatWhen(r.start)} – {r.end ? formatWhen(r.end) : 'open'} · {r.status} ·{' '}
                  {r.resolution}
                </div>
                <div className="text-xs text-muted">{r.description}</div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
