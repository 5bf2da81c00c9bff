import { describe, expect, it } from 'vitest';
import { projectPhantom } from '../phantom/phantomProjection';
import { phantomSlice } from '../phantom/sheppLogan3d';
import { reconstructSlice } from './reconstructSlice';

// The central xy slice of the analytic 3-D Shepp–Logan phantom from its analytic projections.
const W = 128;
const N = 180;
const ANGLES = Array.from({ length: N }, (_, i) => (i * Math.PI) / N);
const ROW = W / 2; // the detector row through z = 0
const TO_DENSITY = W / 2; // a phantom unit spans half the detector

function sinogram(axisColumn = W / 2): Float32Array {
  const out = new Float32Array(N * W);
  for (let a = 0; a < N; a++) {
    const p = projectPhantom(ANGLES[a]!, { width: W, height: W, axisColumn });
    out.set(p.subarray(ROW * W, (ROW + 1) * W), a * W);
  }
  return out;
}

function rms(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! * TO_DENSITY - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}

describe('reconstructSlice', () => {
  const truth = phantomSlice('xy', W / 2, W);
  const sino = sinogram();

  it('reconstructs the phantom slice with every filter, unfiltered far worse', () => {
    const errors = Object.fromEntries(
      (['ramp', 'shepp-logan', 'hann', 'parzen', 'none'] as const).map((filter) => [
        filter,
        rms(reconstructSlice({ sinogram: sino, width: W, angles: ANGLES, filter }), truth),
      ]),
    );
    console.log('reconstructSlice RMS error (density) by filter', errors);
    for (const filter of ['ramp', 'shepp-logan', 'hann', 'parzen'])
      expect(errors[filter]).toBeLessThan(0.12);
    expect(errors['none']).toBeGreaterThan(3 * errors['ramp']!);
  });

  it('needs the true rotation centre: an off-axis scan is sharp only at its own centre', () => {
    const shifted = sinogram(W / 2 + 3.5);
    const at = (centre: number) =>
      rms(reconstructSlice({ sinogram: shifted, width: W, angles: ANGLES, centre }), truth);
    expect(at(W / 2 + 3.5)).toBeLessThan(0.12);
    expect(at(W / 2)).toBeGreaterThan(1.5 * at(W / 2 + 3.5));
  });

  it('samples the same field of view at another output size', () => {
    const half = reconstructSlice({ sinogram: sino, width: W, angles: ANGLES, size: W / 2 });
    expect(half).toHaveLength((W / 2) ** 2);
    expect(rms(half, phantomSlice('xy', W / 4, W / 2))).toBeLessThan(0.15);
  });

  it('refuses a sinogram that does not match its angles, and nonsense parameters', () => {
    expect(() => reconstructSlice({ sinogram: sino, width: W, angles: ANGLES.slice(1) })).toThrow(
      /not 179 angles × 128 columns/,
    );
    expect(() => reconstructSlice({ sinogram: sino, width: W, angles: ANGLES, size: 0 })).toThrow(
      /size must be a positive integer/,
    );
    expect(() =>
      reconstructSlice({ sinogram: sino, width: W, angles: ANGLES, centre: Number.NaN }),
    ).toThrow(/centre must be finite/);
  });
});
