import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ProducerMetrics, parseHeader, streamKey } from '@/lib/protocol';
import type { StoredFrame } from '../streams/RunRegistry';
import { Recorder, type RecorderOptions } from './Recorder';

const dirs: string[] = [];
const open: Recorder[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'loupe-rec-'));
  dirs.push(d);
  return d;
}

async function recorder(options: Partial<RecorderOptions> & { dir: string }): Promise<Recorder> {
  const r = await Recorder.open({
    maxBytesPerRun: 2 ** 30,
    maxBytes: 2 ** 30,
    maxAgeMs: 3_600_000,
    ...options,
  });
  open.push(r);
  return r;
}

/** A 4×4 uint16 slice whose pixels all equal `value`, published at `t`. */
function slice(
  seq: number,
  t: number,
  value: number,
  extra: Record<string, unknown> = {},
): StoredFrame {
  const header = parseHeader({
    run: 'run-1',
    stream: 'xy',
    view: 'full',
    seq,
    dtype: 'uint16',
    shape: [4, 4],
    voxelSize: [1, 1, 1],
    acquiredAt: t,
    reconstructedAt: t,
    publishedAt: t,
    ...extra,
  });
  const pixels = new Uint16Array(16).fill(value);
  return {
    key: streamKey(header.view, header.stream),
    header: { ...header, acceptedAt: t },
    payload: new Uint8Array(pixels.buffer),
  };
}

/** A producer metrics sample of run-1 whose projections per second are `rate`. */
function sample(rate: number, at: number): ProducerMetrics {
  return {
    run: 'run-1',
    at,
    projectionsPerSecond: rate,
    slicesPerSecond: 3,
    bricksPerSecond: 4,
    voxelAngleUpdatesPerSecond: 1e7,
    coverageDeg: 180,
    cycleMs: 50,
    lagMs: 20,
    paused: false,
  };
}

const valueOf = (payload: Uint8Array) => new Uint16Array(new Uint8Array(payload).buffer)[0];

