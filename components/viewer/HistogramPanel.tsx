'use client';

import { useEffect, useRef, useState } from 'react';
import { PLANES, streamKey } from '@/lib/protocol';
import { colormapGradient } from '@/lib/imaging/colormaps';
import { computeHistogram, type Histogram } from '@/lib/imaging/histogram';
import { testIds } from '@/lib/testIds';
import { useViewerStore, type ViewerStore } from '@/stores/viewerStore';
import type { FrameStore } from '@/components/live/FrameStore';

/** How often the histogram follows the live stream: twice a second is enough to read, cheap to compute. */
const REFRESH_MS = 500;
const BINS = 256;
/** Keyboard step of a handle, as a fraction of the axis (Shift: ten times more). */
const KEY_STEP = 0.01;

/**
 * Histogram of the newest xy slice (log counts) under the colormap, with the window's two ends as
 * draggable handles; dragging the band between them moves the level at constant width.
 */
export function HistogramPanel({
  run,
  frames,
  store,
  unit,
  description,
}: {
  run: string;
  frames: FrameStore;
  store: ViewerStore;
  /** Value unit and meaning from the frame header, for the axis. */
  unit?: string | undefined;
  description?: string | undefined;
}) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const barRef = useRef<HTMLDivElement>(null);
  const histRef = useRef<Histogram | null>(null);
  const [axis, setAxis] = useState<[number, number] | null>(null);
  const { window, colormap } = useViewerStore(store, (s) => ({
    window: s.window,
    colormap: s.colormap,
  }));

  // Recompute from the newest frame a few times a second, outside React's render path.
  useEffect(() => {
    let drawn = -1;
    const refresh = () => {
      const latest = PLANES.map((p) => frames.get(run, streamKey('full', p))).find(Boolean);
      if (!latest || latest.version === drawn) return;
      drawn = latest.version;
      const h = computeHistogram(latest.frame.pixels, BINS, latest.frame.header.range);
      histRef.current = h;
      setAxis((a) => (a && a[0] === h.lo && a[1] === h.hi ? a : [h.lo, h.hi]));
      paint();
    };
    const paint = () => {
      const canvas = canvasRef.current;
      const h = histRef.current;
      const ctx = canvas?.getContext('2d');
      if (!canvas || !ctx || !h) return;
      const width = (canvas.width = canvas.clientWidth * (globalThis.devicePixelRatio || 1));
      const height = (canvas.height = canvas.clientHeight * (globalThis.devicePixelRatio || 1));
      ctx.clearRect(0, 0, width, height);
      let peak = 0;
      for (const c of h.counts) peak = Math.max(peak, Math.log1p(c));
      ctx.fillStyle = '#8b949e';
      const bw = width / h.counts.length;
      h.counts.forEach((c, i) => {
        const bh = peak > 0 ? (Math.log1p(c) / peak) * height : 0;
        ctx.fillRect(i * bw, height - bh, Math.max(1, bw), bh);
      });
    };
    refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    const onResize = () => paint();
    globalThis.addEventListener('resize', onResize);
    return () => {
      clearInterval(timer);
      globalThis.removeEventListener('resize', onResize);
    };
  }, [run, frames]);

  if (!axis || !window) {
    return (
      <div className="h-24 rounded border border-edge bg-panel" data-testid={testIds.histogram} />
    );
  }
  const lo = Math.min(axis[0], window.min);
  const hi = Math.max(axis[1], window.max);
  const toPct = (v: number) => ((v - lo) / (hi - lo)) * 100;
  const fromClientX = (clientX: number) => {
    const rect = barRef.current!.getBoundingClientRect();
    return lo + ((clientX - rect.left) / rect.width) * (hi - lo);
  };
  const set = (min: number, max: number) => {
    if (max > min) store.getState().setWindow({ min, max }, 'user');
  };
  const drag = (which: 'min' | 'max' | 'band') => (e: React.PointerEvent<HTMLDivElement>) => {
    e.preventDefault();
    const target = e.currentTarget;
    target.setPointerCapture(e.pointerId);
    const start = fromClientX(e.clientX);
    const w0 = store.getState().window ?? window;
    const minGap = (hi - lo) / 1000;
    const move = (ev: PointerEvent) => {
      const v = fromClientX(ev.clientX);
      if (which === 'min') set(Math.min(v, w0.max - minGap), w0.max);
      else if (which === 'max') set(w0.min, Math.max(v, w0.min + minGap));
      else set(w0.min + (v - start), w0.max + (v - start));
    };
    const up = () => {
      target.removeEventListener('pointermove', move);
      target.removeEventListener('pointerup', up);
      target.removeEventListener('pointercancel', up);
    };
    target.addEventListener('pointermove', move);
    target.addEventListener('pointerup', up);
    target.addEventListener('pointercancel', up);
  };
  const keys = (which: 'min' | 'max') => (e: React.KeyboardEvent) => {
    const dir =
      e.key === 'ArrowRight' || e.key === 'ArrowUp'
        ? 1
        : e.key === 'ArrowLeft' || e.key === 'ArrowDown'
          ? -1
          : 0;
    if (!dir) return;
    e.preventDefault();
    e.stopPropagation();
    const step = dir * (hi - lo) * KEY_STEP * (e.shiftKey ? 10 : 1);
    if (which === 'min') set(window.min + step, window.max);
    else set(window.min, window.max + step);
  };
  const a = toPct(window.min);
  const b = toPct(window.max);
  const fmt = (v: number) =>
    Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(4);

  return (
    <div className="select-none" data-testid={testIds.histogram}>
      <div ref={barRef} className="relative h-20 rounded border border-edge bg-surface">
        <div
          className="absolute inset-y-0 opacity-35"
          style={{ left: `${a}%`, width: `${b - a}%`, backgroundImage: colormapGradient(colormap) }}
        />
        <canvas ref={canvasRef} className="absolute inset-0 h-full w-full" />
        <div
          className="absolute inset-y-0 cursor-grab"
          style={{ left: `${a}%`, width: `${b - a}%` }}
          onPointerDown={drag('band')}
          title="Drag to move the level"
        />
        {(['min', 'max'] as const).map((which) => (
          <div
            key={which}
            role="slider"
            tabIndex={0}
            aria-label={`window ${which}`}
            aria-valuemin={lo}
            aria-valuemax={hi}
            aria-valuenow={window[which]}
            data-testid={testIds.histogramHandle(which)}
            onPointerDown={drag(which)}
            onKeyDown={keys(which)}
            className="absolute inset-y-0 -ml-2 w-4 cursor-ew-resize"
            style={{ left: `${which === 'min' ? a : b}%` }}
          >
            <div className="mx-auto h-full w-0.5 bg-info" />
            <div className="absolute -top-1 left-1/2 h-3 w-3 -translate-x-1/2 rotate-45 border border-info bg-panel" />
          </div>
        ))}
      </div>
      <div className="mt-1 h-2 rounded" style={{ backgroundImage: colormapGradient(colormap) }} />
      {description ? (
        <p className="mt-0.5 text-[11px] text-muted">
          {description}
          {unit ? `, ${unit}` : ''}
        </p>
      ) : null}
      <div className="mt-0.5 flex justify-between font-mono text-[11px] text-muted">
        <span>{fmt(lo)}</span>
        <span title={description}>
          window {fmt(window.min)} – {fmt(window.max)}
          {unit ? ` ${unit}` : ' (no unit)'}
        </span>
        <span>
          {fmt(hi)}
          {unit ? ` ${unit}` : ''}
        </span>
      </div>
    </div>
  );
}
