'use client';

import { COLORMAP_LABELS, COLORMAPS, colormapGradient } from '@/lib/imaging/colormaps';
import { testIds } from '@/lib/testIds';
import { useViewerStore, type ViewerStore } from '@/stores/viewerStore';
import { SHORTCUTS } from './useViewerShortcuts';
import { WindowField } from './WindowField';

const button = 'rounded border border-edge px-3 py-1 text-sm hover:bg-white/10';

/** Window numbers, auto-contrast, colormap, view reset and the picked point, with their shortcuts. */
/** What the "(producer)" beside the window means, and its siblings. */
const WINDOW_SOURCE_HELP = {
  producer: "the data range the producer states in each frame's header",
  auto: 'auto-contrast: the 0.5–99.5 % percentiles of the newest slice',
  user: 'set by you',
} as const;

export function ViewerToolbar({
  store,
  unit,
  range,
}: {
  store: ViewerStore;
  /** Unit of the values (frame header), shown beside the window fields. */
  unit?: string | undefined;
  /** The data's range, for the arrow keys' step; default the window's own span. */
  range?: [number, number] | undefined;
}) {
  const { window, windowSource, colormap, selected } = useViewerStore(store, (s) => ({
    window: s.window,
    windowSource: s.windowSource,
    colormap: s.colormap,
    selected: s.selected,
  }));
  const set = (which: 'min' | 'max', value: number): boolean => {
    if (!window || !Number.isFinite(value)) return false;
    const next = { ...window, [which]: value };
    if (!(next.max > next.min)) return false;
    store.getState().setWindow(next, 'user');
    return true;
  };
  const span = range ? range[1] - range[0] : window ? window.max - window.min : 1;
  return (
    <div className="flex flex-col gap-2 text-sm">
      <div className="flex flex-wrap items-center gap-3">
        <span className="text-muted">Window</span>
        {window ? (
          <>
            <WindowField
              label="min"
              value={window.min}
              span={span}
              unit={unit}
              testId={testIds.windowMin}
              onValue={(v) => set('min', v)}
            />
            <WindowField
              label="max"
              value={window.max}
              span={span}
              unit={unit}
              testId={testIds.windowMax}
              onValue={(v) => set('max', v)}
            />
            <span
              className="text-xs text-muted"
              title={WINDOW_SOURCE_HELP[windowSource ?? 'user']}
              aria-label={`window set by ${windowSource}: ${WINDOW_SOURCE_HELP[windowSource ?? 'user']}`}
            >
              ({windowSource})
            </span>
          </>
        ) : (
          <span className="text-muted">waiting for the first frame…</span>
        )}
        <button
          type="button"
          data-testid={testIds.autoContrast}
          onClick={() => store.getState().requestAuto()}
          className={button}
          title="Auto contrast from the 0.5–99.5 % percentiles (A)"
        >
          Auto <kbd className="text-muted">A</kbd>
        </button>
        <button
          type="button"
          data-testid={testIds.resetView}
          onClick={() => store.getState().resetView()}
          className={button}
          title="Fit every plane again (R)"
        >
          Reset view <kbd className="text-muted">R</kbd>
        </button>
        <span className="ml-auto font-mono text-xs text-muted" data-testid={testIds.selectedPoint}>
          {selected
            ? `picked x ${selected[0]} y ${selected[1]} z ${selected[2]}`
            : 'click a plane to pick a point'}
        </span>
      </div>
      <div className="flex flex-wrap items-center gap-2" role="radiogroup" aria-label="colormap">
        <span className="text-muted">Colormap</span>
        {COLORMAPS.map((name, i) => (
          <button
            key={name}
            type="button"
            role="radio"
            aria-checked={colormap === name}
            data-testid={testIds.colormap(name)}
            onClick={() => store.getState().setColormap(name)}
            className={`flex items-center gap-2 rounded border px-2 py-1 text-xs ${
              colormap === name
                ? 'border-info bg-info/15 text-white'
                : 'border-edge text-muted hover:bg-white/10'
            }`}
            title={`${COLORMAP_LABELS[name]} (${i + 1})`}
          >
            <span
              className="h-3 w-10 rounded-sm"
              style={{ backgroundImage: colormapGradient(name) }}
            />
            {COLORMAP_LABELS[name]} <kbd className="text-muted">{i + 1}</kbd>
          </button>
        ))}
      </div>
      <p className="flex flex-wrap gap-y-1 text-xs text-muted" data-testid={testIds.shortcutHint}>
        {SHORTCUTS.map(([key, what]) => (
          <span key={key} className="mr-3 whitespace-nowrap">
            <kbd className="rounded border border-edge px-1 font-mono text-[11px] text-white">
              {key}
            </kbd>{' '}
            {what}
          </span>
        ))}
      </p>
    </div>
  );
}
