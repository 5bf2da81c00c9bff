import { describe, expect, it } from 'vitest';
import { computeHistogram, windowFromHistogram } from './histogram';

describe('histogram', () => {
  it('counts every pixel once, one bin per value for narrow integer data', () => {
    const h = computeHistogram(Uint8Array.of(3, 3, 4, 7));
    expect(h.lo).toBe(3);
    expect(h.counts.length).toBe(5);
    expect([...h.counts]).toEqual([2, 1, 0, 0, 1]);
    expect(h.total).toBe(4);
  });

  it('auto-contrast window ignores the 0.5 % extremes', () => {
    const pixels = new Uint16Array(10_000);
    for (let i = 0; i < pixels.length; i++) pixels[i] = 1000 + (i % 1000);
    pixels[0] = 0;
    pixels[1] = 65535;
    const w = windowFromHistogram(computeHistogram(pixels, 1024));
    expect(w.min).toBeGreaterThan(900);
    expect(w.min).toBeLessThan(1020);
    expect(w.max).toBeGreaterThan(1980);
    expect(w.max).toBeLessThan(2100);
  });

  it('skips NaN in float data and survives a flat image', () => {
    const h = computeHistogram(Float32Array.of(NaN, 2, 2, 2));
    expect(h.total).toBe(3);
    const w = windowFromHistogram(h);
    expect(w.max).toBeGreaterThan(w.min);
  });
});
