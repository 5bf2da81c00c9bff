'use client';

import { useEffect } from 'react';
import { COLORMAPS } from '@/lib/imaging/colormaps';
import type { ViewerStore } from '@/stores/viewerStore';

/** The shortcuts, as the hint under the viewers shows them. */
export const SHORTCUTS: readonly [key: string, what: string][] = [
  ['A', 'auto-contrast'],
  ['R', 'reset view'],
  ['1–5', 'colormap'],
  ['M / D / I', 'volume MIP / DVR / iso'],
  ['Esc', 'clear crosshair'],
  ['wheel', 'zoom'],
  ['drag', 'pan'],
  ['click', 'pick point'],
];

/** Keyboard shortcuts of the run page's viewers; typing in a field never triggers them. */
export function useViewerShortcuts(store: ViewerStore): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      const s = store.getState();
      const key = e.key.toLowerCase();
      const index = Number.parseInt(key, 10);
      if (key === 'a') s.requestAuto();
      else if (key === 'r') s.resetView();
      else if (key === 'm') s.setVolumeMode('mip');
      else if (key === 'd') s.setVolumeMode('dvr');
      else if (key === 'i') s.setVolumeMode('iso');
      else if (key === 'escape') s.select(null);
      else if (index >= 1 && index <= COLORMAPS.length) s.setColormap(COLORMAPS[index - 1]!);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
