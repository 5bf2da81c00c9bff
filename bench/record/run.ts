/**
 * `npm run bench:record` — what recording costs and what it buys, figures only (never pass/fail):
 *
 * 1. The fan-out benchmark (bench/fanout, Loupe gateway only) in one run with recording off and on,
 *    alternating, --rounds times each (off, on, off, on, …: drift of a noisy machine hits both):
 *    the median throughput and p99 of the on runs as a ratio of the off runs' (goal ≥ 0.95×), each
 *    round's own ratio beside it, and the disk bytes per second the recording took.
 * 2. One hour of a run synthesised with the recorder's own writer (3 planes at 10 Hz and a preview
 *    volume of 8 bricks every 2 s, timestamps an hour apart, written as fast as the disk takes
 *    it), then a gateway started on that directory and the time to seek a random moment:
 *    GET /api/runs/:id/frames?at=… to the decoded frame, per plane (goal ≤ 200 ms to the first
 *    frame), and to the volume's bricks in force then.
 *
 *   --size 512 --viewers 10 --stalled 2 --stall 10 --after 10  (fan-out arguments, passed on)
 *   --rounds 3 (fan-out runs per setting)
 *   --hour-size 64 (edge of the synthesised slices) --seeks 40
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeFrameStream, encodeFrame, PLANES, type StreamKey } from '@/lib/protocol';
import { Recorder } from '@/server/recording/Recorder';
import { startTestGateway } from '@/server/testing/testGateway';
import { percentile } from '../fanout/messages';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '512' },
    viewers: { type: 'string', default: '10' },
    stalled: { type: 'string', default: '2' },
    stall: { type: 'string', default: '10' },
    after: { type: 'string', default: '10' },
    rate: { type: 'string', default: '10' },
    'hour-size': { type: 'string', default: '64' },
    hours: { type: 'string', default: '1' },
    seeks: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});

interface PhaseFigures {
  fps: number;
  mbps: number;
  p50: number;
  p99: number;
  published: number;
  producerSkipped: number;
  seconds: number;
}

const work = mkdtempSync(join(tmpdir(), 'loupe-bench-record-'));
const fanout = fileURLToPath(new URL('../fanout/run.ts', import.meta.url));

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

async function fanOut(recording: boolean): Promise<PhaseFigures & { diskBytes: number }> {
  const json = join(work, `fanout-${recording ? 'on' : 'off'}.json`);
  const dir = join(work, 'recordings');
  const args = ['--import', 'tsx', fanout, '--only', 'loupe'];
  for (const k of ['size', 'viewers', 'stalled', 'stall', 'after', 'rate'] as const)
    args.push(`--${k}`, values[k]);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BENCH_JSON: json, ...(recording && { BENCH_RECORDING_DIR: dir }) },
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`fan-out bench exited with ${code}`);
  const [phase] = JSON.parse(readFileSync(json, 'utf8')) as PhaseFigures[];
  if (!phase) throw new Error('the fan-out bench reported nothing');
  const diskBytes = recording ? dirBytes(dir) : 0;
  if (recording) rmSync(dir, { recursive: true, force: true });
  return { ...phase, diskBytes };
}

/** One hour (or --hours) of three planes at 10 Hz, written with the recorder, fast. */
async function synthesiseHour(
  dir: string,
  run: string,
): Promise<{ from: number; to: number; frames: number; bricks: number; ms: number }> {
  const edge = Number(values['hour-size']);
  const hz = 10;
  const frames = Math.round(Number(values.hours) * 3600 * hz);
  const from = Date.parse('2026-01-01T00:00:00Z');
  let clock = from;
  const recorder = await Recorder.open({
    dir,
    maxBytesPerRun: 2 ** 40,
    maxBytes: 2 ** 40,
    maxAgeMs: 100 * 365 * 24 * 3600_000,
    now: () => clock,
  });
  recorder.on('error', (e) => console.error(`recorder: ${e.message}`));
  const pixels = PLANES.map((_, p) =>
    Uint16Array.from({ length: edge * edge }, (_, i) => (i * 7 + p) & 0xffff),
  );
  const brickPixels = Uint16Array.from({ length: (edge / 4) ** 3 }, (_, i) => i & 0xffff);
  let bricks = 0;
  const started = performance.now();
  for (let i = 0; i < frames; i++) {
    clock = from + (i * 1000) / hz;
    for (const [p, plane] of PLANES.entries()) {
      const { header, payload } = encodeFrame(
        {
          run,
          stream: plane,
          seq: i,
          dtype: 'uint16',
          shape: [edge, edge],
          voxelSize: [1, 1, 1],
          position: edge / 2,
          volumeShape: [edge, edge, edge],
          acquiredAt: clock,
          reconstructedAt: clock,
          publishedAt: clock,
        },
        pixels[p]!,
      );
      recorder.record(run, {
        key: `full/${plane}`,
        header: { ...header, acceptedAt: clock },
        payload,
      });
    }
    // A preview volume of half the edge in 2×2×2 bricks, sent whole every 2 s, as the demo does.
    if (i % (2 * hz) === 0) {
      const half = edge / 2;
      const brick = half / 2;
      for (let b = 0; b < 8; b++) {
        const offset: [number, number, number] = [
          (b & 1) * brick,
          ((b >> 1) & 1) * brick,
          ((b >> 2) & 1) * brick,
        ];
        const { header, payload } = encodeFrame(
          {
            run,
            stream: 'volume',
            seq: (i / (2 * hz)) * 8 + b,
            dtype: 'uint16',
            shape: [brick, brick, brick],
            voxelSize: [2, 2, 2],
            brickOffset: offset,
            volumeShape: [half, half, half],
            acquiredAt: clock,
            reconstructedAt: clock,
            publishedAt: clock,
          },
          brickPixels,
        );
        recorder.record(run, {
          key: 'full/volume',
          header: { ...header, acceptedAt: clock },
          payload,
        });
        bricks++;
      }
    }
    // The queue is bounded (64 MiB); drain well before it, so nothing is dropped.
    if (i % 500 === 499) await recorder.drain();
  }
  await recorder.close();
  if (recorder.figures.dropped > 0) throw new Error(`${recorder.figures.dropped} frames dropped`);
  return {
    from,
    to: clock,
    frames: frames * PLANES.length,
    bricks,
    ms: performance.now() - started,
  };
}

