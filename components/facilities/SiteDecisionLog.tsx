'use client';

import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { formatAgo } from './formatDuration';
import { useFacilityNow } from './useFacilityNow';

/** Decisions shown below the current one. */
const SHOWN = 8;

/** The site chosen for the next job (who, when, override or not), and the decisions before it. */
export function SiteDecisionLog() {
  const { decisions, systems } = useFacilities((s) => ({
    decisions: s.decisions,
    systems: s.systems,
  }));
  // Decisions are stamped with the gateway's clock, like snapshots.
  const now = useFacilityNow(5000);
  const name = (id: string | null) => (id ? (systems[id]?.name ?? id) : 'nothing');
  const [latest, ...earlier] = decisions;
  return (
    <section className="rounded-lg border border-edge bg-panel p-3">
      <h2 className="mb-2 text-sm font-semibold tracking-wide text-muted uppercase">
        Site for the next job
      </h2>
      {latest ? (
        <p
          data-testid={testIds.siteDecision}
          data-system={latest.system}
          data-who={latest.who}
          data-override={latest.override}
          className="text-sm"
        >
          <strong className="text-base text-white">{name(latest.system)}</strong>{' '}
          <span className={latest.override ? 'text-warn' : 'text-ok'}>
            {latest.override
              ? `override of ${name(latest.recommended)}`
              : 'recommendation confirmed'}
          </span>
          <span className="block text-xs text-muted">
            by {latest.who} ({latest.role}) at {new Date(latest.at).toLocaleString()} ·{' '}
            {formatAgo(now - latest.at)}
            {latest.note ? ` · “${latest.note}”` : ''}
          </span>
        </p>
      ) : (
        <p data-testid={testIds.siteDecision} data-system="" className="text-sm text-muted">
          No decision recorded yet.
        </p>
      )}
      {earlier.length > 0 ? (
        <ul className="mt-2 space-y-0.5 border-t border-edge pt-2 text-xs text-muted">
          {earlier.slice(0, SHOWN).map((d) => (
            <li key={d.id}>
              {new Date(d.at).toLocaleString()} · {d.who}: {name(d.system)}
              {d.override ? ` (override of ${name(d.recommended)})` : ' (confirmed)'}
              {d.note ? ` · “${d.note}”` : ''}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
