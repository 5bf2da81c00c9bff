'use client';

import Link from 'next/link';
import { useEffect, useMemo, useRef, useState } from 'react';
import { PLANES, type StreamKey, streamKey } from '@/lib/protocol';
import { autoWindow, type DisplayWindow } from '@/lib/imaging/windowLevel';
import { testIds } from '@/lib/testIds';
import { useLiveClient, useRuns } from '@/stores/StoreProvider';
import { DrawStats } from '@/components/viewer/DrawStats';
import { SliceView } from '@/components/viewer/SliceView';
import { RunStateChip } from './RunStateChip';

const STATS_REFRESH_MS = 500;

/** The live run: three orthogonal slices, their rates and latency, and the display window. */
export function RunPage({ runId }: { runId: string }) {
  const live = useLiveClient();
  const run = useRuns((s) => s.runs[runId]);
  const loaded = useRuns((s) => s.loaded);
  const stats = useMemo(() => new DrawStats(), []);
  const windowRef = useRef<DisplayWindow | null>(null);
  const [window, setWindow] = useState<DisplayWindow | null>(null);
  const [figures, setFigures] = useState<{ fps: Record<string, number>; latency: number | null }>({
    fps: {},
    latency: null,
  });

  useEffect(() => live.watch(runId), [live, runId]);

  const applyWindow = (w: DisplayWindow) => {
    windowRef.current = w;
    setWindow(w);
  };
  const auto = () => {
    const latest = live.frames.get(runId, streamKey('full', 'xy'));
    if (latest) applyWindow(autoWindow(latest.frame.pixels));
  };

  // Until the user sets a window: take the producer's stated range, else auto-contrast, on the first frame.
  useEffect(() => {
    const timer = setInterval(() => {
      const now = performance.now();
      setFigures({
        fps: Object.fromEntries(PLANES.map((p) => [p, stats.fps(p, now)])),
        latency: stats.medianLatency(now),
      });
      if (!windowRef.current) {
        const latest = live.frames.get(runId, streamKey('full', 'xy') as StreamKey);
        if (latest) {
          const range = latest.frame.header.range;
          applyWindow(range ? { min: range[0], max: range[1] } : autoWindow(latest.frame.pixels));
        }
      }
    }, STATS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [live, runId, stats]);

  if (loaded && !run) {
    return (
      <p className="text-muted">
        No run <span className="font-mono">{runId}</span>.{' '}
        <Link href="/" className="text-info underline">
          All runs
        </Link>
      </p>
    );
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">{run?.title ?? runId}</h1>
        {run ? <RunStateChip state={run.state} /> : null}
        {run?.sample ? <span className="text-sm text-muted">{run.sample}</span> : null}
        {run && !run.producerConnected ? (
          <span className="text-sm text-warn">
            consumer disconnected — waiting for it to dial back in
          </span>
        ) : null}
        <span className="ml-auto text-sm text-muted" data-testid={testIds.latency}>
          latency publish → draw:{' '}
          <span className="font-mono text-white">
            {figures.latency === null ? '—' : `${Math.round(figures.latency)} ms`}
          </span>
        </span>
      </div>

      <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
        {PLANES.map((plane) => (
          <div key={plane} className="rounded-lg border border-edge bg-panel p-2">
            <SliceView
              run={runId}
              plane={plane}
              frames={live.frames}
              windowRef={windowRef}
              stats={stats}
            />
            <div
              className="mt-1 text-right text-xs text-muted"
              data-testid={testIds.sliceFps(plane)}
            >
              {(figures.fps[plane] ?? 0).toFixed(1)} fps
            </div>
          </div>
        ))}
      </div>

      <WindowControls window={window} onChange={applyWindow} onAuto={auto} />
    </div>
  );
}

function WindowControls({
  window,
  onChange,
  onAuto,
}: {
  window: DisplayWindow | null;
  onChange(w: DisplayWindow): void;
  onAuto(): void;
}) {
  if (!window) return <p className="text-sm text-muted">Waiting for the first frame…</p>;
  const set = (which: 'min' | 'max', value: number) => {
    if (!Number.isFinite(value)) return;
    const next = { ...window, [which]: value };
    if (next.max > next.min) onChange(next);
  };
  return (
    <div className="flex flex-wrap items-center gap-4 rounded-lg border border-edge bg-panel px-4 py-2 text-sm">
      <span className="text-muted">Window</span>
      <label className="flex items-center gap-2">
        min
        <input
          data-testid={testIds.windowMin}
          type="number"
          value={Math.round(window.min)}
          onChange={(e) => set('min', e.target.valueAsNumber)}
          className="w-24 rounded border border-edge bg-surface px-2 py-1 font-mono"
        />
      </label>
      <label className="flex items-center gap-2">
        max
        <input
          data-testid={testIds.windowMax}
          type="number"
          value={Math.round(window.max)}
          onChange={(e) => set('max', e.target.valueAsNumber)}
          className="w-24 rounded border border-edge bg-surface px-2 py-1 font-mono"
        />
      </label>
      <button
        type="button"
        data-testid={testIds.autoContrast}
        onClick={onAuto}
        className="rounded border border-edge px-3 py-1 hover:bg-white/10"
        title="Auto contrast from the 0.5–99.5 % percentiles (A)"
      >
        Auto
      </button>
    </div>
  );
}
