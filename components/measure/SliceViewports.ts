import type { Plane, View } from '@/lib/protocol';
import type { PanZoom } from '@/lib/viewState/viewStateCodec';

/** Where a slice view draws its image: enough to map image pixels to CSS pixels of its canvas. */
export interface SliceViewport {
  /** Image point at the canvas centre, image pixels. */
  centerCol: number;
  centerRow: number;
  /** CSS pixels per image pixel. */
  scale: number;
  /** Canvas size, CSS pixels. */
  width: number;
  height: number;
  /** Zoom relative to the plane fitting the view; with the centre, the view's pan and zoom. */
  zoom: number;
  /** Whether the view shows the plane as fitted (no pan or zoom of the user's). */
  fitted: boolean;
  /** The reconstruction drawn (full or zoomed region). */
  view: View;
  /** Increments on every change, so overlays redraw only then. */
  version: number;
}

/**
 * The seam between the slice views and what draws over them (measurements): each view publishes
 * its pan and zoom here when it draws; overlays read them each animation frame.
 */
export class SliceViewports {
  private readonly views = new Map<Plane, SliceViewport>();
  private readonly requested = new Map<Plane, PanZoom & { view: View }>();
  private readonly listeners = new Set<() => void>();

  publish(plane: Plane, v: Omit<SliceViewport, 'version'>): void {
    const old = this.views.get(plane);
    if (
      old &&
      old.centerCol === v.centerCol &&
      old.centerRow === v.centerRow &&
      old.scale === v.scale &&
      old.width === v.width &&
      old.height === v.height &&
      old.zoom === v.zoom &&
      old.fitted === v.fitted &&
      old.view === v.view
    )
      return;
    this.views.set(plane, { ...v, version: (old?.version ?? 0) + 1 });
    for (const listener of this.listeners) listener();
  }

  /** Called after every published change (the URL state writer listens). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Asks a plane's view to show `panZoom` (from a link) when it fits a `view` frame, instead of
   * fitting the plane; it stands until the user pans, zooms or resets the view.
   */
  request(plane: Plane, panZoom: PanZoom, view: View): void {
    this.requested.set(plane, { ...panZoom, view });
  }

  /** The pan and zoom a link asked for, if it is for `view`. */
  requestedFor(plane: Plane, view: View): PanZoom | undefined {
    const r = this.requested.get(plane);
    return r && r.view === view
      ? { zoom: r.zoom, centerCol: r.centerCol, centerRow: r.centerRow }
      : undefined;
  }

  /** The user moved the view: the link's request is spent. */
  dropRequest(plane: Plane): void {
    this.requested.delete(plane);
  }

  get(plane: Plane): SliceViewport | undefined {
    return this.views.get(plane);
  }
}

export function imageToScreen(
  v: SliceViewport,
  col: number,
  row: number,
): { x: number; y: number } {
  return {
    x: (col - v.centerCol) * v.scale + v.width / 2,
    y: (row - v.centerRow) * v.scale + v.height / 2,
  };
}

export function screenToImage(
  v: SliceViewport,
  x: number,
  y: number,
): { col: number; row: number } {
  return {
    col: (x - v.width / 2) / v.scale + v.centerCol,
    row: (y - v.height / 2) / v.scale + v.centerRow,
  };
}