describe('Recorder', () => {
  it('answers the frame in force at an instant and the frames of a window', async () => {
    const r = await recorder({ dir: tempDir() });
    for (let i = 0; i < 10; i++) r.record('run-1', slice(i, 1000 + i * 100, i));
    r.mark('run-1', { t: 1450, kind: 'zoom', label: 'zoom applied' });
    await r.drain();
    const at = await r.frameAt('run-1', 'full/xy', 1550); // between frame 5 (1500) and 6 (1600)
    expect(at.map((f) => [f.header.seq, valueOf(f.payload)])).toEqual([[5, 5]]);
    expect(await r.frameAt('run-1', 'full/xy', 999)).toEqual([]);
    const { frames, truncated } = await r.range('run-1', 'full/xy', 1200, 1400, 100, 2 ** 20);
    expect(frames.map((f) => f.header.seq)).toEqual([2, 3, 4]);
    expect(truncated).toBe(false);
    expect((await r.range('run-1', 'full/xy', 1000, 2000, 3, 2 ** 20)).truncated).toBe(true);
    const s = r.summary('run-1')!;
    expect(s).toMatchObject({ from: 1000, to: 1900, frames: 10 });
    expect(s.streams).toEqual([{ key: 'full/xy', frames: 10, from: 1000, to: 1900 }]);
    expect(s.markers).toEqual([{ t: 1450, kind: 'zoom', label: 'zoom applied' }]);
  });

  it('reads a segment that is being sealed: renamed on disk, still open in memory', async () => {
    const dir = tempDir();
    const r = await recorder({ dir });
    for (let i = 0; i < 4; i++) r.record('run-1', slice(i, 1000 + i * 100, i));
    await r.drain();
    const runDir = join(dir, 'run-1');
    const openFile = readdirSync(runDir).find((f) => f.endsWith('.open.lseg'))!;
    const sealed = join(runDir, openFile.replace('.open.lseg', '.lseg'));
    // seal() renames the data file before it marks the segment sealed; a read between saw ENOENT.
    renameSync(join(runDir, openFile), sealed);
    const at = await r.frameAt('run-1', 'full/xy', 1250);
    expect(at.map((f) => [f.header.seq, valueOf(f.payload)])).toEqual([[2, 2]]);
    renameSync(sealed, join(runDir, openFile));
  });

  it('records alone in its directory: a live holder elsewhere is refused, a dead one’s lock is taken over', async () => {
    const dir = tempDir();
    const lock = join(dir, '.loupe-recorder.lock');
    const holder = (host: string, pid: number) =>
      writeFileSync(lock, JSON.stringify({ host, pid, since: '2026-12-03T10:00:00.000Z' }));
    // Another process of this host that still runs.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    try {
      holder(hostname(), other.pid!);
      await expect(recorder({ dir })).rejects.toThrow(
        new RegExp(
          `in use by process ${other.pid} on .*: give each gateway its own LOUPE_RECORDING_DIR$`,
        ),
      );
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    // That process gone (a SIGKILL): its lock is stale and taken over.
    const r = await recorder({ dir });
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid });
    await r.close();
    expect(readdirSync(dir)).not.toContain('.loupe-recorder.lock');
    // Another host's lock cannot be judged from here: refused, with what to do.
    holder('another-host.example.org', 4242);
    await expect(recorder({ dir })).rejects.toThrow(
      /remove .*\.loupe-recorder\.lock if that process is gone/,
    );
  });

  it('gives the bricks of the volume in force, not those of a volume of another shape', async () => {
    const r = await recorder({ dir: tempDir() });
    const brick = (
      seq: number,
      t: number,
      offset: [number, number, number],
      volumeShape: [number, number, number],
    ) =>
      slice(seq, t, seq, { stream: 'volume', shape: [1, 4, 4], brickOffset: offset, volumeShape });
    r.record('run-1', brick(0, 100, [0, 0, 0], [8, 8, 8])); // an older, other volume
    r.record('run-1', brick(1, 200, [0, 0, 0], [4, 4, 4]));
    r.record('run-1', brick(2, 300, [0, 0, 1], [4, 4, 4]));
    r.record('run-1', brick(3, 400, [0, 0, 0], [4, 4, 4])); // replaces brick 1
    r.record('run-1', brick(4, 500, [0, 0, 2], [4, 4, 4])); // after the instant asked
    await r.drain();
    const bricks = await r.frameAt('run-1', 'full/volume', 450);
    expect(bricks.map((b) => b.header.seq).sort()).toEqual([2, 3]);
  });

  it('stops walking back once the bricks found cover the whole volume', async () => {
    const r = await recorder({ dir: tempDir() });
    // A 4×4×4 volume in four bricks of 1×4×4, sent whole 50 times over.
    let seq = 0;
    for (let pass = 0; pass < 50; pass++)
      for (let z = 0; z < 4; z++)
        r.record(
          'run-1',
          slice(seq, 100 + seq, seq++, {
            stream: 'volume',
            shape: [1, 4, 4],
            brickOffset: [0, 0, z],
            volumeShape: [4, 4, 4],
          }),
        );
    await r.drain();
    const reads = vi.spyOn(r as unknown as { readFrame: () => unknown }, 'readFrame');
    const bricks = await r.frameAt('run-1', 'full/volume', 100 + 199.5);
    expect(bricks.map((b) => b.header.seq)).toEqual([196, 197, 198, 199]);
    // The newest four, not the 200 recorded.
    expect(reads).toHaveBeenCalledTimes(4);
  });

  it('truncates a torn segment at start-up and keeps every intact record before it', async () => {
    const dir = tempDir();
    const first = await recorder({ dir });
    for (let i = 0; i < 5; i++) first.record('run-1', slice(i, 1000 + i, i));
    await first.drain();
    // A crash mid-write: the open segment ends in half a record (and nobody seals it).
    const runDir = join(dir, 'run-1');
    const openFile = readdirSync(runDir).find((f) => f.endsWith('.open.lseg'))!;
    const intact = statSync(join(runDir, openFile)).size;
    appendFileSync(join(runDir, openFile), Buffer.from([0x43, 0x45, 0x52, 0x4c, 0, 0, 0, 0, 9, 9]));
    open.splice(open.indexOf(first), 1); // abandoned, as a killed process would leave it

    const second = await Recorder.open({
      dir,
      maxBytesPerRun: 2 ** 30,
      maxBytes: 2 ** 30,
      maxAgeMs: 3_600_000,
    });
    open.push(second);
    const sealed = readdirSync(runDir).filter((f) => f.endsWith('.lseg'));
    expect(sealed.some((f) => f.includes('.open.'))).toBe(false);
    expect(statSync(join(runDir, sealed[0]!)).size).toBe(intact);
    expect(second.summary('run-1')).toMatchObject({ frames: 5, from: 1000, to: 1004 });
    const last = await second.frameAt('run-1', 'full/xy', 2000);
    expect(valueOf(last[0]!.payload)).toBe(4);
    // Recording continues in a new segment after the recovered one.
    second.record('run-1', slice(5, 1005, 5));
    await second.drain();
    expect(second.summary('run-1')).toMatchObject({ frames: 6, segments: 2 });
    // The abandoned recorder's files were taken over: closing it fails to seal, which it reports.
    const errors: Error[] = [];
    first.on('error', (e) => errors.push(e));
    await first.close();
    expect(errors.length).toBe(1);
  });

  it('deletes the oldest segments past the per-run byte limit and records the dropped span', async () => {
    const dir = tempDir();
    // 64 KiB segments (the smallest), a 200 KiB budget: 1 KiB frames fill a segment every ~64.
    const r = await recorder({ dir, maxBytesPerRun: 200 * 1024, segmentBytes: 64 * 1024 });
    const big = (seq: number) => {
      const f = slice(seq, 10_000 + seq, seq, { shape: [16, 32] });
      return { ...f, payload: new Uint8Array(new Uint16Array(512).fill(seq).buffer) };
    };
    for (let i = 0; i < 400; i++) r.record('run-1', big(i));
    await r.drain();
    await r.enforceRetention();
    const s = r.summary('run-1')!;
    expect(s.bytes).toBeLessThanOrEqual(200 * 1024 + 64 * 1024);
    expect(s.from).toBeGreaterThan(10_000);
    const dropped = s.dropped.filter((d) => d.reason === 'retention');
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0]!.from).toBe(10_000);
    expect(dropped.reduce((n, d) => n + d.frames, 0) + s.frames).toBe(400);
    // What was dropped is still known after a restart.
    await r.close();
    open.splice(open.indexOf(r), 1);
    const again = await recorder({ dir, maxBytesPerRun: 200 * 1024, segmentBytes: 64 * 1024 });
    expect(again.summary('run-1')!.dropped.filter((d) => d.reason === 'retention')).toEqual(
      dropped,
    );
  });

  it('drops frames rather than queueing past its bound, and records the gap', async () => {
    const r = await recorder({ dir: tempDir(), queueBytes: 1000 });
    // Synchronously: the writer cannot run in between, so the queue fills after a few frames.
    for (let i = 0; i < 50; i++) r.record('run-1', slice(i, 5000 + i, i));
    expect(r.figures.dropped).toBeGreaterThan(0);
    await r.drain();
    r.record('run-1', slice(50, 6000, 50)); // room again: the gap is written before this frame
    await r.drain();
    const s = r.summary('run-1')!;
    const gap = s.dropped.find((d) => d.reason === 'queue-full')!;
    expect(gap.frames).toBe(r.figures.dropped);
    expect(s.frames + gap.frames).toBe(51);
    expect(gap.to).toBe(5049);
  });

  it('records the producer metrics by the gateway clock, in force at an instant while fresh, after a restart too', async () => {
    const dir = tempDir();
    const r = await recorder({ dir });
    for (let i = 0; i < 10; i++) {
      r.record('run-1', slice(i, 1000 + i * 1000, i));
      // The producer's own clock is off by an hour: the record goes by when the gateway got it.
      r.recordMetrics('run-1', sample(100 + i, 1000 + i * 1000 + 3_600_000), 1500 + i * 1000);
    }
    await r.drain();
    const at = await r.metricsAt('run-1', 4_200, 10_000);
    expect(at).toEqual({ receivedAt: 3500, sample: sample(102, 3000 + 3_600_000) });
    // Before the first sample, or long after the last one: no figures of the time.
    expect(await r.metricsAt('run-1', 1_400, 10_000)).toBeNull();
    expect(await r.metricsAt('run-1', 10_500 + 10_001, 10_000)).toBeNull();
    const span = await r.metricsRange('run-1', 2_000, 6_000, 100);
    expect(span.samples.map((m) => m.sample.projectionsPerSecond)).toEqual([101, 102, 103, 104]);
    expect(span.truncated).toBe(false);
    expect((await r.metricsRange('run-1', 0, 20_000, 3)).truncated).toBe(true);
    // Frames are unchanged by the records between them.
    expect(r.summary('run-1')!.frames).toBe(10);
    expect((await r.frameAt('run-1', 'full/xy', 4_200))[0]!.header.seq).toBe(3);

    // A restart reads them back from the segment (recovered from its open state).
    open.splice(open.indexOf(r), 1);
    await r.close();
    const again = await recorder({ dir });
    const all = await again.metricsRange('run-1', 0, 20_000, 100);
    expect(all.samples.map((m) => m.receivedAt)).toEqual(
      Array.from({ length: 10 }, (_, i) => 1500 + i * 1000),
    );
    expect((await again.metricsAt('run-1', 10_600, 10_000))!.sample.projectionsPerSecond).toBe(109);
  });

  it('still reads a version 1 segment, and rejects a version it does not know', async () => {
    const dir = tempDir();
    const r = await recorder({ dir });
    for (let i = 0; i < 3; i++) r.record('run-1', slice(i, 1000 + i, i));
    await r.close();
    open.splice(open.indexOf(r), 1);
    const runDir = join(dir, 'run-1');
    const file = join(
      runDir,
      readdirSync(runDir).find((f) => f.endsWith('.lseg'))!,
    );
    const data = readFileSync(file);
    expect(data.readUInt32LE(8)).toBe(2);
    data.writeUInt32LE(1, 8); // as a gateway before the metrics records wrote it
    writeFileSync(file, data);
    const v1 = await recorder({ dir });
    expect(v1.summary('run-1')).toMatchObject({ frames: 3 });
    expect(valueOf((await v1.frameAt('run-1', 'full/xy', 5000))[0]!.payload)).toBe(2);
    await v1.close();
    open.splice(open.indexOf(v1), 1);
    data.writeUInt32LE(3, 8);
    writeFileSync(file, data);
    // A newer gateway's segment is left on disk untouched, not read and not deleted.
    const future = await recorder({ dir });
    expect(future.summary('run-1')?.frames ?? 0).toBe(0);
    expect(readFileSync(file).equals(data)).toBe(true);
  });

  it('refuses run ids that are not safe as directory names', async () => {
    const r = await recorder({ dir: tempDir() });
    r.record('../escape', slice(0, 1, 1));
    await r.drain();
    expect(r.summary('../escape')).toBeUndefined();
  });
});
