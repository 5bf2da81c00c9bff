import { describe, expect, it } from 'vitest';
import { COLORMAPS, colormapLut, LUT_SIZE, parseColour } from './colormaps';

describe('colormaps', () => {
  it('builds an opaque RGBA table per colormap, dark end first except inverted grey', () => {
    for (const name of COLORMAPS) {
      const lut = colormapLut(name);
      expect(lut.length).toBe(LUT_SIZE * 4);
      const first = lut[0]! + lut[1]! + lut[2]!;
      const last = lut[LUT_SIZE * 4 - 4]! + lut[LUT_SIZE * 4 - 3]! + lut[LUT_SIZE * 4 - 2]!;
      expect(last > first).toBe(name !== 'inverted');
      expect(lut[3]).toBe(255);
    }
  });

  it('parses both colour notations d3 uses', () => {
    expect(parseColour('#21918c')).toEqual([0x21, 0x91, 0x8c]);
    expect(parseColour('rgb(1, 2, 3)')).toEqual([1, 2, 3]);
  });
});
