import { describe, expect, it } from 'vitest';
import { colormapLut } from './colormaps';
import { opacityAt, transferTable } from './transferFunction';

describe('transfer function', () => {
  const points = [
    { x: 0.2, opacity: 0 },
    { x: 0.6, opacity: 0.8 },
  ];
  it('interpolates opacity linearly and holds it flat outside the points', () => {
    expect(opacityAt(points, 0)).toBe(0);
    expect(opacityAt(points, 0.4)).toBeCloseTo(0.4);
    expect(opacityAt(points, 1)).toBe(0.8);
  });
  it('takes colour from the colormap and alpha from the points', () => {
    const lut = colormapLut('viridis');
    const table = transferTable(points, lut);
    expect([...table.slice(0, 3)]).toEqual([...lut.slice(0, 3)]);
    expect(table[3]).toBe(0);
    expect(table[255 * 4 + 3]).toBe(204);
  });
});
