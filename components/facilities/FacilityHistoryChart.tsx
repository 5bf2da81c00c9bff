'use client';

import { useEffect, useState } from 'react';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { FacilityHistoryPoint } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useFacilities, useFacilitiesStore } from '@/stores/StoreProvider';
import { DEFAULT_RECON_JOB } from './FacilityApi';
import { useFacilityApi } from './useFacilityApi';

const DAY_MS = 86_400_000;
/** History changes by the minute; a refresh a minute keeps the right edge current. */
const REFRESH_MS = 60_000;
/** Points drawn per chart: one per 5 min over 24 h, plenty for a 400 px wide chart. */
const MAX_POINTS = 288;
/** Clock jumps smaller than this (10 min) do not refetch history. */
const CLOCK_EPOCH_MS = 600_000;

const tooltipStyle = {
  background: '#161b22',
  border: '1px solid #30363d',
  fontSize: 11,
  color: '#e6edf3',
};
const axis = { stroke: '#8b949e', tick: { fontSize: 10 } };

interface Point {
  at: number;
  queued: number | null;
  running: number | null;
  nodeHours: number | null;
  waitMedianMin: number | null;
  waitBoundMin: number | null;
}

/** Waits span seconds to days, so the chart is logarithmic; a log axis has no zero, so ≥ 1 min. */
const toMinutes = (s: number) => Math.max(1, +(s / 60).toFixed(1));

function thin(points: FacilityHistoryPoint[]): Point[] {
  const step = Math.max(1, Math.ceil(points.length / MAX_POINTS));
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += step) {
    const p = points[i]!;
    out.push({
      at: p.at,
      queued: p.queued,
      running: p.running,
      nodeHours: p.queuedNodeHours === null ? null : Math.round(p.queuedNodeHours),
      waitMedianMin: p.waitMedianS === null ? null : toMinutes(p.waitMedianS),
      waitBoundMin: p.waitBound95S === null ? null : toMinutes(p.waitBound95S),
    });
  }
  return out;
}

const hhmm = (ms: number) =>
  new Date(ms).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });

/** Queue depth and the default job's estimated wait over the last 24 h of one system. */
export function FacilityHistoryChart({ system }: { system: string }) {
  const api = useFacilityApi();
  const store = useFacilitiesStore();
  // The clock offset creeps by milliseconds with every snapshot: only a jump (a gateway restarted
  // on another clock, a simulator skipping ahead) should refetch, so select it coarsely.
  const clockEpoch = useFacilities((s) =>
    s.clockOffsetMs === null ? null : Math.round(s.clockOffsetMs / CLOCK_EPOCH_MS),
  );
  const [points, setPoints] = useState<Point[] | null>(null);

  useEffect(() => {
    if (clockEpoch === null) return;
    let cancelled = false;
    const load = async () => {
      const to = Date.now() + (store.getState().clockOffsetMs ?? 0);
      const history = await api.history(system, to - DAY_MS, to);
      if (!cancelled && history) setPoints(thin(history));
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, store, system, clockEpoch]);

  if (!points) return <p className="h-40 text-xs text-muted">Loading 24 h history…</p>;
  if (points.length === 0)
    return <p className="text-xs text-muted">No history recorded in the last 24 h yet.</p>;
  const hasQueue = points.some((p) => p.queued !== null || p.running !== null);
  const hasWait = points.some((p) => p.waitMedianMin !== null);
  return (
    <div data-testid={testIds.facilityChart(system)} className="space-y-2 text-xs">
      {hasQueue ? null : (
        <p className="text-muted">
          No queue depth: this system&apos;s sources publish none, so there is no queue or wait
          history to chart.
        </p>
      )}
      <figure hidden={!hasQueue}>
        <figcaption className="mb-1 text-muted">Queue depth, last 24 h</figcaption>
        <ResponsiveContainer width="100%" height={130}>
          <LineChart data={points} margin={{ top: 4, right: 4, bottom: 0, left: -12 }}>
            <CartesianGrid stroke="#30363d" strokeDasharray="3 3" />
            <XAxis
              dataKey="at"
              type="number"
              domain={['dataMin', 'dataMax']}
              tickFormatter={hhmm}
              {...axis}
            />
            <YAxis
              yAxisId="jobs"
              {...axis}
              label={{
                value: 'jobs',
                angle: -90,
                position: 'insideLeft',
                fill: '#8b949e',
                fontSize: 10,
                dx: 14,
              }}
            />
            <YAxis
              yAxisId="nh"
              orientation="right"
              {...axis}
              label={{
                value: 'node-h',
                angle: 90,
                position: 'insideRight',
                fill: '#8b949e',
                fontSize: 10,
                dx: -6,
              }}
            />
            <Tooltip
              contentStyle={tooltipStyle}
              labelFormatter={(v) => (typeof v === 'number' ? new Date(v).toLocaleString() : '')}
            />
            <Legend wrapperStyle={{ fontSize: 10 }} />
            <Line
              yAxisId="jobs"
              dataKey="queued"
              name="queued jobs"
              stroke="#d29922"
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
            />
            <Line
              yAxisId="jobs"
              dataKey="running"
              name="running jobs"
              stroke="#3fb950"
              dot={false}
              isAnimationActive={false}
            />
            <Line
              yAxisId="nh"
              dataKey="nodeHours"
              name="queued node-h"
              stroke="#58a6ff"
              strokeDasharray="4 2"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </figure>
      <figure hidden={!hasWait}>
        <figcaption className="mb-1 text-muted">
          Estimated wait, {DEFAULT_RECON_JOB.nodes} nodes × {DEFAULT_RECON_JOB.walltime / 3600} h
          job (min, log scale)
        </figcaption>
        <ResponsiveContainer width="100%" height={110}>
          <LineChart data={points} margin={{ top: 4, right: 4, bottom: 0, left: -12 }}>
            <CartesianGrid stroke="#30363d" strokeDasharray="3 3" />
            <XAxis
              dataKey="at"
              type="number"
              domain={['dataMin', 'dataMax']}
              tickFormatter={hhmm}
              {...axis}
            />
            <YAxis
              {...axis}
              scale="log"
              domain={[1, 'auto']}
              allowDataOverflow
              label={{
                value: 'min',
                angle: -90,
                position: 'insideLeft',
                fill: '#8b949e',
                fontSize: 10,
                dx: 14,
              }}
            />
            <Tooltip
              contentStyle={tooltipStyle}
              labelFormatter={(v) => (typeof v === 'number' ? new Date(v).toLocaleString() : '')}
              formatter={(v) => (typeof v === 'number' ? `${v} min` : v)}
            />
            <Legend wrapperStyle={{ fontSize: 10 }} />
            <Line
              dataKey="waitMedianMin"
              name="median"
              stroke="#a371f7"
              dot={false}
              isAnimationActive={false}
            />
            <Line
              dataKey="waitBoundMin"
              name="95% bound"
              stroke="#f85149"
              strokeDasharray="4 2"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </figure>
    </div>
  );
}
