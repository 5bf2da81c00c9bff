import { describe, expect, it } from 'vitest';
import { regionStats } from './regionStats';

// 4 × 4 image, value = 4·row + col (0 … 15).
const image = { pixels: Uint16Array.from({ length: 16 }, (_, i) => i), rows: 4, cols: 4 };

describe('regionStats', () => {
  it('a rectangle takes the pixels whose centres are inside', () => {
    // Box [0.6, 2.6] × [0.6, 2.6] holds the centres of pixels (1,1) (2,1) (1,2) (2,2): 5 6 9 10.
    const s = regionStats(image, 'rectangle', { col: 0.6, row: 0.6 }, { col: 2.6, row: 2.6 });
    expect(s.count).toBe(4);
    expect(s.mean).toBe(7.5);
    expect(s.min).toBe(5);
    expect(s.max).toBe(10);
    // deviations ±2.5, ±1.5: sqrt((6.25·2 + 2.25·2) / 4) = sqrt(4.25)
    expect(s.std).toBeCloseTo(Math.sqrt(4.25), 12);
  });
  it('corners may be given in any order and are clipped to the image', () => {
    const s = regionStats(image, 'rectangle', { col: 9, row: -3 }, { col: -3, row: 3 });
    // rows 0-2 (centres 0.5, 1.5, 2.5 ≤ 3), all 4 columns: 0 … 11
    expect(s.count).toBe(12);
    expect(s.mean).toBe(5.5);
    expect(s.min).toBe(0);
    expect(s.max).toBe(11);
  });
  it('an ellipse drops the corners of its box', () => {
    // The ellipse inscribed in the whole 4 × 4 image: centre (2, 2), radii 2. The corner pixels'
    // centres (0.5, 0.5) etc. are at (0.75² + 0.75²) = 1.125 > 1: outside; the other 12 are inside.
    const s = regionStats(image, 'ellipse', { col: 0, row: 0 }, { col: 4, row: 4 });
    expect(s.count).toBe(12);
    // sum 0…15 = 120 minus corners 0 + 3 + 12 + 15 = 30 → 90 / 12
    expect(s.mean).toBe(7.5);
    expect(s.min).toBe(1);
    expect(s.max).toBe(14);
  });
  it('an empty region has count 0 and NaN figures', () => {
    const s = regionStats(image, 'rectangle', { col: 1.6, row: 1.6 }, { col: 2.4, row: 2.4 });
    expect(s.count).toBe(0);
    expect(s.mean).toBeNaN();
  });
  it('keeps the variance of large float32 values', () => {
    const big = { pixels: Float32Array.from([1e6 + 1, 1e6 + 3]), rows: 1, cols: 2 };
    const s = regionStats(big, 'rectangle', { col: 0, row: 0 }, { col: 2, row: 1 });
    expect(s.mean).toBe(1e6 + 2);
    expect(s.std).toBe(1);
  });
});
