import type { Plane } from '@/lib/protocol';

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
  /** Increments on every change, so overlays redraw only then. */
  version: number;
}

/**
 * The seam between the slice views and what draws over them (measurements): each view publishes
 * its pan and zoom here when it draws; overlays read them each animation frame.
 */
export class SliceViewports {
  private readonly views = new Map<Plane, SliceViewport>();

  publish(plane: Plane, v: Omit<SliceViewport, 'version'>): void {
    const old = this.views.get(plane);
    if (
      old &&
      old.centerCol === v.centerCol &&
      old.centerRow === v.centerRow &&
      old.scale === v.scale &&
      old.width === v.width &&
      old.height === v.height
    )
      return;
    this.views.set(plane, { ...v, version: (old?.version ?? 0) + 1 });
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
