import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, streamKey } from '@/lib/protocol';
import type { StoredFrame } from './RunRegistry';
import {
  brickBytes,
  deriveBrickLevel,
  deriveLevel,
  reduceArea,
  reduceVolume,
  requestBytes,
} from './levels';

function stored(pixels: Uint8Array | Uint16Array | Float32Array, rows: number, cols: number) {
  const dtype =
    pixels instanceof Uint8Array ? 'uint8' : pixels instanceof Uint16Array ? 'uint16' : 'float32';
  const { header, payload } = encodeFrame(
    {
      run: 'run-1',
      stream: 'xy',
      seq: 4,
      dtype,
      shape: [rows, cols],
      voxelSize: [1, 1, 1],
      acquiredAt: 1,
      reconstructedAt: 2,
      publishedAt: 3,
    },
    pixels,
  );
  const frame: StoredFrame = {
    key: streamKey('full', 'xy'),
    header: { ...header, acceptedAt: 3 },
    payload,
  };
  return frame;
}

function sliceHeader(frame: StoredFrame) {
  if (frame.header.stream === 'volume') throw new Error('a slice was expected');
  return frame.header;
}

describe('reduceArea', () => {
  it('averages 2×2 blocks of a 3×5 uint16 slice, the odd edge over the pixels that exist', () => {
    // 0  1  2  3  4
    // 5  6  7  8  9
    // 10 11 12 13 14
    const src = Uint16Array.from({ length: 15 }, (_, i) => i);
    const out = reduceArea(src, 5, 2, [0, 0], [3, 5]);
    expect(out).toBeInstanceOf(Uint16Array);
    // (0+1+5+6)/4 = 3; (2+3+7+8)/4 = 5; (4+9)/2 = 6.5 → 7; (10+11)/2 = 10.5 → 11; (12+13)/2 = 12.5 → 13; 14.
    expect([...out]).toEqual([3, 5, 7, 11, 13, 14]);
  });

  it('averages 4×4 and 8×8 blocks of a 9×9 uint8 slice', () => {
    const src = Uint8Array.from({ length: 81 }, (_, i) => i % 9); // each row is 0..8
    // 4×4: column blocks 0..3 → 1.5 → 2, 4..7 → 5.5 → 6, 8 → 8; every row block the same.
    expect([...reduceArea(src, 9, 4, [0, 0], [9, 9])]).toEqual([2, 6, 8, 2, 6, 8, 2, 6, 8]);
    // 8×8: 0..7 → 3.5 → 4, 8 → 8.
    expect([...reduceArea(src, 9, 8, [0, 0], [9, 9])]).toEqual([4, 8, 4, 8]);
  });

  it('keeps float32 means exact (no rounding) and never overflows large uint16 sums', () => {
    const f = Float32Array.from([0.5, 0.25, 1, 2]);
    expect([...reduceArea(f, 2, 2, [0, 0], [2, 2])]).toEqual([0.9375]);
    const big = new Uint16Array(64).fill(65535);
    expect([...reduceArea(big, 8, 8, [0, 0], [8, 8])]).toEqual([65535]);
  });

  it('reduces only the requested region', () => {
    const src = Uint16Array.from({ length: 36 }, (_, i) => i); // 6×6, value = row*6 + col
    // Region rows 2..4, cols 3..5 (3×3) at 2×: blocks {15,16,21,22}=18.5→19, {17,23}=20, {27,28}=27.5→28, 29.
    expect([...reduceArea(src, 6, 2, [2, 3], [3, 3])]).toEqual([19, 20, 28, 29]);
    // Level 0 of a region is an exact crop.
    expect([...reduceArea(src, 6, 1, [4, 1], [2, 2])]).toEqual([25, 26, 31, 32]);
  });
});