async function seekHour(dir: string, run: string, from: number, to: number) {
  const opened = performance.now();
  const gateway = await startTestGateway({
    recording: {
      dir,
      maxBytesPerRun: 2 ** 40,
      maxBytes: 2 ** 40,
      maxAgeMs: 100 * 365 * 24 * 3600_000,
    },
  });
  const openMs = performance.now() - opened;
  const base = `http://127.0.0.1:${gateway.port}/api/runs/${run}/frames`;
  // Seeded, so runs compare: a linear congruential generator over the hour.
  let s = 20261202;
  const random = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const first: number[] = [];
  const all: number[] = [];
  const volume: number[] = [];
  const seeks = Number(values.seeks);
  // Unmeasured first: the route's JIT and the HTTP connection, as a page that already shows the run.
  for (const plane of PLANES)
    await fetch(`${base}?stream=full/${plane}&at=${new Date(from).toISOString()}`);
  for (let i = 0; i < seeks; i++) {
    const t = from + random() * (to - from);
    const at = new Date(Math.ceil(t)).toISOString();
    const started = performance.now();
    const times = await Promise.all(
      PLANES.map(async (plane) => {
        const key: StreamKey = `full/${plane}`;
        const res = await fetch(`${base}?stream=${key}&at=${at}`);
        if (!res.ok) throw new Error(`seek ${key} at ${at}: HTTP ${res.status}`);
        const [frame] = decodeFrameStream(new Uint8Array(await res.arrayBuffer()));
        if (!frame || frame.header.publishedAt > t) throw new Error('not the frame in force');
        return performance.now() - started;
      }),
    );
    first.push(Math.min(...times));
    all.push(Math.max(...times));
    // The volume as it was: the newest of each of its 8 bricks (the recorder stops walking back
    // once they cover the volume; before, it read every brick recorded up to the moment).
    const volumeStarted = performance.now();
    const res = await fetch(`${base}?stream=full/volume&at=${at}`);
    if (!res.ok) throw new Error(`seek full/volume at ${at}: HTTP ${res.status}`);
    const bricks = decodeFrameStream(new Uint8Array(await res.arrayBuffer()));
    if (bricks.length !== 8 || bricks.some((b) => b.header.publishedAt > t))
      throw new Error(`not the volume in force: ${bricks.length} bricks`);
    volume.push(performance.now() - volumeStarted);
  }
  await gateway.close();
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  return { openMs, first: sorted(first), all: sorted(all), volume: sorted(volume) };
}

