'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { PLANES } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useLiveClient } from '@/components/live/LiveClientProvider';
import { useRuns, useSession } from '@/stores/StoreProvider';
import { canSteer } from '@/stores/sessionStore';
import { createViewerStore, useViewerStore } from '@/stores/viewerStore';
import { LazyRunMetricsPanel } from '@/components/charts/LazyRunMetricsPanel';
import { LinkStatus } from '@/components/live/LinkStatus';
import { DrawStats } from '@/components/viewer/DrawStats';
import { HistogramPanel } from '@/components/viewer/HistogramPanel';
import { SliceView } from '@/components/viewer/SliceView';
import { useDisplayWindow } from '@/components/viewer/useDisplayWindow';
import { useViewerShortcuts } from '@/components/viewer/useViewerShortcuts';
import { ViewerToolbar } from '@/components/viewer/ViewerToolbar';
import { VolumePanel } from '@/components/viewer/VolumePanel';
import { LazyVolumeView } from '@/components/viewer/LazyVolumeView';
import { ExportPanel } from '@/components/measure/ExportPanel';
import { MeasureOverlay } from '@/components/measure/MeasureOverlay';
import { MeasurePanel } from '@/components/measure/MeasurePanel';
import { useMeasureTools } from '@/components/measure/useMeasureTools';
import { CopyViewLink } from '@/components/viewer/CopyViewLink';
import { useValueMeta } from '@/components/viewer/useValueMeta';
import { usePlanePositions } from '@/components/viewer/usePlanePositions';
import { initialViewState, useViewStateUrl } from '@/components/viewer/useViewStateUrl';
import type { CommandRequestInput, Region } from '@/lib/protocol';
import { ClipExport } from '@/components/timeline/ClipExport';
import { RecordedProducerHealth } from '@/components/timeline/RecordedProducerHealth';
import { Timeline } from '@/components/timeline/Timeline';
import { useTimeline } from '@/components/timeline/useTimeline';
import { jobEndedMessage } from '@/lib/runs/describeJob';
import { openResubmit } from '@/components/steering/openResubmit';
import { DisconnectBanner } from './DisconnectBanner';
import { DrawLatency, SliceFps } from './DrawFigures';
import { RunStateChip } from './RunStateChip';

