/**
 * `npm run bench:fanout` — one producer publishing slices to N viewer processes through the Loupe
 * gateway, then the same load through a minimal raw `ws` broadcast server, in the same run.
 * Prints delivered frames/s and MB/s per live viewer, publish → receive p50/p99, server RSS, and
 * the ratios. Never asserts a time: figures only.
 *
 *   --size 1024 --rate 10 --planes 3 --viewers 20 --stalled 5 --stall 60 --after 10 --in-flight 2
 *   (short: --size 256 --viewers 6 --stalled 2 --stall 8 --after 4)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeFrame, PLANES } from '@/lib/protocol';
import { producerClient, TOKENS } from '@/server/testing/testGateway';
import { type ChildMessage, percentile, type ViewerResult } from './messages';
import { wsProducer } from './wsProducer';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    rate: { type: 'string', default: '10' },
    planes: { type: 'string', default: '3' },
    viewers: { type: 'string', default: '20' },
    stalled: { type: 'string', default: '5' },
    stall: { type: 'string', default: '60' },
    after: { type: 'string', default: '10' },
    'in-flight': { type: 'string', default: '2' },
    only: { type: 'string' },
  },
});
const SIZE = Number(values.size);
const RATE_HZ = Number(values.rate);
const PLANE_COUNT = Math.min(3, Number(values.planes));
const VIEWERS = Number(values.viewers);
const STALLED = Math.min(VIEWERS, Number(values.stalled));
const STALL_S = Number(values.stall);
const AFTER_S = Number(values.after);
/**
 * The producer's limit, the same for both: Loupe's producer has at most this many frames per plane
 * unacknowledged by the gateway; the baseline's skips a frame while this many frames' bytes are
 * still buffered in its socket. The producer SDKs default to 4; 2 keeps the producer's queue, and so
 * the latency, short at a saturating load, and delivered as many frames in our runs.
 */
