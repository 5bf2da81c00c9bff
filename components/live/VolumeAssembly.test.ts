import { describe, expect, it } from 'vitest';
import { encodeFrame, decodeFrame } from '@/lib/protocol';
import { VolumeAssembly } from './VolumeAssembly';

function brick(offset: [number, number, number], size: [number, number, number], value: number) {
  const [w, h, d] = size;
  const { header, payload } = encodeFrame(
    {
      run: 'r',
      stream: 'volume',
      seq: 0,
      dtype: 'uint16',
      shape: [d, h, w],
      voxelSize: [1, 1, 1],
      volumeShape: [4, 4, 4],
      brickOffset: offset,
      acquiredAt: 0,
      reconstructedAt: 0,
      publishedAt: 0,
    },
    new Uint16Array(w * h * d).fill(value),
  );
  return decodeFrame(header, payload);
}

describe('VolumeAssembly', () => {
  it('places bricks, normalises to 8 bits and reports only what changed', () => {
    const v = new VolumeAssembly([4, 4, 4], [1, 1, 1], [0, 1000]);
    v.add(brick([0, 0, 0], [2, 4, 4], 1000));
    expect(v.fraction).toBe(0.5);
    const seen = v.version;
    v.add(brick([2, 0, 0], [2, 4, 4], 500));
    expect(v.fraction).toBe(1);
    const changes = v.changesSince(seen)!;
    expect(changes).toHaveLength(1);
    expect(changes[0]!.offset).toEqual([2, 0, 0]);
    expect(changes[0]!.data[0]).toBe(128);
    // x fastest: voxel (1, 0, 0) from the first brick, (2, 0, 0) from the second.
    expect([v.data[1], v.data[2], v.data[4 * 4 * 3 + 4 * 3 + 3]]).toEqual([255, 128, 128]);
    expect(v.changesSince(v.version)).toEqual([]);
  });

  it('clips a brick that overhangs the volume', () => {
    const v = new VolumeAssembly([4, 4, 4], [1, 1, 1], [0, 1]);
    v.add(brick([2, 2, 2], [4, 4, 4], 1));
    expect(v.voxelsFilled).toBe(8);
  });

  it('spreads a brick reduced for a slow link over the full-resolution block it stands for', () => {
    // A 4³ brick at ½: 2³ voxels, each the mean of a 2³ block; voxel (x, y, z) = x + 2y + 4z.
    const { header, payload } = encodeFrame(
      {
        run: 'r',
        stream: 'volume',
        seq: 0,
        dtype: 'uint16',
        shape: [2, 2, 2],
        voxelSize: [1, 1, 1],
        volumeShape: [4, 4, 4],
        brickOffset: [0, 0, 0],
        lod: { level: 1, extent: [4, 4, 4] },
        acquiredAt: 0,
        reconstructedAt: 0,
        publishedAt: 0,
      },
      Uint16Array.from({ length: 8 }, (_, i) => i),
    );
    const v = new VolumeAssembly([4, 4, 4], [1, 1, 1], [0, 7]);
    v.add(decodeFrame(header, payload));
    expect(v.fraction).toBe(1);
    expect(v.reducedBricks).toBe(1);
    const at = (x: number, y: number, z: number) => v.data[(z * 4 + y) * 4 + x];
    // Full-resolution voxel (3, 2, 1) lies in block (1, 1, 0): value 3 of 7 → 109.
    expect(at(3, 2, 1)).toBe(Math.round((3 * 255) / 7));
    expect([at(0, 0, 0), at(1, 1, 1), at(2, 0, 0), at(3, 3, 3)]).toEqual([0, 0, 36, 255]);
    // An exact brick at the same place replaces it, and it no longer counts as reduced.
    v.add(brick([0, 0, 0], [4, 4, 4], 7));
    expect(v.reducedBricks).toBe(0);
    expect(v.voxelsFilled).toBe(64);
  });
});
