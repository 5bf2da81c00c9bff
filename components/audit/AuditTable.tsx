'use client';

import { useCallback, useEffect, useState } from 'react';
import { AuditAnswer, AuditCategory, AuditEntry } from '@/lib/protocol';
import { readAnswer } from '@/lib/rest/readAnswer';
import { testIds } from '@/lib/testIds';
import { useLiveClient } from '@/components/live/LiveClientProvider';
import { useSession } from '@/stores/StoreProvider';

const OUTCOMES = ['', ...AuditEntry.shape.outcome.options] as const;
const CATEGORIES = ['', ...AuditCategory.options] as const;
const REFRESH_MS = 5000;

const OUTCOME_COLOUR: Record<string, string> = {
  denied: 'text-bad',
  failed: 'text-bad',
  rejected: 'text-bad',
  applied: 'text-ok',
  allowed: 'text-ok',
};

/** The audit log with filters; refreshes every few seconds while open. */
export function AuditTable() {
  const live = useLiveClient();
  const identity = useSession((s) => s.identity);
  const [filters, setFilters] = useState({
    subject: '',
    run: '',
    action: '',
    outcome: '',
    category: '',
  });
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== ''));
    const answer = await readAnswer(await live.api(`/api/audit?${query}`), AuditAnswer);
    if (answer.ok) {
      setEntries(answer.data.entries);
      setError(null);
    } else setError(answer.error);
  }, [live, filters]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const field = (name: 'subject' | 'run' | 'action', placeholder: string) => (
    <input
      data-testid={testIds.auditFilter(name)}
      placeholder={placeholder}
      aria-label={name}
      value={filters[name]}
      onChange={(e) => setFilters({ ...filters, [name]: e.target.value })}
      className="rounded border border-edge bg-surface px-2 py-1 text-sm"
    />
  );

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        {field('subject', 'who')}
        {field('run', 'run')}
        {field('action', 'action, e.g. command:zoom')}
        <select
          data-testid={testIds.auditFilter('outcome')}
          aria-label="outcome"
          value={filters.outcome}
          onChange={(e) => setFilters({ ...filters, outcome: e.target.value })}
          className="rounded border border-edge bg-surface px-2 py-1 text-sm"
        >
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o || 'any outcome'}
            </option>
          ))}
        </select>
        <select
          data-testid={testIds.auditFilter('category')}
          aria-label="category"
          value={filters.category}
          onChange={(e) => setFilters({ ...filters, category: e.target.value })}
          className="rounded border border-edge bg-surface px-2 py-1 text-sm"
        >
          {CATEGORIES.map((c) => (
            <option key={c} value={c}>
              {c || 'any category'}
            </option>
          ))}
        </select>
        {identity?.role === 'scientist' ? (
          <span className="text-xs text-muted">showing your actions and your runs</span>
        ) : null}
      </div>
      {error ? <p className="text-bad">{error}</p> : null}
      {entries ? (
        <table data-testid={testIds.auditTable} className="w-full text-left text-sm">
          <thead className="text-xs text-muted">
            <tr>
              <th className="py-1">time</th>
              <th>who</th>
              <th>role</th>
              <th>run</th>
              <th>action</th>
              <th>outcome</th>
              <th>count</th>
              <th>reason</th>
              <th>request (allow-listed summary)</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-edge">
            {entries.map((e) => (
              <tr key={e.id} data-outcome={e.outcome}>
                <td className="py-1 font-mono text-xs whitespace-nowrap">
                  {new Date(e.at).toLocaleString()}
                </td>
                <td>{e.subject}</td>
                <td className="text-muted">{e.role}</td>
                <td className="font-mono">{e.run ?? '—'}</td>
                <td className="font-mono">{e.action}</td>
                <td className={OUTCOME_COLOUR[e.outcome] ?? 'text-info'}>
                  {e.outcome}
                  {e.status !== null ? <span className="text-muted"> ({e.status})</span> : null}
                </td>
                <td
                  className="font-mono"
                  title={e.category === 'refusal' ? 'refusals counted in this minute' : undefined}
                >
                  {e.count}
                  {e.hash === null ? <span className="text-muted"> (counting)</span> : null}
                </td>
                <td className="max-w-xs truncate text-xs" title={e.reason ?? undefined}>
                  {e.reason ?? ''}
                </td>
                <td
                  className="max-w-md truncate font-mono text-xs text-muted"
                  title={[
                    e.args ? JSON.stringify(e.args) : '',
                    e.idempotencyKey ? `Idempotency-Key ${e.idempotencyKey}` : '',
                    e.hash ? `row hash ${e.hash}` : '',
                  ]
                    .filter(Boolean)
                    .join('\n')}
                >
                  {e.args ? JSON.stringify(e.args) : ''}
                  {e.idempotencyKey ? ` · key ${e.idempotencyKey}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="text-muted">Loading…</p>
      )}
    </div>
  );
}
