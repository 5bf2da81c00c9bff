'use client';

import { AXIS_NAMES } from '@/lib/imaging/planeGeometry';
import { testIds } from '@/lib/testIds';
import {
  FULL_CLIP,
  useViewerStore,
  type ClipBox,
  type ViewerStore,
  type VolumeMode,
} from '@/stores/viewerStore';
import { TransferFunctionEditor } from './TransferFunctionEditor';

const MODES: [VolumeMode, string, string][] = [
  ['mip', 'MIP', 'M'],
  ['dvr', 'DVR', 'D'],
  ['iso', 'Iso-surface', 'I'],
];

/** Volume rendering mode and its parameters, and the clipping box. */
export function VolumePanel({ store }: { store: ViewerStore }) {
  const { mode, iso, clip } = useViewerStore(store, (s) => ({
    mode: s.volumeMode,
    iso: s.isoLevel,
    clip: s.clip,
  }));
  const setClip = (axis: number, end: 0 | 1, value: number) => {
    const next = clip.map((r) => [...r]) as ClipBox;
    const range = next[axis]!;
    range[end] = value;
    // Keep at least 1 % of the volume between the two faces.
    if (range[1] - range[0] < 0.01) return;
    store.getState().setClip(next);
  };
  return (
    <div className="flex flex-col gap-3 text-sm">
      <div
        className="flex flex-wrap items-center gap-2"
        role="radiogroup"
        aria-label="volume rendering"
      >
        {MODES.map(([m, label, key]) => (
          <button
            key={m}
            type="button"
            role="radio"
            aria-checked={mode === m}
            data-testid={testIds.volumeMode(m)}
            onClick={() => store.getState().setVolumeMode(m)}
            className={`rounded border px-2 py-1 text-xs ${mode === m ? 'border-info bg-info/15 text-white' : 'border-edge text-muted hover:bg-white/10'}`}
          >
            {label} <kbd className="text-muted">{key}</kbd>
          </button>
        ))}
      </div>
      {mode === 'iso' ? (
        <label className="flex items-center gap-2 text-xs">
          <span className="w-16 text-muted">iso level</span>
          <input
            type="range"
            min={0}
            max={1}
            step={0.01}
            value={iso}
            onChange={(e) => store.getState().setIsoLevel(e.target.valueAsNumber)}
            className="flex-1"
          />
          <span className="w-10 text-right font-mono">{iso.toFixed(2)}</span>
        </label>
      ) : null}
      {mode === 'dvr' ? <TransferFunctionEditor store={store} /> : null}
      <fieldset className="flex flex-col gap-1 text-xs">
        <legend className="mb-1 flex w-full items-center justify-between text-muted">
          clipping box
          <button
            type="button"
            className="rounded border border-edge px-2 hover:bg-white/10"
            onClick={() => store.getState().setClip(FULL_CLIP)}
          >
            full
          </button>
        </legend>
        {clip.map(([lo, hi], axis) => (
          <div key={axis} className="flex items-center gap-2">
            <span className="w-4 font-mono">{AXIS_NAMES[axis]}</span>
            <input
              type="range"
              min={0}
              max={1}
              step={0.01}
              value={lo}
              aria-label={`clip ${AXIS_NAMES[axis]} from`}
              onChange={(e) => setClip(axis, 0, e.target.valueAsNumber)}
              className="flex-1"
            />
            <input
              type="range"
              min={0}
              max={1}
              step={0.01}
              value={hi}
              aria-label={`clip ${AXIS_NAMES[axis]} to`}
              onChange={(e) => setClip(axis, 1, e.target.valueAsNumber)}
              className="flex-1"
            />
          </div>
        ))}
      </fieldset>
    </div>
  );
}
