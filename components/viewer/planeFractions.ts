import { isSliceFrame, PLANES, streamKey } from '@/lib/protocol';
import { PLANE_AXES } from '@/lib/imaging/planeGeometry';
import type { FrameStore } from '@/components/live/FrameStore';
import type { PlaneStore } from '@/stores/planeStore';

/**
 * Where each slice plane is along its normal, as a fraction of the volume (voxel centre), per
 * plane in PLANES order: the local position of a viewer who cannot steer, else the live frame's.
 * Fractions of the full volume, so they hold whatever the preview volume's resolution.
 */
export function planeFractions(
  frames: FrameStore,
  run: string,
  planes?: PlaneStore,
): (number | undefined)[] {
  const nav = planes?.getState();
  return PLANES.map((p) => {
    const stored = frames.get(run, streamKey('full', p))?.frame;
    const h = stored && isSliceFrame(stored) ? stored.header : undefined;
    const n = h?.volumeShape?.[PLANE_AXES[p].normal];
    if (!h || !n) return undefined;
    const local = nav && !nav.steer ? nav.positions[p] : undefined;
    const position = local ?? h.position;
    return position === undefined ? undefined : (Math.min(position, n - 1) + 0.5) / n;
  });
}
