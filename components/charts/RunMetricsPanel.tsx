'use client';

import { useEffect, useMemo, useRef, useState } from 'react';
import {
  Area,
  AreaChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { RunMetrics } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import type { RunMetricsStore } from '@/components/live/RunMetricsStore';
import type { DrawStats } from '@/components/viewer/DrawStats';

/** Charts sample the buffers this often: smooth enough to read, cheap for React. */
const SAMPLE_MS = 500;
/** Points kept per chart: one minute at SAMPLE_MS. */
const POINTS = 120;

const STREAMS = ['xy', 'xz', 'yz', 'volume'] as const;
const STREAM_COLOURS: Record<(typeof STREAMS)[number], string> = {
  xy: '#5aa9ff',
  xz: '#5ee07a',
  yz: '#ff6b6b',
  volume: '#d29922',
};
const SEGMENTS = [
  ['reconstruction', 'acquisition → reconstruction', '#a371f7'],
  ['publication', 'reconstruction → publication', '#58a6ff'],
  ['delivery', 'publication → browser', '#3fb950'],
  ['drawing', 'browser → drawn', '#d29922'],
] as const;

interface Point {
  t: number;
  xy: number;
  xz: number;
  yz: number;
  volume: number;
  reconstruction: number | null;
  publication: number | null;
  delivery: number | null;
  drawing: number | null;
  /** Frames replaced for this viewer per second since the previous sample. */
  dropped: number | null;
}

export interface RunMetricsPanelProps {
  run: string;
  metrics: RunMetricsStore;
  stats: DrawStats;
}

/**
 * The run's figures: frames drawn per second per stream, where the latency goes, frames this
 * viewer missed, and the producer's health. Samples the buffers a few times a second.
 */
export function RunMetricsPanel({ run, metrics, stats }: RunMetricsPanelProps) {
  // Sampled always (the history must be there when the panel scrolls into view), rendered only
  // while it can be seen: recharts lays out three charts per render, which on a software-rendered
  // page cost the slices their frames.
  const [shown, setShown] = useState<{ points: Point[]; latest: RunMetrics | undefined }>({
    points: [],
    latest: undefined,
  });
  const root = useRef<HTMLDivElement>(null);
  const start = useMemo(() => performance.now(), []);

  useEffect(() => {
    let previous: { at: number; replaced: number } | null = null;
    let points: Point[] = [];
    let visible = true;
    const observer =
      typeof IntersectionObserver === 'undefined' || !root.current
        ? null
        : new IntersectionObserver((entries) => {
            visible = entries.some((e) => e.isIntersecting);
          });
    if (observer && root.current) observer.observe(root.current);
    const timer = setInterval(() => {
      const now = performance.now();
      const m = metrics.latest(run);
      const split = stats.medianSplit(now);
      let dropped: number | null = null;
      if (m) {
        if (previous && m.at > previous.at)
          dropped = ((m.viewer.replaced - previous.replaced) * 1000) / (m.at - previous.at);
        if (!previous || m.at > previous.at) previous = { at: m.at, replaced: m.viewer.replaced };
      }
      const point: Point = {
        t: Math.round((now - start) / 1000),
        xy: stats.fps('xy', now),
        xz: stats.fps('xz', now),
        yz: stats.fps('yz', now),
        volume: stats.fps('volume', now),
        reconstruction: split?.reconstruction ?? null,
        publication: split?.publication ?? null,
        delivery: split?.delivery ?? null,
        drawing: split?.drawing ?? null,
        dropped,
      };
      points = [...points.slice(-(POINTS - 1)), point];
      if (visible && document.visibilityState === 'visible') setShown({ points, latest: m });
    }, SAMPLE_MS);
    return () => {
      clearInterval(timer);
      observer?.disconnect();
    };
  }, [run, metrics, stats, start]);

  const { points, latest } = shown;
  const last = points.at(-1);
  return (
    <div ref={root} className="flex flex-col gap-3 text-xs" data-testid={testIds.runMetrics}>
      <Chart title="Frames drawn per second">
        <LineChart data={points} margin={{ top: 4, right: 8, bottom: 0, left: -20 }}>
          <CartesianGrid stroke="#30363d" strokeDasharray="3 3" />
          <XAxis dataKey="t" stroke="#8b949e" tick={{ fontSize: 10 }} unit=" s" />
          <YAxis stroke="#8b949e" tick={{ fontSize: 10 }} />
          <Tooltip
            contentStyle={tooltipStyle}
            formatter={(v) => (typeof v === 'number' ? v.toFixed(1) : v)}
          />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {STREAMS.map((s) => (
            <Line
              key={s}
              dataKey={s}
              stroke={STREAM_COLOURS[s]}
              dot={false}
              isAnimationActive={false}
              strokeWidth={1.5}
            />
          ))}
        </LineChart>
      </Chart>
      <Chart
        title={`Latency, median ms${last && last.delivery !== null ? ` — now ${Math.round(SEGMENTS.reduce((sum, [k]) => sum + (last[k] ?? 0), 0))} ms end to end` : ''}`}
      >
        <AreaChart data={points} margin={{ top: 4, right: 8, bottom: 0, left: -20 }}>
          <CartesianGrid stroke="#30363d" strokeDasharray="3 3" />
          <XAxis dataKey="t" stroke="#8b949e" tick={{ fontSize: 10 }} unit=" s" />
          <YAxis stroke="#8b949e" tick={{ fontSize: 10 }} />
          <Tooltip
            contentStyle={tooltipStyle}
            formatter={(v) => (typeof v === 'number' ? `${v.toFixed(0)} ms` : v)}
          />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {SEGMENTS.map(([key, label, colour]) => (
            <Area
              key={key}
              dataKey={key}
              name={label}
              stackId="latency"
              stroke={colour}
              fill={colour}
              fillOpacity={0.35}
              isAnimationActive={false}
            />
          ))}
        </AreaChart>
      </Chart>
      <Chart title="Frames dropped for this viewer (replaced by newer), per second">
        <LineChart data={points} margin={{ top: 4, right: 8, bottom: 0, left: -20 }}>
          <CartesianGrid stroke="#30363d" strokeDasharray="3 3" />
          <XAxis dataKey="t" stroke="#8b949e" tick={{ fontSize: 10 }} unit=" s" />
          <YAxis stroke="#8b949e" tick={{ fontSize: 10 }} allowDecimals={false} />
          <Tooltip contentStyle={tooltipStyle} />
          <Line
            dataKey="dropped"
            stroke="#f85149"
            dot={false}
            isAnimationActive={false}
            connectNulls
          />
        </LineChart>
      </Chart>
      <FlowAndHealth metrics={latest} />
    </div>
  );
}

const tooltipStyle = { background: '#161b22', border: '1px solid #30363d', fontSize: 11 };

function Chart({ title, children }: { title: string; children: React.ReactElement }) {
  return (
    <section>
      <h3 className="mb-1 text-muted">{title}</h3>
      <div className="h-32 w-full">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </section>
  );
}

function FlowAndHealth({ metrics }: { metrics: RunMetrics | undefined }) {
  if (!metrics) return <p className="text-muted">waiting for the gateway’s metrics…</p>;
  const v = metrics.viewer;
  const p = metrics.producer;
  const sample = p.sample;
  const age = p.lastFrameAt !== undefined ? (metrics.at - p.lastFrameAt) / 1000 : null;
  const rows: [string, string][] = [
    ['consumer', p.connected ? 'connected' : 'disconnected'],
    ['last frame', age === null ? '—' : `${age.toFixed(1)} s ago`],
    ['frames accepted / refused', `${p.accepted} / ${p.rejected}`],
    ['unauthorised pushes refused', String(p.refusedPushes)],
    ...metrics.streams.map((s): [string, string] => [
      `gateway ${s.key}`,
      `${s.framesPerSecond.toFixed(1)} fps (seq ${s.lastSeq})`,
    ]),
    ...(sample
      ? ([
          ['projections / s', sample.projectionsPerSecond.toFixed(0)],
          ['angular coverage', `${sample.coverageDeg.toFixed(0)}°`],
          ['cycle', `${sample.cycleMs.toFixed(0)} ms`],
          ['lag behind detector', `${sample.lagMs.toFixed(0)} ms`],
          ['paused', sample.paused ? 'yes' : 'no'],
        ] as [string, string][])
      : []),
    ['viewers on this run', String(metrics.viewers)],
  ];
  return (
    <section className="flex flex-col gap-2">
      <h3 className="text-muted">Flow to this viewer, since it joined</h3>
      <p className="font-mono" data-testid={testIds.flowCounters}>
        produced {v.produced} = delivered {v.delivered} + replaced {v.replaced} + rejected{' '}
        {v.rejected} + pending {v.pending}
        {v.produced === v.delivered + v.replaced + v.rejected + v.pending ? ' ✓' : ' ✗'}
      </p>
      <h3 className="text-muted">Producer health</h3>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5">
        {rows.map(([k, value]) => (
          <div key={k} className="contents">
            <dt className="text-muted">{k}</dt>
            <dd className={`font-mono ${value === 'disconnected' ? 'text-bad' : ''}`}>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