/** The live run: three linked orthogonal slices, the display controls, and the run's figures. */
export function RunPage({ runId }: { runId: string }) {
  const live = useLiveClient();
  const run = useRuns((s) => s.runs[runId]);
  const loaded = useRuns((s) => s.loaded);
  const stats = useMemo(() => new DrawStats(), []);
  const store = useMemo(() => createViewerStore(), []);
  const steer = useSession((s) => canSteer(s.identity, runId));
  const view = useViewerStore(store, (s) => s.view);
  const hasRoi = useRuns((s) => s.runs[runId]?.streams.some((st) => st.key === 'roi/xy') ?? false);
  const [zoomError, setZoomError] = useState<string | null>(null);
  const zoomTo = async (region: Region) => {
    const result = await live.sendCommand(runId, { kind: 'zoom', region });
    setZoomError(result.ok ? null : result.error);
    if (result.ok) store.getState().setView('roi');
  };
  // The region's job ended (or another took over): nothing of it is left to show. Only a region
  // that was there and went: a zoom just asked for has no stream yet and must stay selected.
  const hadRoi = useRef(hasRoi);
  useEffect(() => {
    if (hadRoi.current && !hasRoi && store.getState().view === 'roi')
      store.getState().setView('full');
    hadRoi.current = hasRoi;
  }, [hasRoi, store]);

  useEffect(() => live.watch(runId), [live, runId]);
  // What the viewers draw: the live stream, or a recorded moment of it (components/timeline).
  const timeline = useTimeline(live, runId, store, run?.state);
  const frames = timeline.frames;
  useDisplayWindow(runId, frames, store);
  useViewerShortcuts(store);
  const measureTools = useMeasureTools();
  const { measures, viewports } = measureTools;
  const sendSlices = useCallback(
    (request: CommandRequestInput) => live.sendCommand(runId, request),
    [live, runId],
  );
  const planes = usePlanePositions(store, steer, sendSlices, initialViewState().positions);
  useViewStateUrl(store, planes, measureTools);
  const meta = useValueMeta(runId, frames);

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
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">{run?.title ?? runId}</h1>
        {run ? <RunStateChip state={run.state} /> : null}
        {run?.stateMessage && run.state !== 'ended' ? (
          <span data-testid={testIds.runStateMessage} role="status" className="text-sm text-muted">
            {run.stateMessage}
          </span>
        ) : null}
        {run?.sample ? <span className="text-sm text-muted">{run.sample}</span> : null}
        {run && !run.producerConnected ? (
          <span className="text-sm text-warn">
            consumer disconnected — waiting for it to dial back in
          </span>
        ) : null}
        <span className="ml-auto">
          <LinkStatus run={runId} metrics={live.metrics} display={live.display} />
        </span>
        <DrawLatency stats={stats} />
      </div>

      {run?.state === 'ended' && run.job ? (
        <div
          role="alert"
          data-testid={testIds.runJobEnded}
          className="flex items-center gap-3 rounded-lg border border-warn bg-warn/10 px-4 py-2 text-sm"
        >
          <span>{jobEndedMessage(run.job)}</span>
          {steer ? (
            <button
              type="button"
              data-testid={testIds.resubmitOpen}
              onClick={() =>
                openResubmit({
                  run: runId,
                  system: run.job!.system,
                  walltimeMin: Math.max(1, Math.round(run.job!.walltimeS / 60)),
                })
              }
              className="ml-auto rounded border border-edge px-3 py-1 hover:bg-white/10"
            >
              Resubmit…
            </button>
          ) : null}
        </div>
      ) : null}

      <DisconnectBanner metrics={live.metrics} onReconnect={() => live.reconnect()} />

      <div className="flex flex-wrap items-center gap-3 text-sm">
        <div
          role="group"
          aria-label="reconstruction shown"
          className="flex overflow-hidden rounded border border-edge"
        >
          {(['full', 'roi'] as const).map((v) => (
            <button
              key={v}
              type="button"
              data-testid={testIds.viewToggle(v)}
              aria-pressed={view === v}
              disabled={v === 'roi' && !hasRoi}
              onClick={() => store.getState().setView(v)}
              className={`px-3 py-1 disabled:opacity-40 ${view === v ? 'bg-info/20 text-white' : 'text-muted hover:bg-white/10'}`}
            >
              {v === 'full' ? 'Full view' : 'Zoomed region'}
            </button>
          ))}
        </div>
        {steer ? (
          <span className="text-xs text-muted">
            <kbd className="rounded border border-edge px-1 font-mono">shift</kbd>-drag on a
            full-view slice to zoom the reconstruction into that region
          </span>
        ) : null}
        <CopyViewLink />
        {zoomError ? (
          <span role="alert" className="text-xs text-bad">
            {zoomError}
          </span>
        ) : null}
      </div>

      <div className="grid grid-cols-1 items-start gap-3 xl:grid-cols-[minmax(0,1fr)_400px]">
        <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
          {PLANES.map((plane) => (
            <div key={plane} className="rounded-lg border border-edge bg-panel p-2">
              <SliceView
                run={runId}
                plane={plane}
                frames={frames}
                store={store}
                stats={stats}
                planes={planes}
                {...(steer && { onRegion: zoomTo })}
                viewports={viewports}
                display={live.display}
              >
                <MeasureOverlay
                  run={runId}
                  plane={plane}
                  frames={frames}
                  viewer={store}
                  measures={measures}
                  viewports={viewports}
                />
              </SliceView>
              <SliceFps stats={stats} plane={plane} />
            </div>
          ))}
          <div className="rounded-lg border border-edge bg-panel p-2">
            <LazyVolumeView
              run={runId}
              frames={frames}
              store={store}
              stats={stats}
              planes={planes}
            />
          </div>
          <div className="md:col-span-2">
            <Timeline controller={timeline} />
            <ClipExport controller={timeline} viewer={store} />
          </div>
        </div>
        <aside className="flex flex-col gap-3">
          <section className="rounded-lg border border-edge bg-panel p-3">
            <h2 className="mb-2 text-sm font-semibold">Display</h2>
            <HistogramPanel
              run={runId}
              frames={frames}
              store={store}
              unit={meta.unit}
              description={meta.description}
            />
            <div className="mt-3">
              <ViewerToolbar store={store} unit={meta.unit} range={meta.range} />
            </div>
          </section>
          <section className="rounded-lg border border-edge bg-panel p-3" aria-label="Measure">
            <h2 className="mb-2 text-sm font-semibold">Measure</h2>
            <MeasurePanel run={runId} frames={frames} viewer={store} measures={measures} />
          </section>
          <section className="rounded-lg border border-edge bg-panel p-3" aria-label="Export">
            <h2 className="mb-2 text-sm font-semibold">Export</h2>
            <ExportPanel run={runId} frames={frames} viewer={store} />
          </section>
          <section className="rounded-lg border border-edge bg-panel p-3">
            <h2 className="mb-2 text-sm font-semibold">Volume</h2>
            <VolumePanel store={store} />
          </section>
          <section className="rounded-lg border border-edge bg-panel p-3">
            <h2 className="mb-2 text-sm font-semibold">Run metrics</h2>
            <RecordedProducerHealth controller={timeline} />
            <LazyRunMetricsPanel run={runId} metrics={live.metrics} stats={stats} />
          </section>
        </aside>
      </div>
    </div>
  );
}
