import { fromArrayBuffer } from 'geotiff';
import { describe, expect, it } from 'vitest';
import { encodeSliceTiff } from './sliceTiff';
import { encodeNpy } from './sliceNpy';
import { parse } from 'npyjs';
import { colorizeSlice } from './colorizeSlice';
import { colormapLut } from '@/lib/imaging/colormaps';

/** Seeded, so a failure reproduces: a 37 × 53 slice (odd edges catch row/column swaps). */
function slice(): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: 37 * 53 }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 0.04 - 0.005; // an attenuation map, 1/mm, with negative artefacts
  });
}

async function readBack(buffer: ArrayBuffer) {
  const tiff = await fromArrayBuffer(buffer);
  const image = await tiff.getImage();
  const [raster] = (await image.readRasters()) as unknown as [ArrayLike<number>];
  return { image, raster };
}

describe('slice TIFF', () => {
  it('float32 round-trips bit for bit with shape and description', async () => {
    const pixels = slice();
    const buffer = encodeSliceTiff(pixels, 37, 53, 'float32', 'run r1 · xy · z 64 µm · 1/mm');
    const { image, raster } = await readBack(buffer);
    expect(image.getWidth()).toBe(53);
    expect(image.getHeight()).toBe(37);
    expect(image.getSampleFormat()).toBe(3);
    expect(image.getBitsPerSample()).toBe(32);
    expect(
      String(
        (image.fileDirectory as unknown as { getValue(tag: string): unknown }).getValue(
          'ImageDescription',
        ),
      ).replace(/\0$/, ''),
    ).toBe('run r1 | xy | z 64 um | 1/mm');
    expect(raster).toBeInstanceOf(Float32Array);
    expect(Array.from(raster)).toEqual(Array.from(pixels));
  });
  it('uint16 round-trips exactly, uint8 widens losslessly', async () => {
    const counts = Uint16Array.from({ length: 6 * 5 }, (_, i) => (i * 2731) % 65536);
    const { raster } = await readBack(encodeSliceTiff(counts, 6, 5, 'uint16', 'counts'));
    expect(raster).toBeInstanceOf(Uint16Array);
    expect(Array.from(raster)).toEqual(Array.from(counts));
    const bytes = Uint8Array.from({ length: 4 }, (_, i) => 250 + i);
    const back = await readBack(encodeSliceTiff(bytes, 2, 2, 'uint16', ''));
    expect(Array.from(back.raster)).toEqual([250, 251, 252, 253]);
  });
  it('refuses to round float32 into 16 bit and a wrong shape', () => {
    expect(() => encodeSliceTiff(slice(), 37, 53, 'uint16', '')).toThrow(/float32/);
    expect(() => encodeSliceTiff(new Uint16Array(10), 3, 3, 'uint16', '')).toThrow(/3×3/);
  });
});

describe('npy', () => {
  it('a volume round-trips with shape and dtype', () => {
    const volume = Uint16Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 1000);
    const back = parse(encodeNpy(volume, [2, 3, 4]));
    expect(back.shape).toEqual([2, 3, 4]);
    expect(back.dtype).toBe('u2');
    expect(Array.from(back.data as Uint16Array)).toEqual(Array.from(volume));
    expect(() => encodeNpy(volume, [2, 3, 5])).toThrow(/shape/);
  });
});

describe('colorizeSlice', () => {
  it('maps the window ends to the LUT ends and clamps outside', () => {
    const lut = colormapLut('grey');
    const rgba = colorizeSlice(Float32Array.from([-1, 0, 0.5, 1, 2]), { min: 0, max: 1 }, lut);
    expect([rgba[0], rgba[4], rgba[8], rgba[12], rgba[16]]).toEqual([0, 0, 128, 255, 255]);
    expect(rgba[19]).toBe(255);
  });
});
