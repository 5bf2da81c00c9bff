'use client';

import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { RecordingMarker } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { SPEEDS, useTimelineStore } from '@/stores/timelineStore';
import type { TimelineController } from './TimelineController';

const MARKER_COLOURS: Record<RecordingMarker['kind'], string> = {
  command: 'bg-info',
  parameters: 'bg-warn',
  zoom: 'bg-ok',
  capture: 'bg-white',
  state: 'bg-bad',
};

/** hh:mm:ss.mmm of an epoch-ms instant, local time. */
export function clock(t: number): string {
  const d = new Date(t);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function behind(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * The run's history under the views: recorded span, markers (commands, parameter changes, zooms,
 * captures, state changes), a slider to any moment, frame steps, freeze, replay speeds and back
 * to live. Keys: ← → or , . step a frame, Space freezes, L goes live.
 */
/** How much of the recording the slider spans: seconds are findable only in a short window. */
const WINDOWS = [
  ['1 min', 60_000],
  ['10 min', 600_000],
  ['1 h', 3_600_000],
  ['all', Infinity],
] as const;

export function Timeline({ controller }: { controller: TimelineController }) {
  const [windowMs, setWindowMs] = useState<number>(600_000);
  const s = useTimelineStore(
    controller.store,
    useShallow((t) => ({
      mode: t.mode,
      shownAt: t.shownAt,
      frameAt: t.frameAt,
      liveEdge: t.liveEdge,
      from: t.from,
      to: t.to,
      markers: t.markers,
      anchor: t.anchor,
      speed: t.speed,
      loading: t.loading,
      error: t.error,
    })),
  );
  const ended = controller.finished;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      const t = e.target as HTMLElement | null;
      // Typing never steers the timeline; a focused control keeps its own arrows and Space.
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)))
        if (t.dataset.testid !== testIds.timelineSlider) return;
      if (
        t?.tagName === 'BUTTON' &&
        e.key !== 'l' &&
        e.key !== 'L' &&
        e.key !== ',' &&
        e.key !== '.'
      )
        return;
      if (e.key === 'ArrowLeft' || e.key === ',') void controller.step(-1);
      else if (e.key === 'ArrowRight' || e.key === '.') void controller.step(1);
      else if (e.key === ' ') controller.toggleFreeze();
      else if (e.key === 'l' || e.key === 'L') controller.goLive();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [controller]);

  const newest = Math.max(s.to ?? -Infinity, ended ? -Infinity : (s.liveEdge ?? -Infinity));
  // Away from live the span holds still (the live edge runs on); a replay may carry it further.
  const end =
    s.mode === 'live' || ended || s.anchor === null
      ? newest
      : Math.max(s.anchor, s.shownAt ?? -Infinity);
  const start = s.from === null ? null : Math.max(s.from, end - windowMs);
  const hasSpan = start !== null && Number.isFinite(end) && end > start;
  const position = s.mode === 'live' ? end : (s.shownAt ?? end);
  const fraction = (t: number) => (hasSpan ? (t - start) / (end - start) : 0);
  const lag =
    s.mode !== 'live' && s.shownAt !== null && s.liveEdge !== null ? s.liveEdge - s.shownAt : 0;

  return (
    <section
      aria-label="Timeline"
      data-testid={testIds.timeline}
      data-mode={s.mode}
      data-shown-at={s.shownAt ?? ''}
      data-frame-at={s.frameAt ?? ''}
      data-from={s.from ?? ''}
      data-window-from={start ?? ''}
      data-live-edge={s.liveEdge ?? ''}
      data-to={hasSpan ? end : ''}
      className="rounded-lg border border-edge bg-panel p-2 text-sm"
    >
      <div className="flex flex-wrap items-center gap-2">
        <span
          role="status"
          aria-label="live indicator"
          data-testid={testIds.liveIndicator}
          data-live={s.mode === 'live' ? 'true' : 'false'}
          data-behind-ms={Math.round(lag)}
          className={`rounded px-2 py-0.5 font-mono text-xs ${s.mode === 'live' ? 'bg-bad/80 text-white' : 'bg-white/10 text-muted'}`}
        >
          {ended
            ? s.mode === 'playing'
              ? `replay ${s.speed}×`
              : 'replay'
            : s.mode === 'live'
              ? '● LIVE'
              : `${behind(lag)} behind live${s.mode === 'playing' ? ` · ${s.speed}×` : ''}`}
        </span>
        <button
          type="button"
          aria-label="Previous frame"
          title="Previous frame (← or ,)"
          onClick={() => void controller.step(-1)}
          className="rounded border border-edge px-2 py-0.5 hover:bg-white/10"
        >
          ◀︎
        </button>
        <button
          type="button"
          aria-label="Next frame"
          title="Next frame (→ or .)"
          onClick={() => void controller.step(1)}
          className="rounded border border-edge px-2 py-0.5 hover:bg-white/10"
        >
          ▶︎
        </button>
        {s.mode === 'playing' ? (
          <button
            type="button"
            aria-label="Pause replay"
            onClick={() => controller.pause()}
            className="rounded border border-edge px-2 py-0.5 hover:bg-white/10"
          >
            Pause
          </button>
        ) : null}
        <div
          role="group"
          aria-label="replay speed"
          className="flex overflow-hidden rounded border border-edge"
        >
          {SPEEDS.map((speed) => (
            <button
              key={speed}
              type="button"
              aria-label={`Play at ${speed}×`}
              aria-pressed={s.mode === 'playing' && s.speed === speed}
              data-testid={testIds.timelinePlay(speed)}
              onClick={() => controller.play(speed)}
              className={`px-2 py-0.5 ${s.mode === 'playing' && s.speed === speed ? 'bg-info/20 text-white' : 'text-muted hover:bg-white/10'}`}
            >
              {speed}×
            </button>
          ))}
        </div>
        {ended ? null : (
          <>
            <button
              type="button"
              aria-label={s.mode === 'live' ? 'Freeze the view' : 'Unfreeze: back to live'}
              aria-pressed={s.mode !== 'live'}
              title="Freeze (Space): the stream keeps arriving underneath"
              onClick={() => controller.toggleFreeze()}
              className="rounded border border-edge px-2 py-0.5 hover:bg-white/10"
            >
              {s.mode === 'live' ? 'Freeze' : 'Frozen'}
            </button>
            <button
              type="button"
              aria-label="Back to live"
              title="Back to live (L)"
              data-testid={testIds.backToLive}
              disabled={s.mode === 'live'}
              onClick={() => controller.goLive()}
              className="rounded border border-edge px-2 py-0.5 hover:bg-white/10 disabled:opacity-40"
            >
              Back to live
            </button>
          </>
        )}
        <label className="flex items-center gap-1 text-xs text-muted">
          span
          <select
            aria-label="Timeline span"
            value={String(windowMs)}
            onChange={(e) => setWindowMs(Number(e.target.value))}
            className="rounded border border-edge bg-panel px-1"
          >
            {WINDOWS.map(([label, ms]) => (
              <option key={label} value={String(ms)}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <span
          className="ml-auto font-mono text-xs text-muted"
          data-testid={testIds.timelineReadout}
        >
          {s.mode === 'live'
            ? s.liveEdge !== null
              ? `live · ${clock(s.liveEdge)}`
              : 'waiting for frames'
            : `${clock(s.shownAt ?? 0)}${s.frameAt !== null ? ` · frame of ${clock(s.frameAt)}` : ''}`}
          {s.loading ? ' · loading…' : ''}
        </span>
      </div>
      <div className="relative mt-2 h-8">
        <div className="absolute inset-x-2 top-0 h-3" aria-label="timeline markers" role="list">
          {hasSpan
            ? s.markers
                .filter((m) => m.t >= start && m.t <= end)
                .map((m, i) => (
                  <button
                    key={`${m.t}-${i}`}
                    type="button"
                    role="listitem"
                    aria-label={`${m.label} at ${clock(m.t)}`}
                    title={`${m.label} · ${clock(m.t)}`}
                    data-testid={testIds.timelineMarker(m.kind)}
                    data-t={m.t}
                    onClick={() => void controller.seek(m.t)}
                    className={`absolute top-0 h-3 w-1.5 -translate-x-1/2 rounded-sm ${MARKER_COLOURS[m.kind]}`}
                    style={{ left: `${fraction(m.t) * 100}%` }}
                  />
                ))
            : null}
        </div>
        <input
          type="range"
          aria-label="Timeline position"
          aria-valuetext={s.mode === 'live' ? 'live' : clock(position)}
          data-testid={testIds.timelineSlider}
          disabled={!hasSpan}
          min={start ?? 0}
          max={hasSpan ? end : 1}
          step={1}
          value={hasSpan ? position : 0}
          onChange={(e) => void controller.seek(Number(e.target.value))}
          onKeyDown={(e) => {
            // Arrow keys step a frame, not a millisecond of the slider.
            if (!e.key.startsWith('Arrow')) return;
            e.preventDefault();
            if (e.key === 'ArrowLeft') void controller.step(-1);
            else if (e.key === 'ArrowRight') void controller.step(1);
          }}
          className="absolute inset-x-0 bottom-0 w-full accent-info"
        />
      </div>
      {s.error ? (
        <p role="alert" className="mt-1 text-xs text-bad">
          {s.error}
        </p>
      ) : null}
    </section>
  );
}
