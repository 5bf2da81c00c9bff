import { describe, expect, it } from 'vitest';
import { lineLengthUm, sampleAt, sampleProfile } from './sampleProfile';

// 3 × 4 image, value = 10·row + col:
//  0  1  2  3
// 10 11 12 13
// 20 21 22 23
const image = {
  pixels: Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]),
  rows: 3,
  cols: 4,
};

describe('sampleAt', () => {
  it('nearest returns the pixel the point falls in', () => {
    expect(sampleAt(image, 2.9, 1.1, 'nearest')).toBe(12);
    expect(sampleAt(image, 0, 0, 'nearest')).toBe(0);
    expect(sampleAt(image, 3.99, 2.99, 'nearest')).toBe(23);
  });
  it('bilinear is exact at pixel centres and linear between them', () => {
    expect(sampleAt(image, 1.5, 1.5, 'bilinear')).toBe(11);
    // halfway between centres (1.5, 0.5) and (2.5, 1.5): (1 + 2 + 11 + 12) / 4
    expect(sampleAt(image, 2, 1, 'bilinear')).toBeCloseTo(6.5, 6);
    // a quarter of the way from col 0 to col 1 on row 2: 20 + 0.25
    expect(sampleAt(image, 0.75, 2.5, 'bilinear')).toBeCloseTo(20.25, 6);
    // the edge clamps to the last centre
    expect(sampleAt(image, 3.9, 0.1, 'bilinear')).toBe(3);
  });
  it('is NaN outside the image', () => {
    expect(sampleAt(image, -0.1, 1, 'nearest')).toBeNaN();
    expect(sampleAt(image, 4, 1, 'bilinear')).toBeNaN();
  });
});

describe('sampleProfile', () => {
  it('takes one sample per pixel of length, both ends included, distances in µm', () => {
    const samples = sampleProfile(
      image,
      { col: 0.5, row: 1.5 },
      { col: 3.5, row: 1.5 },
      { colUm: 2, rowUm: 5 },
      'nearest',
    );
    expect(samples.map((s) => s.value)).toEqual([10, 11, 12, 13]);
    expect(samples.map((s) => s.distanceUm)).toEqual([0, 2, 4, 6]);
  });
  it('bilinear along a vertical line between columns averages them', () => {
    const samples = sampleProfile(
      image,
      { col: 2, row: 0.5 },
      { col: 2, row: 2.5 },
      { colUm: 1, rowUm: 1 },
      'bilinear',
    );
    expect(samples.map((s) => s.value)).toEqual([1.5, 11.5, 21.5]);
  });
  it('a ruler measures with each axis its own pitch', () => {
    expect(lineLengthUm({ col: 0, row: 0 }, { col: 3, row: 4 }, { colUm: 1, rowUm: 1 })).toBe(5);
    expect(lineLengthUm({ col: 0, row: 0 }, { col: 3, row: 2 }, { colUm: 4, rowUm: 8 })).toBe(20);
  });
});

describe('pixelPitch', () => {
  it('uses each axis’ voxel size times voxels per pixel', async () => {
    const { pixelPitch } = await import('./pixelPitch');
    // xz: columns are x (2 µm, 128 voxels on 64 pixels), rows are z (5 µm, 1 voxel per pixel)
    expect(
      pixelPitch('xz', { voxelSize: [2, 3, 5], shape: [32, 64], volumeShape: [128, 100, 32] }),
    ).toEqual({ colUm: 4, rowUm: 5 });
  });
});
