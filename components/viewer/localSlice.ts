import type { Plane, SliceFrame, SliceHeader } from '@/lib/protocol';
import { PLANE_AXES } from '@/lib/imaging/planeGeometry';
import type { LatestFrame } from '@/components/live/FrameStore';
import type { VolumeAssembly } from '@/components/live/VolumeAssembly';

/**
 * The plane of the preview volume nearest to `position` (voxels of the full volume along the
 * plane's normal), as a frame in data units, for viewers who cannot move the reconstructed planes.
 * The header is the live frame's, with the preview's shape and the preview plane's position; the
 * preview holds 8-bit levels of its range, so values are that range's steps.
 */
export function localSlice(
  volume: VolumeAssembly,
  plane: Plane,
  position: number,
  live: SliceHeader,
  version: number,
): LatestFrame & { frame: SliceFrame } {
  const axes = PLANE_AXES[plane];
  const shape = volume.shape; // (x, y, z)
  const full = live.volumeShape ?? shape;
  const n = shape[axes.normal];
  const index = Math.min(
    n - 1,
    Math.max(0, Math.floor(((position + 0.5) * n) / full[axes.normal])),
  );
  const cols = shape[axes.col];
  const rows = shape[axes.row];
  const [lo, hi] = volume.range;
  const k = (hi - lo) / 255;
  const pixels = new Float32Array(rows * cols);
  const [X, Y] = shape;
  const at = [0, 0, 0];
  at[axes.normal] = index;
  for (let r = 0; r < rows; r++) {
    at[axes.row] = r;
    for (let c = 0; c < cols; c++) {
      at[axes.col] = c;
      pixels[r * cols + c] = lo + volume.data[(at[2]! * Y + at[1]!) * X + at[0]!]! * k;
    }
  }
  // The preview plane's centre, in full-volume voxels: where the drawn plane really is.
  const shown = Math.floor(((index + 0.5) * full[axes.normal]) / n);
  const header: SliceHeader = {
    ...live,
    dtype: 'float32',
    shape: [rows, cols],
    position: shown,
    volumeShape: [full[0], full[1], full[2]],
  };
  const frame: SliceFrame = { header, pixels };
  const now = performance.now();
  return { frame, receivedAt: now, receivedWallAt: Date.now(), version };
}