const IN_FLIGHT = Number(values['in-flight']);
/** Publishing before the window opens, so connections and JIT have settled. */
const WARMUP_MS = 3000;
/** A viewer process that does not start within this long fails the run (never hangs). */
const START_TIMEOUT_MS = 60_000;

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function child(file: string, args: string[] = []): ChildProcess {
  // BENCH_CPU_PROF=dir: V8 CPU profiles of the server processes into dir (viewers too if
  // BENCH_CPU_PROF_VIEWERS=1).
  const profile =
    file !== 'viewerProcess.ts' || process.env.BENCH_CPU_PROF_VIEWERS === '1'
      ? process.env.BENCH_CPU_PROF
      : undefined;
  const c = fork(here(file), args, {
    execArgv: ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  c.on('error', (e) => console.error(`child ${file}: ${e.message}`));
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

function next(c: ChildProcess, type: ChildMessage['type']): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${type} from child within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const on = (m: ChildMessage) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Precomputed slices (seeded noise, so the bytes are not trivially compressible). */
const slices = Array.from({ length: 4 }, (_, k) => {
  const a = new Uint16Array(SIZE * SIZE);
  let s = 12345 + k;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s >>> 20;
  }
  return a;
});

interface Phase {
  name: string;
  perViewer: { fps: number; mbps: number }[];
  p50: number;
  p99: number;
  rssBaseline: number;
  rssPeak: number;
  rssEnd: number;
  published: number;
  /** Frames the producer did not send because the server had not taken the previous ones. */
  producerSkipped: number;
  stalled: ViewerResult[];
}

async function runPhase(name: 'loupe' | 'ws'): Promise<Phase> {
  const server = child(name === 'loupe' ? 'gatewayProcess.ts' : 'wsBroadcastServer.ts');
  const rss: { at: number; rss: number }[] = [];
  server.on(
    'message',
    (m: ChildMessage) => m.type === 'rss' && rss.push({ at: Date.now(), rss: m.rss }),
  );
  const { port } = (await next(server, 'ready')) as { port: number };
  const url = name === 'loupe' ? `http://127.0.0.1:${port}` : `ws://127.0.0.1:${port}`;

  let sent = 0;
  let skipped = 0;
  // The producer: registers the run (Loupe) or connects (ws), then publishes every plane at RATE_HZ.
  let publishOne: (plane: number, seq: number) => void;
  let closeProducer: () => void;
  if (name === 'loupe') {
    const p = producerClient(url, TOKENS.producer);
    await new Promise<void>((resolve, reject) => {
      p.once('connect', () => resolve());
      p.once('connect_error', reject);
    });
    const reply = await p.emitWithAck('run:register', { run: 'bench', title: 'fan-out bench' });
    if (!reply.ok) throw new Error(reply.error);
    // Like a real consumer: at most IN_FLIGHT frames per plane unacknowledged, else skip this one.
    const inFlight = [0, 0, 0];
    publishOne = (plane, seq) => {
      if (inFlight[plane]! >= IN_FLIGHT) return void skipped++;
      inFlight[plane]!++;
      const now = Date.now();
      const { header, payload } = encodeFrame(
        {
          run: 'bench',
          stream: PLANES[plane]!,
          seq,
          dtype: 'uint16',
          shape: [SIZE, SIZE],
          voxelSize: [1, 1, 1],
          acquiredAt: now,
          reconstructedAt: now,
          publishedAt: now,
        },
        slices[seq % slices.length]!,
      );
      p.emit('frame', header, payload, () => inFlight[plane]!--);
      sent++;
    };
    closeProducer = () => p.close();
  } else {
    const ws = await wsProducer(url, IN_FLIGHT);
    publishOne = (plane, seq) => {
      if (!ws.publish(plane, seq, slices[seq % slices.length]!, [SIZE, SIZE]))
        return void skipped++;
      sent++;
    };
    closeProducer = () => ws.close();
  }

  const viewers = Array.from({ length: VIEWERS }, (_, i) =>
    child('viewerProcess.ts', [
      name === 'loupe' ? 'sio' : 'ws',
      url,
      String(i),
      i < STALLED ? '1' : '0',
    ]),
  );
  await Promise.all(viewers.map((v) => next(v, 'ready')));

  let seq = 0;
  const timer = setInterval(() => {
    for (let plane = 0; plane < PLANE_COUNT; plane++) publishOne(plane, seq);
    seq++;
  }, 1000 / RATE_HZ);
  await sleep(WARMUP_MS);
  const from = Date.now();
  const to = from + (STALL_S + AFTER_S) * 1000;
  const rssBaseline = rss.at(-1)?.rss ?? 0;
  const sentAtStart = sent;
  const skippedAtStart = skipped;
  for (const v of viewers) v.send({ type: 'measure', from, to });
  const stalled = viewers.slice(0, STALLED);
  for (const v of stalled) v.kill('SIGSTOP');
  await sleep(STALL_S * 1000);
  for (const v of stalled) {
    v.kill('SIGCONT');
  }
  await sleep(AFTER_S * 1000);
  clearInterval(timer);
  const published = sent - sentAtStart;
  const producerSkipped = skipped - skippedAtStart;
  const results = await Promise.all(
    viewers.map((v) => {
      const r = next(v, 'result');
      v.send({ type: 'report' });
      return r;
    }),
  ).then((ms) => ms.map((m) => (m as { result: ViewerResult }).result));
  const inWindow = rss.filter((s) => s.at >= from && s.at <= to).map((s) => s.rss);
  closeProducer();
  server.disconnect();
  // Time to exit by itself (and write its CPU profile when asked to).
  await sleep(process.env.BENCH_CPU_PROF ? 3000 : 300);
  server.kill();

  const seconds = (to - from) / 1000;
  const live = results.filter((r) => !r.stalled);
  const latencies = live.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    name,
    perViewer: live.map((r) => ({ fps: r.frames / seconds, mbps: r.bytes / 1e6 / seconds })),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rssBaseline,
    rssPeak: Math.max(rssBaseline, ...inWindow),
    rssEnd: inWindow.at(-1) ?? rssBaseline,
    published,
    producerSkipped,
    stalled: results.filter((r) => r.stalled),
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function print(p: Phase): void {
  const fps = p.perViewer.map((v) => v.fps);
  const mbps = p.perViewer.map((v) => v.mbps);
  console.log(
    `\n== ${p.name === 'loupe' ? 'Loupe gateway (Socket.IO, flow control)' : 'baseline: raw ws broadcast'} ==`,
  );
  console.log(
    `published ${p.published} frames (${((p.published * SIZE * SIZE * 2) / 1e6).toFixed(0)} MB), producer skipped ${p.producerSkipped}`,
  );
  console.log(
    `live viewers (${fps.length}): ${mean(fps).toFixed(1)} frames/s, ${mean(mbps).toFixed(1)} MB/s each (min ${Math.min(...fps).toFixed(1)}, max ${Math.max(...fps).toFixed(1)} frames/s)`,
  );
  console.log(`publish → receive latency: p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms`);
  console.log(
    `server RSS: ${mib(p.rssBaseline)} before, peak ${mib(p.rssPeak)}, end ${mib(p.rssEnd)} (growth ${mib(p.rssPeak - p.rssBaseline)})`,
  );
  for (const s of p.stalled) {
    console.log(
      `  stalled viewer ${s.id}: ${s.afterResume} frames after resuming, ${s.staleAfterResume} of them stale (> 1 s old, oldest ${(s.oldestAfterResume / 1000).toFixed(1)} s); ${s.disconnected ? `disconnected (${s.disconnected})` : 'still connected'}`,
    );
  }
}

console.log(
  `fan-out bench: ${SIZE}×${SIZE} uint16, ${RATE_HZ} Hz × ${PLANE_COUNT} planes, ${VIEWERS} viewers (${STALLED} stalled for ${STALL_S} s, then ${AFTER_S} s more), producer in flight ${IN_FLIGHT}`,
);
const phases: Phase[] = [];
for (const name of ['loupe', 'ws'] as const) {
  if (values.only && values.only !== name) continue;
  const phase = await runPhase(name);
  print(phase);
  phases.push(phase);
}
// BENCH_JSON=file: the phases' figures for a wrapping benchmark (bench:record).
if (process.env.BENCH_JSON)
  writeFileSync(
    process.env.BENCH_JSON,
    JSON.stringify(
      phases.map((p) => ({
        ...p,
        stalled: p.stalled.length,
        fps: mean(p.perViewer.map((v) => v.fps)),
        mbps: mean(p.perViewer.map((v) => v.mbps)),
        seconds: WARMUP_MS / 1000 + STALL_S + AFTER_S,
      })),
    ),
  );
const [loupe, ws] = phases;
if (loupe && ws) {
  const t = mean(loupe.perViewer.map((v) => v.mbps)) / mean(ws.perViewer.map((v) => v.mbps));
  console.log(
    '\n== Loupe vs baseline (goals: throughput ≥ 0.90, p99 ≤ 1.5×, RSS growth ≤ 100 MB) ==',
  );
  console.log(`throughput to live viewers: ${t.toFixed(2)}×`);
  console.log(
    `p50 latency: ${(loupe.p50 / ws.p50).toFixed(2)}×, p99 latency: ${(loupe.p99 / ws.p99).toFixed(2)}×`,
  );
  console.log(
    `RSS growth: Loupe ${mib(loupe.rssPeak - loupe.rssBaseline)}, baseline ${mib(ws.rssPeak - ws.rssBaseline)}`,
  );
}
process.exit(0);
