import { PLANE_AXES } from '@/lib/imaging/planeGeometry';
import type { Plane, SliceHeader } from '@/lib/protocol';
import type { PixelPitch } from './sampleProfile';

/**
 * The physical size of one slice pixel along its columns and rows, µm: the voxel size of the axis
 * times the voxels per pixel (a binned or resampled slice covers more than one voxel per pixel).
 */
export function pixelPitch(
  plane: Plane,
  header: Pick<SliceHeader, 'voxelSize' | 'shape' | 'volumeShape'>,
): PixelPitch {
  const axes = PLANE_AXES[plane];
  const [rows, cols] = header.shape;
  const per = (axis: 0 | 1 | 2, pixels: number) => {
    const n = header.volumeShape?.[axis];
    return n ? n / pixels : 1;
  };
  return {
    colUm: header.voxelSize[axes.col] * per(axes.col, cols),
    rowUm: header.voxelSize[axes.row] * per(axes.row, rows),
  };
}
