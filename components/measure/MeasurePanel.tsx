'use client';

import { useEffect, useRef, useState } from 'react';
import {
  CartesianGrid,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { holdsSlice, streamKey } from '@/lib/protocol';
import type { Measurement, MeasurementKind } from '@/lib/measure/Measurement';
import { pixelPitch } from '@/lib/measure/pixelPitch';
import { type RegionStats, regionStats } from '@/lib/measure/regionStats';
import { lineLengthUm, type ProfileSample, sampleProfile } from '@/lib/measure/sampleProfile';
import { valueUnitOf } from '@/lib/measure/valueUnit';
import type { FrameStore } from '@/components/live/FrameStore';
import { type MeasureStore, useMeasureStore } from '@/stores/measureStore';
import { type ViewerStore, useViewerStore } from '@/stores/viewerStore';
import { downloadBlob } from './downloadBlob';
import { formatLengthUm } from './MeasureOverlay';

/** Figures refresh at 4 Hz: live enough to follow a scan, cheap on a 2-core beamline laptop. */
const REFRESH_MS = 250;
/** Points of a region's mean-over-time plot: one per new frame, about a minute at 2 Hz. */
const HISTORY_POINTS = 120;

const TOOLS: { kind: MeasurementKind; label: string }[] = [
  { kind: 'ruler', label: 'Ruler' },
  { kind: 'profile', label: 'Line profile' },
  { kind: 'rectangle', label: 'Rectangle region' },
  { kind: 'ellipse', label: 'Ellipse region' },
];
const KIND_LABEL: Record<MeasurementKind, string> = {
  ruler: 'ruler',
  profile: 'profile',
  rectangle: 'rectangle',
  ellipse: 'ellipse',
};

interface Figures {
  unit: string;
  lengthUm: number;
  profile?: ProfileSample[];
  stats?: RegionStats;
  history?: { t: number; mean: number }[];
  /** The frame the figures were taken from (seq), so a reader knows they are live. */
  seq: number;
}

/** Significant digits, never rounded to integers (0–1 data keeps its precision). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : v.toPrecision(5);
}

export interface MeasurePanelProps {
  run: string;
  frames: FrameStore;
  viewer: ViewerStore;
  measures: MeasureStore;
}

/**
 * Measurement tools and the run's measurements with their live figures: a ruler's length (µm), a
 * line profile (nearest-pixel samples, one per pixel of length, so every value is a pixel of the
 * frame), and a region's mean/std/min/max/count with a plot of its mean over time, all in the
 * frame's value unit. Delete or Backspace removes the selected measurement.
 */
export function MeasurePanel({ run, frames, viewer, measures }: MeasurePanelProps) {
  const { list, selected, tool } = useMeasureStore(measures, (s) => ({
    list: s.list,
    selected: s.selected,
    tool: s.tool,
  }));
  const view = useViewerStore(viewer, (s) => s.view);
  const [figures, setFigures] = useState<Record<string, Figures>>({});
  const cache = useRef(new Map<string, { key: string; figures: Figures }>());
  const histories = useRef(
    new Map<string, { seq: number; points: { t: number; mean: number }[] }>(),
  );

  useEffect(() => {
    const update = () => {
      const out: Record<string, Figures> = {};
      let changed = false;
      for (const m of measures.getState().list) {
        const latest = frames.get(run, streamKey(m.view, m.plane));
        if (!latest || !holdsSlice(latest)) continue;
        // A region of a 4096² slice is 16 M pixels: compute only for a new frame or a new shape.
        const key = `${latest.version}|${JSON.stringify(m)}`;
        const hit = cache.current.get(m.id);
        if (hit && hit.key === key) {
          out[m.id] = hit.figures;
          continue;
        }
        changed = true;
        const { header, pixels } = latest.frame;
        const [rows, cols] = header.shape;
        const image = { pixels, rows, cols };
        const pitch = pixelPitch(m.plane, header);
        const f: Figures = {
          unit: valueUnitOf(header),
          lengthUm: lineLengthUm(m.a, m.b, pitch),
          seq: header.seq,
        };
        if (m.kind === 'profile') f.profile = sampleProfile(image, m.a, m.b, pitch, 'nearest');
        if (m.kind === 'rectangle' || m.kind === 'ellipse') {
          f.stats = regionStats(image, m.kind, m.a, m.b);
          let h = histories.current.get(m.id);
          if (!h) histories.current.set(m.id, (h = { seq: -1, points: [] }));
          if (h.seq !== header.seq) {
            h.seq = header.seq;
            h.points = [...h.points, { t: latest.receivedWallAt, mean: f.stats.mean }].slice(
              -HISTORY_POINTS,
            );
          }
          f.history = h.points;
        }
        out[m.id] = f;
        cache.current.set(m.id, { key, figures: f });
      }
      for (const map of [histories.current, cache.current])
        for (const id of [...map.keys()])
          if (!measures.getState().list.some((m) => m.id === id)) {
            map.delete(id);
            changed = true;
          }
      if (changed) setFigures(out);
    };
    update();
    const timer = setInterval(update, REFRESH_MS);
    const unsubscribe = measures.subscribe(update);
    return () => {
      clearInterval(timer);
      unsubscribe();
    };
  }, [run, frames, measures]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (
        target &&
        (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)
      )
        return;
      const state = measures.getState();
      if ((e.key === 'Delete' || e.key === 'Backspace') && state.selected) {
        e.preventDefault();
        state.remove(state.selected);
      } else if (e.key === 'Escape' && state.tool) {
        state.setTool(null);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [measures]);

  const shown = list.filter((m) => m.view === view);
  return (
    <div className="flex flex-col gap-2 text-xs">
      <div role="group" aria-label="measurement tool" className="flex flex-wrap gap-1">
        {TOOLS.map((t) => (
          <button
            key={t.kind}
            type="button"
            aria-pressed={tool === t.kind}
            onClick={() => measures.getState().setTool(tool === t.kind ? null : t.kind)}
            className={`rounded border border-edge px-2 py-1 ${tool === t.kind ? 'bg-info/20 text-white' : 'text-muted hover:bg-white/10'}`}
          >
            {t.label}
          </button>
        ))}
      </div>
      <p className="text-muted">
        {tool
          ? 'Drag on a slice to draw; Esc puts the tool down.'
          : 'Pick a tool, then drag on any slice. Select a measurement and press Delete to remove it.'}
      </p>
      <ul aria-label="measurements" className="flex flex-col gap-2">
        {shown.map((m) => (
          <MeasurementItem
            key={m.id}
            m={m}
            f={figures[m.id]}
            selected={m.id === selected}
            onSelect={() => measures.getState().select(m.id === selected ? null : m.id)}
            onRemove={() => measures.getState().remove(m.id)}
          />
        ))}
      </ul>
    </div>
  );
}

function MeasurementItem({
  m,
  f,
  selected,
  onSelect,
  onRemove,
}: {
  m: Measurement;
  f: Figures | undefined;
  selected: boolean;
  onSelect: () => void;
  onRemove: () => void;
}) {
  const name = `${KIND_LABEL[m.kind]} ${m.id} on ${m.plane}`;
  return (
    <li
      aria-label={name}
      data-testid={`measurement-${m.id}`}
      className={`rounded border px-2 py-1 ${selected ? 'border-warn' : 'border-edge'}`}
    >
      <div className="flex items-center gap-2">
        <button
          type="button"
          aria-pressed={selected}
          onClick={onSelect}
          className="font-mono text-white hover:underline"
        >
          {name}
        </button>
        {f ? <span className="text-muted">{formatLengthUm(f.lengthUm)}</span> : null}
        <button
          type="button"
          aria-label={`Remove ${name}`}
          onClick={onRemove}
          className="ml-auto rounded border border-edge px-1 text-muted hover:bg-white/10"
        >
          ✕
        </button>
      </div>
      {f?.stats ? (
        <dl
          className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 font-mono"
          aria-label={`statistics of ${name}`}
        >
          <dt className="text-muted">mean</dt>
          <dd data-testid={`measurement-${m.id}-mean`}>
            {formatValue(f.stats.mean)} {f.unit}
          </dd>
          <dt className="text-muted">std</dt>
          <dd>
            {formatValue(f.stats.std)} {f.unit}
          </dd>
          <dt className="text-muted">min / max</dt>
          <dd>
            {formatValue(f.stats.min)} / {formatValue(f.stats.max)} {f.unit}
          </dd>
          <dt className="text-muted">count</dt>
          <dd>{f.stats.count} px</dd>
        </dl>
      ) : null}
      {f?.history && f.history.length > 1 ? (
        <div className="mt-1 h-20" aria-label={`mean of ${name} over time`}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={f.history} margin={{ top: 4, right: 4, bottom: 0, left: 0 }}>
              <XAxis dataKey="t" hide />
              <YAxis
                width={48}
                tick={{ fontSize: 10, fill: '#8b949e' }}
                domain={['auto', 'auto']}
                tickFormatter={formatValue}
              />
              <Line
                type="linear"
                dataKey="mean"
                stroke="#ffd54f"
                dot={false}
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        </div>
      ) : null}
      {f?.profile ? <ProfileChart name={name} samples={f.profile} unit={f.unit} /> : null}
    </li>
  );
}

function ProfileChart({
  name,
  samples,
  unit,
}: {
  name: string;
  samples: ProfileSample[];
  unit: string;
}) {
  const csv = () => {
    const lines = [`distance_um,col,row,value_${unit.replace(/[^A-Za-z0-9]/g, '_')}`];
    for (const s of samples) lines.push(`${s.distanceUm},${s.col},${s.row},${s.value}`);
    downloadBlob(
      new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }),
      `${name.replace(/\s+/g, '-')}.csv`,
    );
  };
  return (
    <div className="mt-1">
      <div className="h-32" aria-label={`profile of ${name}`}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={samples} margin={{ top: 4, right: 8, bottom: 12, left: 0 }}>
            <CartesianGrid stroke="#30363d" strokeDasharray="2 2" />
            <XAxis
              dataKey="distanceUm"
              type="number"
              domain={['dataMin', 'dataMax']}
              tick={{ fontSize: 10, fill: '#8b949e' }}
              tickFormatter={(v: number) => `${+v.toPrecision(3)}`}
              label={{
                value: 'µm',
                position: 'insideBottomRight',
                offset: -8,
                fontSize: 10,
                fill: '#8b949e',
              }}
            />
            <YAxis
              width={52}
              tick={{ fontSize: 10, fill: '#8b949e' }}
              domain={['auto', 'auto']}
              tickFormatter={formatValue}
            />
            <Tooltip
              contentStyle={{ background: '#161b22', border: '1px solid #30363d', fontSize: 11 }}
              formatter={(v) => [`${formatValue(Number(v))} ${unit}`, 'value']}
              labelFormatter={(l) => `${formatValue(Number(l))} µm`}
            />
            <Line
              type="linear"
              dataKey="value"
              stroke="#4dd0e1"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <button
        type="button"
        onClick={csv}
        className="rounded border border-edge px-2 py-0.5 text-muted hover:bg-white/10"
      >
        Download profile of {name} (CSV)
      </button>
    </div>
  );
}
