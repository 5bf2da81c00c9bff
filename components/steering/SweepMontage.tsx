'use client';

import { useEffect, useMemo, useRef, useState } from 'react';
import {
  CartesianGrid,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type {
  CommandRequestInput,
  Frame,
  SliceFrame,
  SliceHeader,
  SweepInfo,
} from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useLiveClient } from '@/components/live/LiveClientProvider';

const button = 'rounded border border-edge px-2 py-1 text-xs hover:bg-white/10 disabled:opacity-40';
const input = 'w-full rounded border border-edge bg-surface px-2 py-1 font-mono text-xs';
/** The montage changes once per sweep: sampling the frame store twice a second is plenty. */
const POLL_MS = 500;
const tooltipStyle = {
  background: '#161b22',
  border: '1px solid #30363d',
  fontSize: 11,
  color: '#e6edf3',
};
const axis = { stroke: '#8b949e', tick: { fontSize: 10 } };

/** A montage frame: a slice that carries its sweep's candidates. */
interface SweepFrame extends SliceFrame {
  header: SliceHeader & { sweep: SweepInfo };
}

const isSweep = (frame: Frame): frame is SweepFrame =>
  frame.header.stream !== 'volume' && frame.header.sweep !== undefined;

/** Draws tile `k` of a montage frame into `canvas`, grey over the whole montage's range. */
function drawTile(canvas: HTMLCanvasElement, frame: SweepFrame, k: number, lo: number, hi: number) {
  const info = frame.header.sweep;
  const [rows, cols] = info.tile;
  const stride = cols * info.centres.length;
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const image = ctx.createImageData(cols, rows);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = Math.max(
        0,
        Math.min(255, (Number(frame.pixels[r * stride + k * cols + c]) - lo) * scale),
      );
      const o = (r * cols + c) * 4;
      image.data[o] = image.data[o + 1] = image.data[o + 2] = v;
      image.data[o + 3] = 255;
    }
  ctx.putImageData(image, 0, 0);
}

