import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, describe, expect, it } from 'vitest';
import { projectPhantom } from '../phantom/phantomProjection';
import { DetectorSimulator } from './DetectorSimulator';
import { readDxchange, writeDxchange } from './dxchangeFile';
import { FileReplaySource } from './FileReplaySource';
import type { Projection, ProjectionDataset } from './ProjectionSource';
import { readNpyScan, writeNpyScan } from './npyScan';

// numpy comes from Debian (the PATH python3 may be a pyenv shim without it).
const PYTHON =
  process.env.LOUPE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const dir = mkdtempSync(join(tmpdir(), 'loupe-detector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dataset(sim: DetectorSimulator, angles: number[]): ProjectionDataset {
  const frames = angles.map((a) => sim.projectionAt(a));
  return {
    detector: sim.detector,
    angles: Float64Array.from(angles),
    flat: sim.flat,
    dark: sim.dark,
    count: frames.length,
    projection: (i) => frames[i]!,
  };
}

describe('detector simulator', () => {
  it('records counts whose flat/dark-corrected −log is the analytic line integral', () => {
    const sim = new DetectorSimulator({ width: 64, height: 48 });
    const angle = 0.7;
    const counts = sim.projectionAt(angle);
    const truth = projectPhantom(angle, { width: 64, height: 48 });
    let worst = 0;
    for (let i = 0; i < counts.length; i++) {
      const corrected = -Math.log((counts[i]! - sim.dark[i]!) / (sim.flat[i]! - sim.dark[i]!));
      // The simulator's attenuation is per phantom unit; truth is density × phantom units.
      worst = Math.max(worst, Math.abs(corrected / sim.options.attenuationPerUnit - truth[i]!));
    }
    // Rounding to whole counts at ≥ 2000 counts costs at most ~0.5/2000 in −log.
    expect(worst).toBeLessThan(2e-3);
    expect(Math.max(...truth)).toBeGreaterThan(0.3); // the head is really in the beam
  });

  it('adds seeded Poisson noise: reproducible per seed, variance equal to the mean', () => {
    const a = new DetectorSimulator({ width: 128, height: 16, noiseSeed: 7 }).projectionAt(0);
    const b = new DetectorSimulator({ width: 128, height: 16, noiseSeed: 7 }).projectionAt(0);
    const c = new DetectorSimulator({ width: 128, height: 16, noiseSeed: 8 }).projectionAt(0);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    // Outside the head (first 4 columns) the expected counts are the flat field.
    const clean = new DetectorSimulator({ width: 128, height: 16 });
    let sum = 0;
    let sq = 0;
    let n = 0;
    for (let r = 0; r < 16; r++) {
      for (let col = 0; col < 4; col++) {
        const i = r * 128 + col;
        const d = a[i]! - clean.flat[i]!;
        sum += d;
        sq += d * d;
        n++;
      }
    }
    const variance = sq / n - (sum / n) ** 2;
    const mean = clean.flat[0]!;
    expect(variance / mean).toBeGreaterThan(0.6);
    expect(variance / mean).toBeLessThan(1.5);
  });

  it('takes detectors up to 2048 wide and refuses wider ones', () => {
    expect(new DetectorSimulator({ width: 2048, height: 4 }).projectionAt(0.1)).toHaveLength(
      2048 * 4,
    );
    expect(() => new DetectorSimulator({ width: 4096 })).toThrow(/8 to 2048/);
  });

  it('rotates continuously at the configured rate', async () => {
    const sim = new DetectorSimulator({
      width: 32,
      height: 8,
      degreesPerSecond: 90,
      framesPerSecond: 100,
    });
    const frames: Projection[] = [];
    sim.start((p) => frames.push(p));
    await new Promise((r) => setTimeout(r, 300));
    sim.stop();
    expect(frames.length).toBeGreaterThan(5);
    for (const p of frames.slice(1)) {
      const elapsedS = (p.acquiredAt - frames[0]!.acquiredAt) / 1000;
      expect(p.angle - frames[0]!.angle).toBeCloseTo((elapsedS * 90 * Math.PI) / 180, 2);
    }
    expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i));
  });
});

