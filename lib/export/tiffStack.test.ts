import { fromArrayBuffer } from 'geotiff';
import { describe, expect, it } from 'vitest';
import { encodeTiffStack } from './tiffStack';

describe('TIFF stack', () => {
  it('every page reads back with its own values and description (geotiff.js reader)', async () => {
    // Odd edges (an odd page length) check the even-offset padding.
    const rows = 5;
    const cols = 7;
    const pages = [0, 1, 2].map((k) => ({
      pixels: Float32Array.from({ length: rows * cols }, (_, i) => k * 1000 + i + 0.25),
      rows,
      cols,
      description: `frame ${k}`,
    }));
    const tiff = await fromArrayBuffer(encodeTiffStack(pages, 'float32'));
    expect(await tiff.getImageCount()).toBe(3);
    for (const [k, page] of pages.entries()) {
      const image = await tiff.getImage(k);
      expect([image.getWidth(), image.getHeight()]).toEqual([cols, rows]);
      const [raster] = (await image.readRasters()) as unknown as [Float32Array];
      expect(Array.from(raster)).toEqual(Array.from(page.pixels));
      const fd = image.fileDirectory as unknown as { getValue(tag: string): unknown };
      expect(String(fd.getValue('ImageDescription')).replace(/\0$/, '')).toBe(`frame ${k}`);
    }
  });

  it('uint16 pages of odd byte length', async () => {
    const pages = [3, 4].map((v) => ({
      pixels: new Uint16Array(9).fill(v),
      rows: 3,
      cols: 3,
      description: 'x',
    }));
    const tiff = await fromArrayBuffer(encodeTiffStack(pages, 'uint16'));
    const [last] = (await (await tiff.getImage(1)).readRasters()) as unknown as [Uint16Array];
    expect(Array.from(last)).toEqual(new Array(9).fill(4));
  });
});
