import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { createStore } from 'zustand/vanilla';
import type { Colormap } from '@/lib/imaging/colormaps';
import type { Point3 } from '@/lib/imaging/planeGeometry';
import type { TransferPoint } from '@/lib/imaging/transferFunction';
import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import type { View } from '@/lib/protocol';

/** How the volume is rendered: maximum-intensity projection, direct volume rendering, iso-surface. */
export type VolumeMode = 'mip' | 'dvr' | 'iso';

export type { TransferPoint };

/** Axis-aligned clipping box in normalised volume coordinates, each axis [min, max] ⊂ [0, 1]. */
export type ClipBox = [[number, number], [number, number], [number, number]];

export interface ViewerState {
  /** Display window in data units, shared by the three planes; null until the first frame. */
  window: DisplayWindow | null;
  /** Who set the window last: the producer's stated range, auto-contrast, or the user. */
  windowSource: 'producer' | 'auto' | 'user' | null;
  colormap: Colormap;
  /** Voxel picked by clicking a plane; the crosshair of every plane goes through it. */
  selected: Point3 | null;
  /** Incremented to make every plane fit its image again (pan/zoom reset). */
  viewEpoch: number;
  /** Incremented to ask for auto-contrast on the next frame that is available. */
  autoEpoch: number;
  volumeMode: VolumeMode;
  /** Iso-surface threshold, normalised to the volume's data range [0, 1]. */
  isoLevel: number;
  transfer: TransferPoint[];
  clip: ClipBox;
  /** Which reconstruction the slices show: the whole field of view or the zoomed region. */
  view: View;
  setView(view: View): void;
  setWindow(window: DisplayWindow, source: NonNullable<ViewerState['windowSource']>): void;
  setColormap(colormap: Colormap): void;
  select(point: Point3 | null): void;
  resetView(): void;
  requestAuto(): void;
  setVolumeMode(mode: VolumeMode): void;
  setIsoLevel(level: number): void;
  setTransfer(points: TransferPoint[]): void;
  setClip(clip: ClipBox): void;
}

/** A ramp that hides the background (air, ~lowest 20 %) and makes dense material opaque. */
export const DEFAULT_TRANSFER: TransferPoint[] = [
  { x: 0, opacity: 0 },
  { x: 0.2, opacity: 0 },
  { x: 0.6, opacity: 0.35 },
  { x: 1, opacity: 0.9 },
];

export const FULL_CLIP: ClipBox = [
  [0, 1],
  [0, 1],
  [0, 1],
];

/** Display state of one run page's viewers (window, colormap, picked point, volume settings). */
export function createViewerStore() {
  return createStore<ViewerState>()((set) => ({
    window: null,
    windowSource: null,
    colormap: 'grey',
    selected: null,
    viewEpoch: 0,
    autoEpoch: 0,
    volumeMode: 'mip',
    isoLevel: 0.45,
    transfer: DEFAULT_TRANSFER,
    clip: FULL_CLIP,
    view: 'full',
    setView: (view) => set((s) => ({ view, viewEpoch: s.viewEpoch + 1, selected: null })),
    setWindow: (window, windowSource) => set({ window, windowSource }),
    setColormap: (colormap) => set({ colormap }),
    select: (selected) => set({ selected }),
    resetView: () => set((s) => ({ viewEpoch: s.viewEpoch + 1 })),
    requestAuto: () => set((s) => ({ autoEpoch: s.autoEpoch + 1 })),
    setVolumeMode: (volumeMode) => set({ volumeMode }),
    setIsoLevel: (isoLevel) => set({ isoLevel: Math.min(1, Math.max(0, isoLevel)) }),
    setTransfer: (transfer) => set({ transfer: [...transfer].sort((a, b) => a.x - b.x) }),
    setClip: (clip) => set({ clip }),
  }));
}
export type ViewerStore = ReturnType<typeof createViewerStore>;

/** Narrow, shallow-compared selection from a viewer store (components never subscribe to all of it). */
export function useViewerStore<T>(store: ViewerStore, selector: (s: ViewerState) => T): T {
  return useStore(store, useShallow(selector));
}