console.log(`bench:record — scratch directory ${work}`);
const rounds = Math.max(1, Number(values.rounds));
const offs: Awaited<ReturnType<typeof fanOut>>[] = [];
const ons: Awaited<ReturnType<typeof fanOut>>[] = [];
for (let r = 1; r <= rounds; r++) {
  console.log(`\n### fan-out, recording off (round ${r} of ${rounds})`);
  offs.push(await fanOut(false));
  console.log(`\n### fan-out, recording on (round ${r} of ${rounds})`);
  ons.push(await fanOut(true));
}
/** The median of a figure over rounds. */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const medianOf = (list: typeof offs) => ({
  mbps: median(list.map((x) => x.mbps)),
  fps: median(list.map((x) => x.fps)),
  p50: median(list.map((x) => x.p50)),
  p99: median(list.map((x) => x.p99)),
  published: median(list.map((x) => x.published)),
  producerSkipped: median(list.map((x) => x.producerSkipped)),
  diskBytes: median(list.map((x) => x.diskBytes)),
  seconds: median(list.map((x) => x.seconds)),
});
const off = medianOf(offs);
const on = medianOf(ons);

const run = 'bench-hour';
const hourDir = join(work, 'hour');
console.log(
  `\n### synthesising ${values.hours} h of 3 planes at 10 Hz, ${values['hour-size']}² uint16, and a preview volume`,
);
const hour = await synthesiseHour(hourDir, run);
const hourBytes = dirBytes(hourDir);
console.log(
  `${hour.frames} slices and ${hour.bricks} bricks, ${(hourBytes / 2 ** 20).toFixed(0)} MiB on disk, written in ${(hour.ms / 1000).toFixed(1)} s`,
);
const seek = await seekHour(hourDir, run, hour.from, hour.to);

const ms = (x: number) => `${x.toFixed(1)} ms`;
console.log(
  `\n== recording on vs off, medians of ${rounds} alternating rounds each (goal: throughput on/off ≥ 0.95×, p99 off/on ≥ 0.95×, i.e. p99 on ≤ 1.05× off) ==`,
);
for (let r = 0; r < rounds; r++)
  console.log(
    `round ${r + 1}: off ${offs[r]!.mbps.toFixed(1)} MB/s p99 ${offs[r]!.p99.toFixed(1)} ms, on ${ons[r]!.mbps.toFixed(1)} MB/s p99 ${ons[r]!.p99.toFixed(1)} ms: throughput ${(ons[r]!.mbps / offs[r]!.mbps).toFixed(3)}×, p99 off/on ${(offs[r]!.p99 / ons[r]!.p99).toFixed(2)}×`,
  );
console.log(
  `throughput to live viewers: off ${off.mbps.toFixed(1)} MB/s (${off.fps.toFixed(1)} frames/s), on ${on.mbps.toFixed(1)} MB/s (${on.fps.toFixed(1)} frames/s): ${(on.mbps / off.mbps).toFixed(3)}×`,
);
console.log(
  `publish → receive p99: off ${ms(off.p99)}, on ${ms(on.p99)}: off/on ${(off.p99 / on.p99).toFixed(2)}× (p50 ${ms(off.p50)} → ${ms(on.p50)})`,
);
console.log(
  `published: off ${off.published}, on ${on.published} frames; producer skipped off ${off.producerSkipped}, on ${on.producerSkipped}`,
);
console.log(
  `disk: ${(on.diskBytes / 2 ** 20).toFixed(0)} MiB in ${on.seconds} s of publishing = ${(on.diskBytes / on.seconds / 1e6).toFixed(1)} MB/s`,
);
console.log(`\n== seek in ${values.hours} h of recording (goal ≤ 200 ms to the first frame) ==`);
console.log(`gateway start on the directory (index load): ${ms(seek.openMs)}`);
console.log(
  `first decoded frame: p50 ${ms(percentile(seek.first, 50))}, p95 ${ms(percentile(seek.first, 95))}, max ${ms(seek.first.at(-1)!)} over ${seek.first.length} random moments`,
);
console.log(
  `all three planes: p50 ${ms(percentile(seek.all, 50))}, p95 ${ms(percentile(seek.all, 95))}, max ${ms(seek.all.at(-1)!)}`,
);
console.log(
  `volume bricks in force (8 of 8): p50 ${ms(percentile(seek.volume, 50))}, p95 ${ms(percentile(seek.volume, 95))}, max ${ms(seek.volume.at(-1)!)}`,
);
if (!values.keep) rmSync(work, { recursive: true, force: true });
process.exit(0);
