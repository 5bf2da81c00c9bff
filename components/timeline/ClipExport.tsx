'use client';

import { useState } from 'react';
import { encodeTiffStack } from '@/lib/export/tiffStack';
import { tiffTypeOf } from '@/lib/export/sliceTiff';
import { autoWindow } from '@/lib/imaging/windowLevel';
import { type Frame, type Plane, PLANES, streamKey } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useTimelineStore } from '@/stores/timelineStore';
import type { ViewerStore } from '@/stores/viewerStore';
import { downloadBlob } from '@/components/measure/downloadBlob';
import { recordClip } from './recordClip';
import type { TimelineController } from './TimelineController';

/** Most frames one export reads: 200 s at 10 Hz, a few hundred MB of float32 slices at most. */
const MAX_CLIP_FRAMES = 2000;
const CLIP_FPS = 10;

/**
 * A time range of one plane out of the recording: a WebM movie of the slices as shown (window,
 * colormap, scale bar, time stamp; encoded in this tab with WebCodecs) or the raw frames as a TIFF stack.
 * The range is in seconds from the start of the recording.
 */
export function ClipExport({
  controller,
  viewer,
}: {
  controller: TimelineController;
  viewer: ViewerStore;
}) {
  const from = useTimelineStore(controller.store, (s) => s.from);
  const to = useTimelineStore(controller.store, (s) => s.to);
  const [plane, setPlane] = useState<Plane>('xy');
  const [range, setRange] = useState<{ start: string; end: string } | null>(null);
  const [status, setStatus] = useState<{ text: string; frames?: number; busy: boolean }>({
    text: '',
    busy: false,
  });
  const span = from !== null && to !== null ? (to - from) / 1000 : null;
  const shown = range ?? {
    start: span === null ? '0' : Math.max(0, span - 5).toFixed(1),
    end: span === null ? '0' : span.toFixed(1),
  };

  const read = async (): Promise<{ frames: Frame[]; name: string } | null> => {
    if (from === null) return null;
    const start = from + Number(shown.start) * 1000;
    const end = from + Number(shown.end) * 1000;
    if (!(end >= start)) {
      setStatus({ text: 'the end is before the start', busy: false });
      return null;
    }
    const view = viewer.getState().view;
    setStatus({ text: 'reading frames…', busy: true });
    const frames = await controller.api.all(streamKey(view, plane), start, end, MAX_CLIP_FRAMES);
    if (frames.length === 0) {
      setStatus({ text: `no ${view} ${plane} frames in that range`, busy: false });
      return null;
    }
    const f = frames[0]!.header;
    return { frames, name: `${controller.api.run}-${view}-${plane}-seq${f.seq}-${frames.length}f` };
  };

  const movie = async () => {
    try {
      const got = await read();
      if (!got) return;
      const s = viewer.getState();
      const window = s.window ?? autoWindow(got.frames[0]!.pixels);
      const blob = await recordClip({
        frames: got.frames,
        plane,
        window,
        colormap: s.colormap,
        fps: CLIP_FPS,
        title: `run ${controller.api.run} · ${s.view} ${plane}`,
        onProgress: (n) => setStatus({ text: `encoding ${n} / ${got.frames.length}…`, busy: true }),
      });
      downloadBlob(blob, `${got.name}.webm`);
      setStatus({
        text: `${got.frames.length} frames → ${got.name}.webm`,
        frames: got.frames.length,
        busy: false,
      });
    } catch (error) {
      setStatus({ text: (error as Error).message, busy: false });
    }
  };

  const stack = async () => {
    try {
      const got = await read();
      if (!got) return;
      const type = tiffTypeOf(got.frames[0]!.pixels);
      const buffer = encodeTiffStack(
        got.frames.map((f) => {
          const [rows, cols] = f.header.shape as [number, number];
          return {
            pixels: f.pixels,
            rows,
            cols,
            description: `run ${f.header.run} | ${f.header.view} ${plane} | seq ${f.header.seq} | ${new Date(f.header.acquiredAt).toISOString()}${f.header.unit ? ` | ${f.header.unit}` : ''}`,
          };
        }),
        type,
      );
      downloadBlob(new Blob([buffer], { type: 'image/tiff' }), `${got.name}.tif`);
      setStatus({
        text: `${got.frames.length} frames → ${got.name}.tif`,
        frames: got.frames.length,
        busy: false,
      });
    } catch (error) {
      setStatus({ text: (error as Error).message, busy: false });
    }
  };

  return (
    <div
      role="group"
      aria-label="Export a clip"
      data-testid={testIds.clipExport}
      className="mt-2 flex flex-wrap items-center gap-2 text-xs"
    >
      <span className="text-muted">Clip</span>
      <label className="flex items-center gap-1">
        plane
        <select
          aria-label="Clip plane"
          value={plane}
          onChange={(e) => setPlane(e.target.value as Plane)}
          className="rounded border border-edge bg-panel px-1"
        >
          {PLANES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label className="flex items-center gap-1">
        from
        <input
          type="number"
          aria-label="Clip start, seconds into the recording"
          step={0.1}
          min={0}
          value={shown.start}
          onChange={(e) => setRange({ ...shown, start: e.target.value })}
          className="w-20 rounded border border-edge bg-panel px-1"
        />
      </label>
      <label className="flex items-center gap-1">
        to
        <input
          type="number"
          aria-label="Clip end, seconds into the recording"
          step={0.1}
          min={0}
          value={shown.end}
          onChange={(e) => setRange({ ...shown, end: e.target.value })}
          className="w-20 rounded border border-edge bg-panel px-1"
        />
      </label>
      <span className="text-muted">s{span !== null ? ` of ${span.toFixed(1)}` : ''}</span>
      <button
        type="button"
        aria-label="Export the clip as a WebM movie"
        disabled={status.busy || from === null}
        onClick={() => void movie()}
        className="rounded border border-edge px-2 py-0.5 hover:bg-white/10 disabled:opacity-40"
      >
        WebM
      </button>
      <button
        type="button"
        aria-label="Export the clip's raw frames as a TIFF stack"
        disabled={status.busy || from === null}
        onClick={() => void stack()}
        className="rounded border border-edge px-2 py-0.5 hover:bg-white/10 disabled:opacity-40"
      >
        TIFF stack
      </button>
      <span role="status" data-frames={status.frames ?? ''} className="text-muted">
        {status.text}
      </span>
    </div>
  );
}
