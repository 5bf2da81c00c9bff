import { describe, expect, it } from 'vitest';
import { autoWindow, toGreyRgba } from './windowLevel';

describe('window/level', () => {
  it('auto window ignores the 0.5 % extremes on each side', () => {
    const pixels = new Uint16Array(1000);
    for (let i = 0; i < 1000; i++) pixels[i] = 1000 + i;
    pixels[0] = 0; // dead pixel
    pixels[999] = 65535; // hot pixel
    const w = autoWindow(pixels);
    expect(w.min).toBeGreaterThan(1000);
    expect(w.min).toBeLessThan(1010);
    expect(w.max).toBeLessThan(2000);
    expect(w.max).toBeGreaterThan(1990);
  });

  it('maps the window to black … white and clamps outside it', () => {
    const out = new Uint8ClampedArray(4 * 4);
    toGreyRgba(Float32Array.of(-5, 10, 15, 30), { min: 10, max: 20 }, out);
    expect([out[0], out[4], out[8], out[12]]).toEqual([0, 0, 128, 255]);
    expect(out[3]).toBe(255);
  });

  it('survives a flat image', () => {
    expect(autoWindow(new Uint8Array(10).fill(7))).toEqual({ min: 7, max: 8 });
  });
});
