import { describe, expect, it } from 'vitest';
import { seededRandom } from '@/lib/random/seededRandom';
import { projectPhantom } from '../../phantom/phantomProjection';
import { reconstructSlice } from '../reconstructSlice';
import { Fft2d, binFrequency } from './fft2d';
import { findCentre, refineMinimum } from './findCentre';
import { fourierCentreScores } from './fourierCentre';
import { PaganinFilter, wavelengthM } from './paganin';
import { removeOutliers } from './removeOutliers';
import { removeStripes, StripeEstimator } from './removeStripes';

const W = 128;
const N = 180;
const ANGLES = Array.from({ length: N }, (_, i) => (i * Math.PI) / N);

/** The −log sinogram of the phantom's central detector row, rotation axis at `axis`. */
function sinogram(axis = W / 2): Float32Array {
  const out = new Float32Array(N * W);
  for (let a = 0; a < N; a++) {
    const p = projectPhantom(ANGLES[a]!, { width: W, height: W, axisColumn: axis });
    out.set(p.subarray((W / 2) * W, (W / 2 + 1) * W), a * W);
  }
  return out;
}

function rmsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}

describe('dezinger', () => {
  it('replaces isolated zingers with the local median and leaves the rest alone', () => {
    const clean = projectPhantom(0.3, { width: W, height: 64 }).map(
      (t) => 4000 * Math.exp(-0.02 * t),
    );
    const hit = Float32Array.from(clean);
    const random = seededRandom(7);
    const zingers = new Set<number>();
    while (zingers.size < 40) zingers.add(Math.floor(random() * hit.length));
    for (const i of zingers) hit[i] = hit[i]! + 3000;
    const out = new Float32Array(hit.length);
    const replaced = removeOutliers(hit, W, 64, 500, out);
    expect(replaced).toBe(40);
    expect(rmsDiff(out, clean)).toBeLessThan(rmsDiff(hit, clean) / 20);
  });
});

describe('ring removal (column-mean smoothing, Rivers 1998)', () => {
  it('lowers the ring artefact energy of a phantom with injected detector stripes', () => {
    const clean = sinogram();
    const striped = Float32Array.from(clean);
    const random = seededRandom(11);
    // 12 miscalibrated detector columns: a constant offset of ±0.75–2.25 in −log each.
    for (let k = 0; k < 12; k++) {
      const c = 20 + Math.floor(random() * (W - 40));
      const offset = (random() < 0.5 ? -1 : 1) * (0.5 + random()) * 1.5;
      for (let a = 0; a < N; a++) striped[a * W + c] = striped[a * W + c]! + offset;
    }
    const reference = reconstructSlice({ sinogram: clean, width: W, angles: ANGLES });
    const ringy = reconstructSlice({ sinogram: striped, width: W, angles: ANGLES });
    const corrected = reconstructSlice({
      sinogram: removeStripes(striped, N, W, 11),
      width: W,
      angles: ANGLES,
    });
    const before = rmsDiff(ringy, reference);
    const after = rmsDiff(corrected, reference);
    console.log(
      `ring artefact RMS: ${before.toFixed(4)} striped, ${after.toFixed(4)} after removal (${(before / after).toFixed(1)}×)`,
    );
    expect(after).toBeLessThan(before / 3);

    // Streaming: projections (here one detector row each) go through the estimator as they come;
    // after the first half turn the offsets are known, and the second turn comes out clean.
    const estimator = new StripeEstimator(W, 1, N, 11);
    const streamed = new Float32Array(N * W);
    for (let turn = 0; turn < 2; turn++)
      for (let a = 0; a < N; a++) {
        const row = striped.slice(a * W, (a + 1) * W);
        estimator.correct(row);
        if (turn === 1) streamed.set(row, a * W);
      }
    const live = rmsDiff(
      reconstructSlice({ sinogram: streamed, width: W, angles: ANGLES }),
      reference,
    );
    console.log(
      `streaming ring removal: ${live.toFixed(4)} (${(before / live).toFixed(1)}× lower)`,
    );
    expect(live).toBeLessThan(before / 3);
  });
});

