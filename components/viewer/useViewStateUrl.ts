'use client';

import { useEffect } from 'react';
import { decodeViewState, encodeViewState, type ViewState } from '@/lib/viewState/viewStateCodec';
import type { PlaneStore } from '@/stores/planeStore';
import type { ViewerStore } from '@/stores/viewerStore';

/** How long the URL waits for a drag or a typed number to settle before it is rewritten. */
const URL_SETTLE_MS = 300;

/** The view state a page was opened with (its URL), decoded; invalid fields are dropped. */
export function initialViewState(): ViewState {
  if (typeof window === 'undefined') return {};
  return decodeViewState(window.location.search).state;
}

/**
 * Applies the opening URL's view to the stores once, then keeps the URL (replaceState, no history
 * entry per nudge) in step with the view, so reloading, copying or sharing it opens the same view.
 */
export function useViewStateUrl(store: ViewerStore, planes: PlaneStore): void {
  useEffect(() => {
    const start = initialViewState();
    const s = store.getState();
    if (start.view && start.view !== s.view) s.setView(start.view);
    if (start.window) s.setWindow(start.window, 'user');
    if (start.colormap) s.setColormap(start.colormap);
    if (start.volumeMode) s.setVolumeMode(start.volumeMode);
    if (start.transfer) s.setTransfer(start.transfer);
    if (start.positions) planes.getState().setPositions(start.positions);

    let timer: ReturnType<typeof setTimeout> | null = null;
    const write = () => {
      timer = null;
      const v = store.getState();
      const state: ViewState = {
        view: v.view === 'roi' ? 'roi' : 'full',
        positions: planes.getState().positions,
        ...(v.window && v.window.max > v.window.min && { window: v.window }),
        colormap: v.colormap,
        volumeMode: v.volumeMode,
        transfer: v.transfer,
      };
      // Keep parameters this page does not own (another tool's, e.g. measurements).
      const q = new URLSearchParams(window.location.search);
      for (const [key, value] of encodeViewState(state)) q.set(key, value);
      const next = `${window.location.pathname}?${q.toString()}${window.location.hash}`;
      if (next !== `${window.location.pathname}${window.location.search}${window.location.hash}`)
        window.history.replaceState(window.history.state, '', next);
    };
    const soon = () => {
      if (!timer) timer = setTimeout(write, URL_SETTLE_MS);
    };
    const offStore = store.subscribe((a, b) => {
      if (
        a.view !== b.view ||
        a.window !== b.window ||
        a.colormap !== b.colormap ||
        a.volumeMode !== b.volumeMode ||
        a.transfer !== b.transfer
      )
        soon();
    });
    const offPlanes = planes.subscribe((a, b) => {
      if (a.positions !== b.positions) soon();
    });
    return () => {
      offStore();
      offPlanes();
      if (timer) clearTimeout(timer);
    };
  }, [store, planes]);
}
