'use client';

import { useEffect, useState, useSyncExternalStore } from 'react';
import { type LinkMode, type LinkReport, LinkMode as LinkModes } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import type { DisplayReporter } from './DisplayReporter';
import type { RunMetricsStore } from './RunMetricsStore';

const REFRESH_MS = 1000;
const FRACTION = ['full resolution', '½ resolution', '¼ resolution', '⅛ resolution'] as const;
const MODE_LABEL: Record<LinkMode, string> = {
  auto: 'auto',
  full: 'full quality',
  saver: 'data saver',
};

/**
 * "¼ resolution, 4 Hz — slow link": what the slice streams of this viewer get now; only those of
 * the views on screen (`shown`) when given, so a snapshot of another view does not read as 0 Hz.
 */
export function describeLink(link: LinkReport | undefined, shown: readonly string[] = []): string {
  const slices =
    link?.streams.filter(
      (s) => !s.key.endsWith('/volume') && (shown.length === 0 || shown.includes(s.key)),
    ) ?? [];
  if (!link || slices.length === 0) return 'full resolution';
  const level = Math.max(...slices.map((s) => s.level));
  const hz = Math.min(...slices.map((s) => s.framesPerSecond));
  const cropped = slices.some((s) => s.cropped && s.level === 0);
  const what = `${FRACTION[level]}${cropped ? ' (zoomed region exact)' : ''}`;
  const rate = hz >= 1 ? `${Math.round(hz)} Hz` : `${hz.toFixed(1)} Hz`;
  const why = link.slow ? ' — slow link' : level > 0 ? ' — sized to the view' : '';
  return `${what}, ${rate}${why}`;
}

/** The level and rate this viewer gets, and the user's choice of auto / full quality / data saver. */
export function LinkStatus({
  run,
  metrics,
  display,
}: {
  run: string;
  metrics: RunMetricsStore;
  display: DisplayReporter;
}) {
  const mode = useSyncExternalStore(
    (l) => display.subscribe(l),
    () => display.mode,
    () => 'auto' as LinkMode,
  );
  const [link, setLink] = useState<LinkReport | undefined>(undefined);
  useEffect(() => {
    const timer = setInterval(() => setLink(metrics.latest(run)?.link), REFRESH_MS);
    return () => clearInterval(timer);
  }, [metrics, run]);
  const rate =
    link?.bytesPerSecond === undefined
      ? ''
      : ` · link ≈ ${((link.bytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s${link.rttMs === undefined ? '' : `, ${Math.round(link.rttMs)} ms`}`;
  // The preview volume's bricks have their own level (a slow link coarsens them first).
  const volume = link?.streams.find((s) => s.key.endsWith('/volume'));
  const volumeLevel =
    volume && volume.level > 0 ? ` · 3-D preview at ${FRACTION[volume.level]}` : '';
  return (
    <span className="flex items-center gap-2 text-sm text-muted">
      <span
        data-testid={testIds.linkStatus}
        data-slow={link?.slow ? 'true' : 'false'}
        className={link?.slow ? 'text-warn' : undefined}
        title={`What the gateway sends this viewer${rate}${volumeLevel}`}
      >
        {describeLink(link, display.shown(run))}
      </span>
      <select
        aria-label="slice quality"
        data-testid={testIds.linkMode}
        value={mode}
        onChange={(e) => display.setMode(LinkModes.parse(e.target.value))}
        className="rounded border border-edge bg-panel px-1 py-0.5 text-xs"
      >
        {LinkModes.options.map((m) => (
          <option key={m} value={m}>
            {MODE_LABEL[m]}
          </option>
        ))}
      </select>
    </span>
  );
}
