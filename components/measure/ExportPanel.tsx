'use client';

import { useState } from 'react';
import { encodeNpy } from '@/lib/export/sliceNpy';
import { encodeSliceTiff, tiffTypeOf } from '@/lib/export/sliceTiff';
import { AXIS_NAMES, PLANE_AXES } from '@/lib/imaging/planeGeometry';
import { isSliceFrame, type Plane, PLANES, type SliceFrame, streamKey } from '@/lib/protocol';
import { valueUnitOf } from '@/lib/measure/valueUnit';
import type { FrameStore } from '@/components/live/FrameStore';
import { type ViewerStore, useViewerStore } from '@/stores/viewerStore';
import { downloadBlob } from './downloadBlob';
import { exportSlicePng } from './exportSlicePng';
import { formatValue } from './MeasurePanel';

export interface ExportPanelProps {
  run: string;
  frames: FrameStore;
  viewer: ViewerStore;
}

/** run, plane, position, acquisition time and window: what a figure needs to be traced back. */
export function sliceCaption(
  run: string,
  frame: SliceFrame,
  plane: Plane,
  window: { min: number; max: number } | null,
): string {
  const h = frame.header;
  const axis = AXIS_NAMES[PLANE_AXES[plane].normal];
  const um = h.position !== undefined ? h.position * h.voxelSize[PLANE_AXES[plane].normal] : null;
  const unit = valueUnitOf(h);
  const parts = [
    `run ${run}`,
    `${h.view} ${plane}`,
    h.position !== undefined ? `${axis} ${h.position} (${um} µm)` : `${axis} —`,
    new Date(h.acquiredAt).toISOString(),
  ];
  if (window) parts.push(`window ${formatValue(window.min)}–${formatValue(window.max)} ${unit}`);
  else parts.push(unit);
  return parts.join(' · ');
}

function fileStem(run: string, frame: SliceFrame, plane: Plane): string {
  const h = frame.header;
  return `${run}-${h.view}-${plane}${h.position !== undefined ? `-${h.position}` : ''}-seq${h.seq}`;
}

/**
 * Exports of what is on screen and of the numbers behind it: the slice as a PNG figure (scale bar,
 * colormap legend, caption), the raw slice as TIFF (uint16 or float32, the frame's own values) or
 * .npy, and the preview volume as .npy or HDF5.
 */
export function ExportPanel({ run, frames, viewer }: ExportPanelProps) {
  const [plane, setPlane] = useState<Plane>('xy');
  const [error, setError] = useState<string | null>(null);
  const view = useViewerStore(viewer, (s) => s.view);

  const current = (): SliceFrame | null => {
    const stored = frames.get(run, streamKey(view, plane))?.frame;
    const frame = stored && isSliceFrame(stored) ? stored : null;
    setError(frame ? null : `no ${plane} slice yet`);
    return frame;
  };
  const guard = (task: () => Promise<void> | void) => async () => {
    try {
      await task();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const png = guard(async () => {
    const frame = current();
    const { window, colormap } = viewer.getState();
    if (!frame || !window) return;
    const blob = await exportSlicePng({
      frame,
      plane,
      window,
      colormap,
      unit: valueUnitOf(frame.header),
      caption: sliceCaption(run, frame, plane, window),
    });
    downloadBlob(blob, `${fileStem(run, frame, plane)}.png`);
  });
  const tiff = guard(() => {
    const frame = current();
    if (!frame) return;
    const [rows, cols] = frame.header.shape;
    const bytes = encodeSliceTiff(
      frame.pixels,
      rows,
      cols,
      tiffTypeOf(frame.pixels),
      sliceCaption(run, frame, plane, null),
    );
    downloadBlob(new Blob([bytes], { type: 'image/tiff' }), `${fileStem(run, frame, plane)}.tif`);
  });
  const npy = guard(() => {
    const frame = current();
    if (!frame) return;
    const bytes = encodeNpy(frame.pixels, frame.header.shape);
    downloadBlob(new Blob([bytes]), `${fileStem(run, frame, plane)}.npy`);
  });
  /** The preview in the value unit: it keeps 256 levels of the producer's range, back as float32. */
  const previewValues = () => {
    const v = frames.volume(run, view);
    if (!v || v.version === 0) {
      setError('no preview volume yet');
      return null;
    }
    setError(null);
    const [lo, hi] = v.range;
    return { v, values: Float32Array.from(v.data, (q) => lo + (q / 255) * (hi - lo)) };
  };
  const volume = guard(() => {
    const preview = previewValues();
    if (!preview) return;
    const [x, y, z] = preview.v.shape;
    downloadBlob(
      new Blob([encodeNpy(preview.values, [z, y, x])]),
      `${run}-${view}-preview-${x}x${y}x${z}.npy`,
    );
  });
  const volumeHdf5 = guard(async () => {
    const preview = previewValues();
    if (!preview) return;
    const { v, values } = preview;
    // h5wasm (4 MB with its WebAssembly) loads on the first HDF5 export, never with the page.
    const [{ default: h5 }, { encodeVolumeHdf5 }] = await Promise.all([
      import('h5wasm'),
      import('@/lib/export/volumeHdf5'),
    ]);
    const slice = frames.get(run, streamKey(view, 'xy'))?.frame.header;
    const [x, y, z] = v.shape;
    const bytes = await encodeVolumeHdf5(h5, `/loupe-preview-${Date.now()}.h5`, {
      values,
      shape: v.shape,
      voxelSizeUm: v.voxelSize,
      unit: slice ? valueUnitOf(slice) : '',
      description: slice?.description ?? '',
      caption: `run ${run} · ${view} preview volume ${x}×${y}×${z} · ${new Date().toISOString()}`,
    });
    downloadBlob(
      new Blob([bytes.slice().buffer], { type: 'application/x-hdf5' }),
      `${run}-${view}-preview-${x}x${y}x${z}.h5`,
    );
  });

  const button = 'rounded border border-edge px-2 py-1 text-muted hover:bg-white/10';
  return (
    <div className="flex flex-col gap-2 text-xs">
      <div role="radiogroup" aria-label="slice to export" className="flex gap-1">
        {PLANES.map((p) => (
          <button
            key={p}
            type="button"
            role="radio"
            aria-checked={plane === p}
            onClick={() => setPlane(p)}
            className={`rounded border border-edge px-2 py-1 font-mono uppercase ${plane === p ? 'bg-info/20 text-white' : 'text-muted'}`}
          >
            {p}
          </button>
        ))}
      </div>
      <div className="flex flex-wrap gap-1">
        <button type="button" className={button} onClick={png}>
          Export slice as PNG
        </button>
        <button type="button" className={button} onClick={tiff}>
          Export raw slice as TIFF
        </button>
        <button type="button" className={button} onClick={npy}>
          Export raw slice as .npy
        </button>
        <button type="button" className={button} onClick={volume}>
          Export preview volume as .npy
        </button>
        <button type="button" className={button} onClick={volumeHdf5}>
          Export preview volume as HDF5
        </button>
      </div>
      {error ? (
        <p role="alert" className="text-bad">
          {error}
        </p>
      ) : null}
    </div>
  );
}
