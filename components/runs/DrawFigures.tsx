'use client';

import { useEffect, useState } from 'react';
import type { Plane } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import type { DrawStats } from '@/components/viewer/DrawStats';

/** How often the drawn-frame figures are re-read, ms. */
const REFRESH_MS = 500;

/**
 * `format(stats, arg, now)` every REFRESH_MS; the component re-renders only when the text changes.
 * Each figure owns its timer so the run page around it never re-renders for a figure: it did,
 * twice a second, and every chart and panel with it, half the main thread of a software-rendered
 * page.
 */
function useDrawFigure<A>(
  stats: DrawStats,
  arg: A,
  format: (stats: DrawStats, arg: A, now: number) => string,
): string {
  const [text, setText] = useState(() => format(stats, arg, performance.now()));
  useEffect(() => {
    const timer = setInterval(() => setText(format(stats, arg, performance.now())), REFRESH_MS);
    return () => clearInterval(timer);
  }, [stats, arg, format]);
  return text;
}

const fps = (stats: DrawStats, plane: Plane, now: number) =>
  `${stats.fps(plane, now).toFixed(1)} fps`;

const latency = (stats: DrawStats, _: null, now: number) => {
  const ms = stats.medianLatency(now);
  return ms === null ? '—' : `${Math.round(ms)} ms`;
};

/** Frames of `plane` drawn per second on this page. */
export function SliceFps({ stats, plane }: { stats: DrawStats; plane: Plane }) {
  const text = useDrawFigure(stats, plane, fps);
  return (
    <div className="text-right text-xs text-muted" data-testid={testIds.sliceFps(plane)}>
      {text}
    </div>
  );
}

/** Median time from the gateway's publication of a frame to its drawing here. */
export function DrawLatency({ stats }: { stats: DrawStats }) {
  const text = useDrawFigure(stats, null, latency);
  return (
    <span className="text-sm text-muted" data-testid={testIds.latency}>
      latency publish → draw: <span className="font-mono text-white">{text}</span>
    </span>
  );
}