describe('Paganin phase retrieval', () => {
  it('raises the contrast-to-noise ratio of a propagation-based phase-contrast projection', () => {
    // A weakly absorbing, strongly phase-shifting object (δ/β = 1000) at 20 keV, 1 µm pixels,
    // 100 mm from the detector; projected thickness from the phantom's line integrals.
    const size = 128;
    const pixel = 1e-6;
    const lambda = wavelengthM(20);
    const beta = 4e-10;
    const delta = 1000 * beta;
    const thickness = projectPhantom(0, { width: size, height: size }).map((t) => t * 1e-6);
    const fft = new Fft2d(size, size);
    const wave = new Float64Array(2 * size * size);
    const k = (2 * Math.PI) / lambda;
    for (let i = 0; i < size * size; i++) {
      const amplitude = Math.exp(-k * beta * thickness[i]!);
      const phase = -k * delta * thickness[i]!;
      wave[2 * i] = amplitude * Math.cos(phase);
      wave[2 * i + 1] = amplitude * Math.sin(phase);
    }
    fft.forward(wave);
    const z = 0.1;
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size; c++) {
        const u = binFrequency(c, size, pixel);
        const v = binFrequency(r, size, pixel);
        const chirp = -Math.PI * lambda * z * (u * u + v * v);
        const i = 2 * (r * size + c);
        const [re, im] = [wave[i]!, wave[i + 1]!];
        wave[i] = re * Math.cos(chirp) - im * Math.sin(chirp);
        wave[i + 1] = re * Math.sin(chirp) + im * Math.cos(chirp);
      }
    fft.inverse(wave);
    const random = seededRandom(5);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const intensity = new Float32Array(size * size);
    for (let i = 0; i < size * size; i++)
      intensity[i] = wave[2 * i]! ** 2 + wave[2 * i + 1]! ** 2 + 0.01 * gauss();

    // Inside: the plateau of the head's projection; outside: the empty field around it.
    const peak = thickness.reduce((m, t) => Math.max(m, t), 0);
    const inside: number[] = [];
    const outside: number[] = [];
    thickness.forEach((t, i) => {
      if (t > 0.6 * peak) inside.push(i);
      else if (t === 0) outside.push(i);
    });
    const cnr = (img: Float32Array) => {
      const mean = (idx: number[]) => idx.reduce((s, i) => s + img[i]!, 0) / idx.length;
      const mo = mean(outside);
      const sd = Math.sqrt(outside.reduce((s, i) => s + (img[i]! - mo) ** 2, 0) / outside.length);
      return Math.abs(mean(inside) - mo) / sd;
    };
    const absorption = intensity.map((v) => -Math.log(Math.max(v, 1e-6)));
    const retrieved = new PaganinFilter(size, size, {
      energyKeV: 20,
      distanceMm: 100,
      deltaOverBeta: 1000,
      pixelSizeUm: 1,
    })
      .apply(intensity)
      .map((v) => -Math.log(Math.max(v, 1e-6)));
    console.log(
      `CNR: ${cnr(absorption).toFixed(2)} plain −log, ${cnr(retrieved).toFixed(2)} after Paganin`,
    );
    expect(inside.length).toBeGreaterThan(100);
    expect(outside.length).toBeGreaterThan(100);
    expect(cnr(retrieved)).toBeGreaterThan(3 * cnr(absorption));
  });
});

describe('rotation-centre search (entropy)', () => {
  it('suggests the true axis of a scan whose centre is off by +3.5 px, within 0.5 px', () => {
    const truth = W / 2 + 3.5;
    const centres = Array.from({ length: 9 }, (_, i) => W / 2 + i - 4 + 2);
    const search = findCentre({ sinogram: sinogram(truth), width: W, angles: ANGLES }, centres);
    console.log(
      'centre candidates',
      search.candidates.map((c) => `${c.centre}: ${c.score.toFixed(3)}`).join(', '),
      '→',
      search.suggested.toFixed(2),
    );
    expect(search.candidates).toHaveLength(9);
    expect(Math.abs(search.suggested - truth)).toBeLessThan(0.5);
  });
});

describe('rotation-centre search (Vo’s Fourier metric)', () => {
  const truth = W / 2 + 3.5;
  const centres = Array.from({ length: 9 }, (_, i) => W / 2 + i - 4 + 2);
  const suggest = (sino: Float32Array) =>
    refineMinimum(
      fourierCentreScores(sino, W, N, centres).map((score, k) => ({ centre: centres[k]!, score })),
    );

  it('suggests the true axis of a scan whose centre is off by +3.5 px, within 0.5 px', () => {
    const suggested = suggest(sinogram(truth));
    console.log('Vo suggestion, noise-free', suggested.toFixed(3), 'truth', truth);
    expect(Math.abs(suggested - truth)).toBeLessThan(0.5);
  });

  it('stays within 0.5 px on a noisy scan', () => {
    const noisy = sinogram(truth);
    const random = seededRandom(5);
    let peak = 0;
    for (const v of noisy) peak = Math.max(peak, v);
    // Gaussian noise of 5 % of the peak line integral (Box–Muller).
    for (let i = 0; i < noisy.length; i++)
      noisy[i] =
        noisy[i]! +
        0.05 * peak * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const vo = suggest(noisy);
    const entropy = findCentre({ sinogram: noisy, width: W, angles: ANGLES }, centres).suggested;
    console.log('noisy: Vo', vo.toFixed(3), 'entropy', entropy.toFixed(3), 'truth', truth);
    expect(Math.abs(vo - truth)).toBeLessThan(0.5);
  });
});
