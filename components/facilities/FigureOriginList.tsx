import type { FigureOrigins } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { formatAgo } from './formatDuration';

const FIGURES = ['status', 'windows', 'queue', 'nodes'] as const;
const LABEL: Record<(typeof FIGURES)[number], string> = {
  status: 'status',
  windows: 'windows',
  queue: 'queue',
  nodes: 'node count',
};

/**
 * Which source gave each figure of a card and when; a stale figure says why. Entries a source
 * answered malformed (and Loupe left out) are listed under it.
 */
export function FigureOriginList({
  system,
  origins,
  dropped,
  now,
}: {
  system: string;
  origins: FigureOrigins | undefined;
  dropped: string[] | undefined;
  now: number;
}) {
  if (!origins) return null;
  return (
    <div data-testid={testIds.facilityOrigins(system)} className="text-xs text-muted">
      <ul className="grid grid-cols-1 gap-0.5">
        {FIGURES.map((f) => {
          const o = origins[f];
          if (!o) return null;
          return (
            <li key={f} data-figure={f} data-stale={o.stale ? 'true' : 'false'}>
              <span className="text-fg">{LABEL[f]}</span> from {o.source}
              {o.at !== null ? `, ${formatAgo(now - o.at)}` : ''}
              {o.stale ? (
                <span className="text-amber-300"> — stale: {o.reason ?? 'no fresh reading'}</span>
              ) : null}
            </li>
          );
        })}
      </ul>
      {dropped && dropped.length > 0 ? (
        <details className="mt-1">
          <summary>
            {dropped.length} malformed {dropped.length === 1 ? 'entry' : 'entries'} left out
          </summary>
          <ul className="list-disc pl-4">
            {dropped.map((d) => (
              <li key={d}>{d}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
