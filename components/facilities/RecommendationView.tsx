'use client';

import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { formatAgo, formatDuration } from './formatDuration';
import { SiteDecisionControls } from './SiteDecisionControls';
import { useFacilityNow } from './useFacilityNow';

/** After this the ranking is worth recomputing: queues move within minutes. */
const OLD_MS = 2 * 60_000;
/** Statuses the recommender ranks; a ranked system that left them since needs a new estimate. */
const RANKABLE = new Set(['up', 'degraded']);

/** The gateway's ranking for the last estimate: each system's reasons, each exclusion's. */
export function RecommendationView() {
  const { rec, names } = useFacilities((s) => ({ rec: s.recommendation, names: s.systems }));
  const now = useFacilityNow(1000);
  if (!rec) return <p className="text-sm text-muted">Estimating…</p>;
  const name = (id: string) => names[id]?.name ?? id;
  const age = now - rec.at;
  const req = rec.request;
  return (
    <div data-testid={testIds.recommendation} data-recommended={rec.recommended ?? ''}>
      <p className="mb-2 text-sm">
        {rec.recommended ? (
          <>
            Send the next job to{' '}
            <strong className="text-ok text-base">{name(rec.recommended)}</strong>
          </>
        ) : (
          <strong className="text-bad">No system can take this job now</strong>
        )}
        <span className="text-muted">
          {' '}
          · {req.nodes} nodes × {formatDuration(req.walltime)}, {(req.dataBytes / 1e9).toFixed(1)}{' '}
          GB · computed {formatAgo(age)}
        </span>
        {age > OLD_MS ? (
          <span className="text-warn"> · queues have moved since: estimate again</span>
        ) : null}
      </p>
      <ol className="space-y-2">
        {rec.ranked.map((r) => (
          <li
            key={r.system}
            data-testid={testIds.rankedSystem(r.system)}
            data-rank={r.rank}
            className={`rounded border p-2 ${r.rank === 1 ? 'border-ok/50 bg-ok/5' : 'border-edge'}`}
          >
            <div className="flex flex-wrap items-baseline gap-x-4 gap-y-1">
              <span className="font-mono text-muted">#{r.rank}</span>
              <span className="font-semibold">{name(r.system)}</span>
              {names[r.system] && !RANKABLE.has(names[r.system]!.status) ? (
                <span className="rounded border border-bad/60 px-1.5 text-xs text-bad">
                  now {names[r.system]!.status}: estimate again
                </span>
              ) : null}
              <span>
                first result in{' '}
                <span className="font-mono text-white">
                  {formatDuration(r.expectedFirstResultS)}
                </span>
              </span>
              <span className="text-xs text-muted">
                = transfer <span className="font-mono">{formatDuration(r.transferS)}</span> + wait{' '}
                <span className="font-mono">{formatDuration(r.wait.median)}</span> (95% ≤{' '}
                <span className="font-mono">{formatDuration(r.wait.bound95)}</span>) + start-up{' '}
                <span className="font-mono">{formatDuration(r.startupS)}</span>
              </span>
            </div>
            <ul className="mt-1 list-disc pl-6 text-xs text-muted">
              {r.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
      {rec.excluded.length > 0 ? (
        <div className="mt-3">
          <h3 className="mb-1 text-xs font-semibold tracking-wide text-muted uppercase">
            Excluded
          </h3>
          <ul className="space-y-1 text-sm">
            {rec.excluded.map((x) => (
              <li key={x.system} data-testid={testIds.excludedSystem(x.system)}>
                <span className="font-semibold text-bad">{name(x.system)}</span>
                <span className="text-muted">: {x.reasons.join('; ')}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <SiteDecisionControls recommended={rec.recommended} job={rec.request} />
    </div>
  );
}
