import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError, type Pixels, type SliceHeaderInput } from './frame';

function header(over: Partial<SliceHeaderInput> = {}): SliceHeaderInput {
  return {
    run: 'run-1',
    stream: 'xy',
    seq: 0,
    dtype: 'uint16',
    shape: [7, 13],
    voxelSize: [0.65, 0.65, 0.65],
    acquiredAt: 1,
    reconstructedAt: 2,
    publishedAt: 3,
    ...over,
  };
}

/** Seeded pixels so a failure reproduces. */
function pixels(dtype: 'uint8' | 'uint16' | 'float32', n: number, seed = 7): Pixels {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  if (dtype === 'uint8') return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
  if (dtype === 'uint16') return Uint16Array.from({ length: n }, () => Math.floor(next() * 65536));
  return Float32Array.from({ length: n }, () => (next() - 0.5) * 1e6);
}

describe('frame codec', () => {
  const shapes: [number, number][] = [
    [1, 1],
    [7, 13],
    [2048, 2048],
  ];
  for (const dtype of ['uint8', 'uint16', 'float32'] as const) {
    for (const shape of shapes) {
      it(`round-trips ${dtype} ${shape.join('×')}`, () => {
        const original = pixels(dtype, shape[0] * shape[1]);
        const { header: h, payload } = encodeFrame(header({ dtype, shape }), original);
        // Copy into a fresh, deliberately misaligned buffer, as a network parser might hand it over.
        const wire = new Uint8Array(payload.byteLength + 1);
        wire.set(payload, 1);
        const decoded = decodeFrame(JSON.parse(JSON.stringify(h)), wire.subarray(1));
        expect(decoded.header).toEqual(h);
        expect(decoded.pixels.constructor).toBe(original.constructor);
        // Byte comparison: a deep equal over 4 M elements takes vitest tens of seconds.
        const bytes = (p: Pixels) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);
        expect(bytes(decoded.pixels).equals(bytes(original))).toBe(true);
        expect(decoded.pixels.length).toBe(original.length);
      });
    }
  }

  it('writes little-endian bytes', () => {
    const { payload } = encodeFrame(header({ shape: [1, 2] }), Uint16Array.of(0x0102, 0xa0b0));
    expect([...payload]).toEqual([0x02, 0x01, 0xb0, 0xa0]);
  });

  it('accepts a volume brick with a 3-D shape', () => {
    const h = {
      ...header(),
      stream: 'volume',
      shape: [2, 3, 4],
      brickOffset: [0, 0, 8],
      volumeShape: [16, 16, 16],
    };
    const decoded = decodeFrame(h, new Uint8Array(2 * 3 * 4 * 2));
    expect(decoded.pixels.length).toBe(24);
  });

  const refusals: [string, unknown, unknown, RegExp][] = [
    ['a wrong byte length', header(), new Uint8Array(7 * 13 * 2 - 1), /needs 182 bytes, got 181/],
    ['an unknown dtype', header({ dtype: 'int64' as never }), new Uint8Array(8), /dtype/],
    [
      'a negative shape',
      header({ shape: [-1, 4] }),
      new Uint8Array(0),
      /shape.0: shape entries must be > 0/,
    ],
    [
      'a non-integer shape',
      header({ shape: [2.5, 4] }),
      new Uint8Array(20),
      /shape.0: shape entries must be integers/,
    ],
    ['a missing field', (({ seq: _seq, ...rest }) => rest)(header()), new Uint8Array(182), /seq/],
    [
      'an unexpected field',
      { ...header(), pixels: [1, 2] },
      new Uint8Array(182),
      /unrecognized key/i,
    ],
    ['a JSON array instead of bytes', header({ shape: [1, 1] }), [0, 0], /one binary attachment/],
    ['a 3-D slice', { ...header(), shape: [2, 2, 2] }, new Uint8Array(16), /slice has a 2-D shape/],
    [
      'a 2-D brick',
      { ...header(), stream: 'volume' },
      new Uint8Array(182),
      /volume brick has a 3-D shape/,
    ],
    [
      'a brick offset on a slice',
      { ...header(), brickOffset: [0, 0, 0] },
      new Uint8Array(182),
      /unrecognized key/i,
    ],
    [
      'a sweep view on a brick',
      { ...header(), stream: 'volume', view: 'sweep', shape: [1, 1, 1] },
      new Uint8Array(2),
      /view/,
    ],
    [
      'an oversize edge',
      header({ shape: [1, 5000] }),
      new Uint8Array(10000),
      /no edge may exceed 4096/,
    ],
  ];
  for (const [what, h, payload, message] of refusals) {
    it(`rejects ${what} with a clear error`, () => {
      expect(() => decodeFrame(h, payload)).toThrow(FrameError);
      expect(() => decodeFrame(h, payload)).toThrow(message);
    });
  }

  it('refuses pixels whose type disagrees with the header', () => {
    expect(() =>
      encodeFrame(header({ dtype: 'float32', shape: [1, 1] }), Uint16Array.of(1)),
    ).toThrow(/pixels are uint16 but the header says float32/);
  });
});
