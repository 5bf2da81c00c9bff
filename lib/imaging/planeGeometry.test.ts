import { describe, expect, it } from 'vitest';
import { niceScaleBar, pixelToVoxel, rectangleToRegion, voxelToPixel } from './planeGeometry';

describe('plane geometry', () => {
  it('maps a pixel of each plane to the voxel it shows, and back', () => {
    expect(pixelToVoxel('xy', 10, 20, 5, [64, 64])).toEqual([10, 20, 5]);
    expect(pixelToVoxel('xz', 10, 20, 5, [64, 64])).toEqual([10, 5, 20]);
    expect(pixelToVoxel('yz', 10, 20, 5, [64, 64])).toEqual([5, 10, 20]);
    expect(voxelToPixel('yz', [5, 10, 20], [64, 64])).toEqual({ col: 10.5, row: 20.5 });
  });

  it('scales binned slices to the volume', () => {
    expect(pixelToVoxel('xy', 10, 0, 0, [32, 32], [128, 128, 128])).toEqual([42, 2, 0]);
  });

  it('picks 1-2-5 scale bars in µm or mm', () => {
    expect(niceScaleBar(380)).toEqual({ um: 200, label: '200 µm' });
    expect(niceScaleBar(7400)).toEqual({ um: 5000, label: '5 mm' });
    expect(niceScaleBar(0.7).label).toBe('500 nm');
  });
});

describe('rectangleToRegion', () => {
  it('maps a rectangle on xy to x/y spans and a centred z depth', () => {
    const region = rectangleToRegion(
      'xy',
      [
        { col: 40, row: 10 },
        { col: 20, row: 30 },
      ],
      64,
      [128, 128],
      [128, 128, 128],
    );
    expect(region).toEqual({ x: [20, 40], y: [10, 30], z: [54, 74] });
  });

  it('scales binned slices to volume voxels and clamps at the volume edge', () => {
    const region = rectangleToRegion(
      'xz',
      [
        { col: 0, row: 50 },
        { col: 10, row: 64 },
      ],
      126,
      [64, 64],
      [128, 128, 128],
    );
    expect(region).toEqual({ x: [0, 20], y: [104, 128], z: [100, 128] });
  });

  it('ignores a rectangle too small to be meant', () => {
    expect(
      rectangleToRegion(
        'yz',
        [
          { col: 5, row: 5 },
          { col: 6, row: 7 },
        ],
        10,
        [64, 64],
        [64, 64, 64],
      ),
    ).toBeNull();
  });
});