function Tile({
  frame,
  k,
  range,
  suggested,
  busy,
  onApply,
}: {
  frame: SweepFrame;
  k: number;
  range: [number, number];
  suggested: boolean;
  busy: boolean;
  onApply: (centre: number) => void;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const info = frame.header.sweep;
  const centre = info.centres[k]!;
  useEffect(() => {
    if (ref.current) drawTile(ref.current, frame, k, range[0], range[1]);
  }, [frame, k, range]);
  return (
    <button
      type="button"
      data-testid={testIds.sweepCandidate(k)}
      data-centre={centre}
      aria-label={`Apply rotation centre ${centre} px (score ${info.scores[k]!.toFixed(4)})`}
      disabled={busy}
      onClick={() => onApply(centre)}
      className={`rounded border p-0.5 text-center hover:border-info disabled:opacity-40 ${suggested ? 'border-ok' : 'border-edge'}`}
    >
      <canvas ref={ref} className="block aspect-square w-full [image-rendering:pixelated]" />
      <span className="block font-mono text-[10px]">{centre} px</span>
    </button>
  );
}

/**
 * The rotation-centre sweep: start one (how many candidates, how far apart), see the candidates
 * as a labelled montage, each clickable to apply its centre, and their scores as a small plot
 * with the suggestion. The montage is the run's `sweep` stream, read from the frame store.
 */
export function SweepMontage({
  runId,
  busy,
  send,
}: {
  runId: string;
  busy: boolean;
  send: (request: CommandRequestInput) => Promise<void>;
}) {
  const live = useLiveClient();
  const [latest, setLatest] = useState<{ frame: SweepFrame; version: number } | null>(null);
  const [count, setCount] = useState('9');
  const [step, setStep] = useState('1');

  useEffect(() => {
    const timer = setInterval(() => {
      const got = live.frames.get(runId, 'sweep/xy');
      const frame = got?.frame;
      if (got && frame && isSweep(frame))
        setLatest((prev) =>
          prev?.version === got.version ? prev : { frame, version: got.version },
        );
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [live, runId]);

  const info: SweepInfo | undefined = latest?.frame.header.sweep;
  const range = useMemo(() => montageRange(latest?.frame), [latest]);
  const apply = (centre: number) =>
    send({ kind: 'set-parameters', values: { rotationCentre: centre } });
  const suggestedIndex = info
    ? info.centres.reduce(
        (best, c, k) =>
          Math.abs(c - info.suggested) < Math.abs(info.centres[best]! - info.suggested) ? k : best,
        0,
      )
    : -1;

  return (
    <div className="space-y-2">
      <form
        className="grid grid-cols-3 items-end gap-1 text-xs"
        onSubmit={(e) => {
          e.preventDefault();
          void send({ kind: 'centre-sweep', count: Number(count), step: Number(step) });
        }}
      >
        <label className="space-y-1">
          <span className="text-muted">Candidates</span>
          <input
            aria-label="Sweep candidates"
            className={input}
            type="number"
            min={3}
            max={25}
            value={count}
            onChange={(e) => setCount(e.target.value)}
          />
        </label>
        <label className="space-y-1">
          <span className="text-muted">Step (px)</span>
          <input
            aria-label="Sweep step (px)"
            className={input}
            type="number"
            min={0.05}
            step={0.05}
            value={step}
            onChange={(e) => setStep(e.target.value)}
          />
        </label>
        <button
          type="submit"
          data-testid={testIds.command('centre-sweep')}
          className={button}
          disabled={busy}
        >
          Sweep
        </button>
      </form>
      {info && latest && range ? (
        <>
          <div
            data-testid={testIds.sweepMontage}
            data-suggested={info.suggested}
            className="grid grid-cols-3 gap-1"
          >
            {info.centres.map((_, k) => (
              <Tile
                key={`${latest.version}-${k}`}
                frame={latest.frame}
                k={k}
                range={range}
                suggested={k === suggestedIndex}
                busy={busy}
                onApply={(c) => void apply(c)}
              />
            ))}
          </div>
          <div className="flex items-center justify-between gap-2 text-xs">
            <span>
              Suggested <span className="font-mono">{info.suggested.toFixed(2)} px</span>
            </span>
            <button
              type="button"
              className={button}
              disabled={busy}
              onClick={() => void apply(info.suggested)}
            >
              Apply {info.suggested.toFixed(2)} px
            </button>
          </div>
          <figure data-testid={testIds.sweepScores} aria-label={`Sweep scores: ${info.metric}`}>
            <div className="h-28">
              <ResponsiveContainer width="100%" height="100%">
                <LineChart
                  data={info.centres.map((centre, k) => ({ centre, score: info.scores[k] }))}
                  margin={{ top: 4, right: 4, bottom: 0, left: -12 }}
                >
                  <CartesianGrid stroke="#30363d" strokeDasharray="2 4" />
                  <XAxis
                    dataKey="centre"
                    type="number"
                    domain={['dataMin', 'dataMax']}
                    unit=" px"
                    {...axis}
                  />
                  <YAxis
                    domain={['auto', 'auto']}
                    width={52}
                    {...axis}
                    tickFormatter={(v: number) => v.toFixed(3)}
                  />
                  <Tooltip contentStyle={tooltipStyle} />
                  <ReferenceLine x={info.suggested} stroke="#3fb950" strokeDasharray="3 3" />
                  <Line dataKey="score" stroke="#58a6ff" dot={{ r: 2 }} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
            <figcaption className="text-[10px] text-muted">{info.metric}</figcaption>
          </figure>
        </>
      ) : (
        <p className="text-xs text-muted">No sweep yet.</p>
      )}
    </div>
  );
}

/** The montage's value range, so every tile shares one grey scale and tiles compare. */
function montageRange(frame: Frame | undefined): [number, number] | null {
  if (!frame) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of frame.pixels) {
    const n = Number(v);
    if (n < lo) lo = n;
    if (n > hi) hi = n;
  }
  return [lo, hi];
}
