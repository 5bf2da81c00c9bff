'use client';

import type { Plane } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import type { DrawStats } from '@/components/viewer/DrawStats';
import { useNow } from './useNow';

/** How often the drawn-frame figures are re-read, ms. */
const REFRESH_MS = 500;

/*
 * Each figure re-renders itself every REFRESH_MS (useNow) and reads the page's DrawStats then, so
 * the run page around it never re-renders for a figure: it did, twice a second, and every chart
 * and panel with it, half the main thread of a software-rendered page.
 */

/** Frames of `plane` drawn per second on this page. */
export function SliceFps({ stats, plane }: { stats: DrawStats; plane: Plane }) {
  useNow(REFRESH_MS);
  const text = `${stats.fps(plane, performance.now()).toFixed(1)} fps`;
  return (
    <div className="text-right text-xs text-muted" data-testid={testIds.sliceFps(plane)}>
      {text}
    </div>
  );
}

/** Median time from the gateway's publication of a frame to its drawing here. */
export function DrawLatency({ stats }: { stats: DrawStats }) {
  useNow(REFRESH_MS);
  const ms = stats.medianLatency(performance.now());
  const text = ms === null ? '—' : `${Math.round(ms)} ms`;
  return (
    <span className="text-sm text-muted" data-testid={testIds.latency}>
      latency publish → draw: <span className="font-mono text-white">{text}</span>
    </span>
  );
}