describe('deriveLevel', () => {
  it('derives each level once per frame and states the level and the full shape', () => {
    const frame = stored(
      Uint16Array.from({ length: 15 }, (_, i) => i),
      3,
      5,
    );
    const request = {
      level: 1,
      origin: [0, 0] as [number, number],
      extent: [3, 5] as [number, number],
    };
    const a = deriveLevel(frame, request);
    const b = deriveLevel(frame, { ...request });
    expect(b).toBe(a);
    expect(a.header.shape).toEqual([2, 3]);
    expect(sliceHeader(a).lod).toEqual({
      level: 1,
      fullShape: [3, 5],
      origin: [0, 0],
      extent: [3, 5],
    });
    expect(a.header.seq).toBe(4);
    // It decodes as any frame does: the header validates against its pixels.
    const decoded = decodeFrame(a.header, a.payload);
    expect([...decoded.pixels]).toEqual([3, 5, 7, 11, 13, 14]);
    expect(a.payload.byteLength).toBe(requestBytes('uint16', request));
  });

  it('sends a sweep montage whole: the geometry of its tiles is in its header', () => {
    // Two 4×4 tiles side by side; a reduced montage would no longer match its `sweep.tile`.
    const { header, payload } = encodeFrame(
      {
        run: 'run-1',
        stream: 'xy',
        view: 'sweep',
        seq: 0,
        dtype: 'uint8',
        shape: [4, 8],
        voxelSize: [1, 1, 1],
        sweep: {
          centres: [10, 11],
          scores: [1, 2],
          suggested: 10,
          tile: [4, 4],
          metric: 'entropy',
        },
        acquiredAt: 1,
        reconstructedAt: 2,
        publishedAt: 3,
      },
      new Uint8Array(32),
    );
    const frame: StoredFrame = {
      key: streamKey('sweep', 'xy'),
      header: { ...header, acceptedAt: 3 },
      payload,
    };
    expect(deriveLevel(frame, { level: 1, origin: [0, 0], extent: [4, 8] })).toBe(frame);
  });

  it('returns the frame itself for the whole slice at full resolution', () => {
    const frame = stored(new Float32Array(12), 3, 4);
    expect(deriveLevel(frame, { level: 0, origin: [0, 0], extent: [3, 4] })).toBe(frame);
  });

  it('a header whose shape does not match its level is refused by the codec', () => {
    const frame = stored(new Uint8Array(16), 4, 4);
    const reduced = deriveLevel(frame, { level: 1, origin: [0, 0], extent: [4, 4] });
    expect(() =>
      decodeFrame(
        { ...sliceHeader(reduced), lod: { ...sliceHeader(reduced).lod, level: 2 } },
        reduced.payload,
      ),
    ).toThrow(/shape of its extent/);
    expect(() =>
      decodeFrame(
        { ...sliceHeader(reduced), lod: { ...sliceHeader(reduced).lod, origin: [2, 0] } },
        reduced.payload,
      ),
    ).toThrow(/inside the full slice/);
  });
});

describe('reduceVolume and deriveBrickLevel', () => {
  /** A [d, h, w] uint16 brick, voxel value = its index. */
  function brickFrame(shape: [number, number, number]) {
    const [d, h, w] = shape;
    const { header, payload } = encodeFrame(
      {
        run: 'run-1',
        stream: 'volume',
        seq: 9,
        dtype: 'uint16',
        shape,
        voxelSize: [1, 1, 1],
        volumeShape: [w * 2, h, d],
        brickOffset: [w, 0, 0],
        acquiredAt: 1,
        reconstructedAt: 2,
        publishedAt: 3,
      },
      Uint16Array.from({ length: d * h * w }, (_, i) => i),
    );
    const frame: StoredFrame = {
      key: streamKey('full', 'volume'),
      header: { ...header, acceptedAt: 3 },
      payload,
    };
    return frame;
  }

  it('averages 2×2×2 blocks, the odd edge over the voxels that exist', () => {
    // [d, h, w] = [3, 2, 2]: voxel (z, y, x) = 4z + 2y + x.
    const voxels = Uint16Array.from({ length: 12 }, (_, i) => i);
    const out = reduceVolume(voxels, [3, 2, 2], 2);
    // Block z 0..1: mean of 0..7 = 3.5 → 4 (half up); block z 2 alone: mean of 8..11 = 9.5 → 10.
    expect([...out]).toEqual([4, 10]);
    const float = reduceVolume(Float32Array.from(voxels), [3, 2, 2], 2);
    expect([...float]).toEqual([3.5, 9.5]);
  });

  it('derives a brick at a level once, with its extent stated, and keeps its place', () => {
    const frame = brickFrame([8, 8, 8]);
    const reduced = deriveBrickLevel(frame, 2);
    expect(deriveBrickLevel(frame, 2)).toBe(reduced);
    expect(reduced.header).toMatchObject({
      stream: 'volume',
      shape: [2, 2, 2],
      brickOffset: [8, 0, 0],
      volumeShape: [16, 8, 8],
      lod: { level: 2, extent: [8, 8, 8] },
      acceptedAt: 3,
    });
    expect(reduced.payload.byteLength).toBe(brickBytes(frame, 2));
    const { pixels } = decodeFrame(reduced.header, reduced.payload);
    // First block: z, y, x in 0..3, value 64z + 8y + x: mean 64·1.5 + 8·1.5 + 1.5 = 109.5 → 110.
    expect(pixels[0]).toBe(110);
    expect(deriveBrickLevel(frame, 0)).toBe(frame);
    expect(brickBytes(frame, 0)).toBe(frame.payload.byteLength);
  });

  it('the protocol refuses a reduced brick whose shape does not match its extent and level', () => {
    const reduced = deriveBrickLevel(brickFrame([8, 8, 8]), 1);
    const header = reduced.header;
    if (header.stream !== 'volume') throw new Error('a brick was expected');
    expect(() =>
      encodeFrame(
        { ...header, lod: { level: 2, extent: [8, 8, 8] } },
        decodeFrame(reduced.header, reduced.payload).pixels,
      ),
    ).toThrow(/reduced brick/);
  });
});
