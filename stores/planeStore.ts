import { createStore } from 'zustand/vanilla';
import type { Plane } from '@/lib/protocol';
import { PLANE_AXES, type Point3 } from '@/lib/imaging/planeGeometry';

/**
 * Where the three slice planes should be, per plane along its normal axis, in voxels of the full
 * view's volume. `steer`: a plane position is a `set-slices` command the consumer applies; else it
 * is local to this page and drawn from the nearest plane of the preview volume.
 */
export interface PlaneState {
  /** Positions asked for; a plane not named shows wherever the consumer reconstructs it. */
  positions: Partial<Record<Plane, number>>;
  /** Where the live frames are, and how many voxels each plane's normal spans (from headers). */
  live: Partial<Record<Plane, { position: number; extent: number }>>;
  steer: boolean;
  setSteer(steer: boolean): void;
  /** Moves every plane through `point` (x, y, z voxels), as a click on one plane does. */
  moveTo(point: Point3): void;
  /** Steps one plane by `delta` voxels, clamped to the volume. */
  step(plane: Plane, delta: number): void;
  setPositions(positions: Partial<Record<Plane, number>>): void;
  noteLive(plane: Plane, position: number, extent: number): void;
}

export function createPlaneStore() {
  return createStore<PlaneState>()((set, get) => ({
    positions: {},
    live: {},
    steer: false,
    setSteer: (steer) => set({ steer }),
    moveTo: (point) =>
      set((s) => {
        const positions = { ...s.positions };
        for (const plane of ['xy', 'xz', 'yz'] as const) {
          const extent = s.live[plane]?.extent;
          const p = point[PLANE_AXES[plane].normal];
          positions[plane] = extent ? Math.min(extent - 1, Math.max(0, p)) : p;
        }
        return { positions };
      }),
    step: (plane, delta) => {
      const s = get();
      const live = s.live[plane];
      const from = s.positions[plane] ?? live?.position;
      if (from === undefined) return;
      const max = live ? live.extent - 1 : Number.MAX_SAFE_INTEGER;
      const to = Math.min(max, Math.max(0, Math.round(from + delta)));
      if (to !== from) set({ positions: { ...s.positions, [plane]: to } });
    },
    setPositions: (positions) => set((s) => ({ positions: { ...s.positions, ...positions } })),
    noteLive: (plane, position, extent) => {
      const was = get().live[plane];
      if (was && was.position === position && was.extent === extent) return;
      set((s) => ({ live: { ...s.live, [plane]: { position, extent } } }));
    },
  }));
}
export type PlaneStore = ReturnType<typeof createPlaneStore>;
