'use client';

import { type FormEvent, useState } from 'react';
import { testIds } from '@/lib/testIds';
import { useFacilities, useSession } from '@/stores/StoreProvider';
import { useFacilityApi } from './useFacilityApi';

const button = 'rounded border px-3 py-1 text-sm disabled:opacity-40';

/**
 * Staff confirm the recommended site for the next job or override it (with an optional note).
 * Others see why they cannot; the gateway refuses them anyway.
 */
export function SiteDecisionControls({
  recommended,
  job,
}: {
  recommended: string | null;
  /** The job shape the recommendation was made for; the decision carries it to resubmit. */
  job?: { nodes: number; walltime: number };
}) {
  const api = useFacilityApi();
  const identity = useSession((s) => s.identity);
  const systems = useFacilities((s) => s.systems);
  const [choice, setChoice] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (identity?.role !== 'staff')
    return (
      <p className="mt-3 border-t border-edge pt-3 text-xs text-muted">
        Only staff confirm or override the site for the next job
        {identity ? ` (you are ${identity.anonymous ? 'anonymous' : `a ${identity.role}`})` : ''}.
      </p>
    );

  const others = Object.values(systems)
    .filter((s) => s.system !== recommended)
    .sort((a, b) => a.system.localeCompare(b.system));
  const decide = async (system: string) => {
    setBusy(true);
    const r = await api.decide({
      system,
      recommended,
      ...(job && { job: { nodes: job.nodes, walltime: job.walltime } }),
      ...(note.trim() && { note: note.trim() }),
    });
    setBusy(false);
    if (r.ok) {
      setError(null);
      setNote('');
      setChoice('');
    } else setError(r.error);
  };
  const override = (e: FormEvent) => {
    e.preventDefault();
    if (choice) void decide(choice);
  };

  return (
    <form onSubmit={override} className="mt-3 space-y-2 border-t border-edge pt-3 text-sm">
      <div className="flex flex-wrap items-center gap-2">
        {recommended ? (
          <button
            type="button"
            data-testid={testIds.siteConfirm}
            disabled={busy}
            onClick={() => void decide(recommended)}
            className={`${button} border-ok/60 bg-ok/10 text-ok hover:bg-ok/20`}
          >
            Confirm {systems[recommended]?.name ?? recommended}
          </button>
        ) : null}
        <span className="text-muted">or send it to</span>
        <select
          data-testid={testIds.siteOverrideChoice}
          aria-label="override: system for the next job"
          value={choice}
          onChange={(e) => setChoice(e.target.value)}
          className="rounded border border-edge bg-surface px-2 py-1"
        >
          <option value="">choose a system…</option>
          {others.map((s) => (
            <option key={s.system} value={s.system}>
              {s.name} ({s.status})
            </option>
          ))}
        </select>
        <button
          type="submit"
          data-testid={testIds.siteOverride}
          disabled={busy || !choice}
          className={`${button} border-warn/60 text-warn hover:bg-warn/10`}
        >
          Override
        </button>
      </div>
      <input
        data-testid={testIds.siteNote}
        aria-label="note for the decision"
        placeholder="note (why override?), optional"
        maxLength={500}
        value={note}
        onChange={(e) => setNote(e.target.value)}
        className="w-full rounded border border-edge bg-surface px-2 py-1"
      />
      {error ? (
        <p role="alert" className="text-bad">
          {error}
        </p>
      ) : null}
    </form>
  );
}
