'use client';

import { useEffect } from 'react';
import { PLANES, type View } from '@/lib/protocol';
import { measurementsParam } from '@/lib/measure/measurementsParam';
import {
  BUILT_IN,
  decodeViewState,
  encodeViewState,
  type PanZoom,
  type ViewState,
} from '@/lib/viewState/viewStateCodec';
import type { SliceViewports } from '@/components/measure/SliceViewports';
import type { MeasureStore } from '@/stores/measureStore';
import type { PlaneStore } from '@/stores/planeStore';
import type { ViewerStore } from '@/stores/viewerStore';

/** What else of a page the URL carries: its measurements and each slice view's pan and zoom. */
export interface ViewStateTools {
  measures: MeasureStore;
  viewports: SliceViewports;
}

/** How long the URL waits for a drag or a typed number to settle before it is rewritten. */
const URL_SETTLE_MS = 300;

/** The view state a page was opened with (its URL), decoded; invalid fields are dropped. */
export function initialViewState(): ViewState {
  if (typeof window === 'undefined') return {};
  return decodeViewState(window.location.search).state;
}

/** Pan and zoom of the views the user (or a link) moved; fitted views are left out of the link. */
function panZoomOf(viewports: SliceViewports, view: View): ViewState['panZoom'] {
  const out: Partial<Record<(typeof PLANES)[number], PanZoom>> = {};
  for (const plane of PLANES) {
    const v = viewports.get(plane);
    // A view that has not drawn yet still holds what the link asked for.
    const pz = v
      ? v.fitted
        ? undefined
        : { zoom: v.zoom, centerCol: v.centerCol, centerRow: v.centerRow }
      : viewports.requestedFor(plane, view);
    if (pz) out[plane] = pz;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Applies the opening URL's view to the stores once, then keeps the URL (replaceState, no history
 * entry per nudge) in step with the view, so reloading, copying or sharing it opens the same view.
 */
export function useViewStateUrl(
  store: ViewerStore,
  planes: PlaneStore,
  tools?: ViewStateTools,
): void {
  useEffect(() => {
    const opened = decodeViewState(window.location.search);
    const start = opened.state;
    const s = store.getState();
    const startList = opened.extras[measurementsParam.key];
    const parsedList = measurementsParam.schema.safeParse(startList);
    if (tools && parsedList.success) tools.measures.getState().replace(parsedList.data);
    if (tools && start.panZoom)
      for (const plane of PLANES) {
        const pz = start.panZoom[plane];
        if (pz) tools.viewports.request(plane, pz, start.view ?? 'full');
      }
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
      const panZoom = tools && panZoomOf(tools.viewports, v.view);
      if (panZoom) state.panZoom = panZoom;
      const list = tools?.measures.getState().list ?? [];
      const extras = list.length > 0 ? { [measurementsParam.key]: list } : {};
      // Keep parameters this page does not own (another tool's); rewrite the ones it does.
      const q = new URLSearchParams(window.location.search);
      for (const key of BUILT_IN) q.delete(key);
      if (tools) q.delete(measurementsParam.key);
      for (const [key, value] of encodeViewState(state, extras)) q.set(key, value);
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
    const offMeasures = tools?.measures.subscribe((a, b) => {
      if (a.list !== b.list) soon();
    });
    const offViewports = tools?.viewports.subscribe(soon);
    return () => {
      offStore();
      offPlanes();
      offMeasures?.();
      offViewports?.();
      if (timer) clearTimeout(timer);
    };
  }, [store, planes, tools]);
}