describe('projection files', () => {
  const sim = new DetectorSimulator({ width: 24, height: 10, noiseSeed: 3 });
  const angles = [0, 0.5, 1, 1.5];
  const data = dataset(sim, angles);

  it('round-trips a .npy scan folder and replays it turn after turn', async () => {
    const folder = join(dir, 'scan-npy');
    await writeNpyScan(folder, data);
    const back = await readNpyScan(folder, sim.detector.pixelSizeUm);
    expect(back.detector).toEqual(sim.detector);
    expect([...back.angles]).toEqual(angles);
    expect(Buffer.from(back.flat.buffer).equals(Buffer.from(sim.flat.buffer))).toBe(true);
    for (let i = 0; i < 4; i++)
      expect(
        Buffer.from(back.projection(i).buffer).equals(Buffer.from(data.projection(i).buffer)),
      ).toBe(true);

    const replay = new FileReplaySource(back);
    const sixth = replay.projectionNumber(5)!;
    expect(sixth.angle).toBeCloseTo(0.5 + 2 * Math.PI, 12);
    expect(Buffer.from(sixth.counts.buffer).equals(Buffer.from(data.projection(1).buffer))).toBe(
      true,
    );
    expect(new FileReplaySource(back, { loop: false }).projectionNumber(4)).toBeNull();
  });

  it('reads a scan saved by numpy itself: uint16 counts, stacked flats averaged, theta in radians', async () => {
    const folder = join(dir, 'scan-numpy');
    const script = [
      'import numpy as np, sys, os',
      'd = sys.argv[1]; os.makedirs(d, exist_ok=True)',
      'p = (np.arange(3 * 2 * 5, dtype=np.uint16) * 7).reshape(3, 2, 5)',
      "np.save(os.path.join(d, 'projections.npy'), p)",
      "np.save(os.path.join(d, 'theta.npy'), np.array([0.0, 0.25, 0.5]))",
      "np.save(os.path.join(d, 'flat.npy'), np.stack([np.full((2, 5), 900, np.uint16), np.full((2, 5), 1100, np.uint16)]))",
      "np.save(os.path.join(d, 'dark.npy'), np.full((2, 5), 10.5, np.float32))",
    ].join('\n');
    execFileSync(PYTHON, ['-c', script, folder]);
    const scan = await readNpyScan(folder, 2.5);
    expect(scan.detector).toEqual({ width: 5, height: 2, pixelSizeUm: 2.5 });
    expect(scan.count).toBe(3);
    expect([...scan.angles]).toEqual([0, 0.25, 0.5]);
    expect(scan.projection(2)).toBeInstanceOf(Uint16Array);
    expect([...scan.projection(2)]).toEqual(Array.from({ length: 10 }, (_, i) => (20 + i) * 7));
    expect([...scan.flat]).toEqual(new Array(10).fill(1000));
    expect([...scan.dark]).toEqual(new Array(10).fill(10.5));
  });

  it('refuses what is not a scan: no .npy, wrong rank, raw counts without a flat field', async () => {
    const folder = join(dir, 'not-npy');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'projections.npy'), 'hello world, not projections');
    await expect(readNpyScan(folder)).rejects.toThrow(/not a NumPy \.npy file/);
    execFileSync(PYTHON, [
      '-c',
      'import numpy as np, sys; np.save(sys.argv[1], np.zeros((4, 5), np.float32))',
      join(folder, 'projections.npy'),
    ]);
    await expect(readNpyScan(folder)).rejects.toThrow(/must be 3-D/);
    execFileSync(PYTHON, [
      '-c',
      'import numpy as np, sys; np.save(sys.argv[1], np.zeros((1, 4, 5), np.uint16))',
      join(folder, 'projections.npy'),
    ]);
    await expect(readNpyScan(folder)).rejects.toThrow(/flat\.npy is required for raw uint16/);
  });

  it('replays a DXchange HDF5 file written with h5wasm (theta in degrees, whites and darks averaged)', async () => {
    await h5wasm.ready;
    const path = join(dir, 'scan.h5');
    const { width, height } = sim.detector;
    const frame = width * height;
    const stack = new Uint16Array(4 * frame);
    for (let i = 0; i < 4; i++) stack.set(data.projection(i), i * frame);
    // Two white frames whose mean is the flat, one dark frame.
    const whites = new Float32Array(2 * frame);
    for (let i = 0; i < frame; i++) {
      whites[i] = sim.flat[i]! - 10;
      whites[frame + i] = sim.flat[i]! + 10;
    }
    const f = new h5wasm.File(path, 'w');
    const ex = f.create_group('exchange');
    ex.create_dataset({ name: 'data', data: stack, shape: [4, height, width], dtype: '<H' });
    ex.create_dataset({ name: 'data_white', data: whites, shape: [2, height, width], dtype: '<f' });
    ex.create_dataset({
      name: 'data_dark',
      data: sim.dark,
      shape: [1, height, width],
      dtype: '<f',
    });
    ex.create_dataset({
      name: 'theta',
      data: Float32Array.from(angles, (a) => (a * 180) / Math.PI),
      shape: [4],
      dtype: '<f',
    });
    f.close();

    const back = await readDxchange(path, 1.3);
    try {
      expect(back.detector).toEqual({ width, height, pixelSizeUm: 1.3 });
      expect([...back.angles].map((a) => +a.toFixed(5))).toEqual(angles);
      expect(Math.max(...back.flat.map((v, i) => Math.abs(v - sim.flat[i]!)))).toBeLessThan(1e-2);
      const replay = new FileReplaySource(back);
      const third = replay.projectionNumber(2)!;
      expect(
        Buffer.from(third.counts.buffer, third.counts.byteOffset, third.counts.byteLength).equals(
          Buffer.from(data.projection(2).buffer),
        ),
      ).toBe(true);
    } finally {
      back.close();
    }
  });

  it('writes DXchange that it reads back (captures)', async () => {
    const path = join(dir, 'capture.h5');
    await writeDxchange(path, data);
    const back = await readDxchange(path, 1.3);
    try {
      expect(back.count).toBe(4);
      expect([...back.angles].map((a) => +a.toFixed(9))).toEqual(angles);
      expect(
        Buffer.from(back.projection(3).buffer).equals(Buffer.from(data.projection(3).buffer)),
      ).toBe(true);
    } finally {
      back.close();
    }
  });
});
