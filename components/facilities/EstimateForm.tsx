'use client';

import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { testIds } from '@/lib/testIds';
import { useFacilitiesStore } from '@/stores/StoreProvider';
import { useFacilityApi } from './useFacilityApi';

const input =
  'w-24 rounded border border-edge bg-surface px-2 py-1 text-right font-mono text-sm focus:border-info';

/** A typical beamline reconstruction: 8 nodes for an hour, 50 GB of projections to move. */
const INITIAL = { nodes: 8, minutes: 60, gigabytes: 50 };

/**
 * A job shape (nodes, walltime, data to move) for which the gateway ranks the systems. Runs once
 * on arrival so a recommendation is on screen without a click.
 */
export function EstimateForm() {
  const api = useFacilityApi();
  const store = useFacilitiesStore();
  const [nodes, setNodes] = useState(String(INITIAL.nodes));
  const [minutes, setMinutes] = useState(String(INITIAL.minutes));
  const [gigabytes, setGigabytes] = useState(String(INITIAL.gigabytes));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const estimate = useCallback(
    async (shape: { nodes: number; minutes: number; gigabytes: number }) => {
      setBusy(true);
      const r = await api.estimate({
        nodes: Math.round(shape.nodes),
        walltime: Math.round(shape.minutes * 60),
        dataBytes: Math.round(shape.gigabytes * 1e9),
      });
      setBusy(false);
      if (r.ok) {
        setError(null);
        store.getState().setRecommendation(r.value);
      } else setError(r.error);
    },
    [api, store],
  );

  useEffect(() => {
    void estimate(INITIAL);
  }, [estimate]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void estimate({
      nodes: Number(nodes),
      minutes: Number(minutes),
      gigabytes: Number(gigabytes),
    });
  };

  return (
    <form
      data-testid={testIds.estimateForm}
      onSubmit={submit}
      className="flex flex-wrap items-end gap-3"
    >
      <label className="flex flex-col text-xs text-muted">
        nodes
        <span className="flex items-center gap-1">
          <input
            data-testid={testIds.estimateField('nodes')}
            type="number"
            min={1}
            max={10_000}
            step={1}
            required
            value={nodes}
            onChange={(e) => setNodes(e.target.value)}
            className={input}
          />
        </span>
      </label>
      <label className="flex flex-col text-xs text-muted">
        walltime
        <span className="flex items-center gap-1">
          <input
            data-testid={testIds.estimateField('walltime')}
            type="number"
            min={1}
            max={7 * 24 * 60}
            step={1}
            required
            value={minutes}
            onChange={(e) => setMinutes(e.target.value)}
            className={input}
          />
          <span className="text-sm">min</span>
        </span>
      </label>
      <label className="flex flex-col text-xs text-muted">
        data to move
        <span className="flex items-center gap-1">
          <input
            data-testid={testIds.estimateField('data')}
            type="number"
            min={0}
            step="any"
            required
            value={gigabytes}
            onChange={(e) => setGigabytes(e.target.value)}
            className={input}
          />
          <span className="text-sm">GB</span>
        </span>
      </label>
      <button
        type="submit"
        data-testid={testIds.estimateSubmit}
        disabled={busy}
        className="rounded border border-info/60 bg-info/10 px-3 py-1 text-sm text-info hover:bg-info/20 disabled:opacity-40"
      >
        {busy ? 'Estimating…' : 'Estimate and rank'}
      </button>
      {error ? (
        <p role="alert" className="w-full text-sm text-bad">
          {error}
        </p>
      ) : null}
    </form>
  );
}
