/**
 * `npm run bench:soak` — the long run of scenario 24 (../shared/RELIABILITY.md): one producer at
 * 10 Hz × 256 KiB slices, 200 Socket.IO viewers in niced child processes, a Loupe gateway alone in
 * its own process, for 30 minutes; then the same load through bench/fanout's raw `ws` broadcast
 * server, in the same run. Prints p50/p99 latency, event-loop lag, RSS and its slope, descriptors,
 * disconnects and the accounting check beside the baseline. Figures only; never a pass/fail.
 *
 *   --minutes 30 --viewers 200 --processes 2 --rate 10 --planes 1 --rows 256 --cols 512
 *   --warmup 10 --report-every 60 --only loupe|ws          (short: --minutes 3 --report-every 30)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PLANES } from '@/lib/protocol';
import { seededRandom } from '@/lib/random/seededRandom';
import { slopePerMinute } from '@/server/testing/ResourceSampler';
import { LatencyHistogram } from '@/server/testing/soak/LatencyHistogram';
import {
  describeFigures,
  nextMessage,
  runLoupeSoak,
  soakFigures,
  tsChild,
} from '@/server/testing/soak/runSoak';
import type { SwarmReport, ToParent } from '@/server/testing/soak/soakMessages';
import type { ChildMessage } from '../fanout/messages';
import { wsProducer } from '../fanout/wsProducer';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    viewers: { type: 'string', default: '200' },
    processes: { type: 'string', default: '2' },
    rate: { type: 'string', default: '10' },
    planes: { type: 'string', default: '1' },
    rows: { type: 'string', default: '256' },
    cols: { type: 'string', default: '512' },
    warmup: { type: 'string', default: '10' },
    'report-every': { type: 'string', default: '60' },
    only: { type: 'string' },
  },
});
const DURATION_MS = Number(values.minutes) * 60_000;
const VIEWERS = Number(values.viewers);
const PROCESSES = Number(values.processes);
const RATE_HZ = Number(values.rate);
const PLANE_LIST = PLANES.slice(0, Math.min(3, Number(values.planes)));
const SHAPE: [number, number] = [Number(values.rows), Number(values.cols)];
const WARMUP_MS = Number(values.warmup) * 1000;
const REPORT_MS = Number(values['report-every']) * 1000;
/** The baseline producer skips a frame while this many are buffered, as in bench:fanout. */
const IN_FLIGHT = 2;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

console.log(
  `soak bench: ${VIEWERS} viewers in ${PROCESSES} processes, ${RATE_HZ} Hz × ${PLANE_LIST.length} plane(s) of ${SHAPE.join('×')} uint16 (${mib(SHAPE[0] * SHAPE[1] * 2)}), ${values.minutes} min measured per phase after ${values.warmup} s warm-up`,
);

interface BaselineFigures {
  rssStart: number;
  rssEnd: number;
  rssPeak: number;
  rssSlopePerMin: number;
  latencyP50: number;
  latencyP99: number;
  framesPerViewerPerSecond: number;
  disconnects: number;
  connectedAtEnd: number;
  sent: number;
  skipped: number;
}

/** The same load through bench/fanout's raw ws broadcast server (its guard: skip a viewer over 8 MiB buffered). */
async function runBaseline(): Promise<BaselineFigures> {
  const server = tsChild(
    fileURLToPath(new URL('../fanout/wsBroadcastServer.ts', import.meta.url)),
    [],
  );
  const rss: { at: number; rss: number }[] = [];
  server.on(
    'message',
    (m: ChildMessage) => m.type === 'rss' && rss.push({ at: Date.now(), rss: m.rss }),
  );
  const port = await new Promise<number>((resolve) =>
    server.on('message', (m: ChildMessage) => m.type === 'ready' && resolve(m.port ?? 0)),
  );
  const url = `ws://127.0.0.1:${port}`;
  const producer = await wsProducer(url, IN_FLIGHT);
  const per = Math.ceil(VIEWERS / PROCESSES);
  const swarms = Array.from({ length: PROCESSES }, (_, i) =>
    tsChild(
      fileURLToPath(new URL('../../server/testing/soak/viewerSwarm.ts', import.meta.url)),
      ['ws', url, 'soak', String(Math.min(per, VIEWERS - i * per))],
      10,
    ),
  );
  await Promise.all(swarms.map((s) => nextMessage(s, 'ready')));
  const random = seededRandom(7);
  const slices = Array.from({ length: 3 }, () =>
    Uint16Array.from({ length: SHAPE[0] * SHAPE[1] }, () => Math.floor(random() * 65536)),
  );
  let seq = 0;
  let sent = 0;
  let skipped = 0;
  const timer = setInterval(() => {
    for (let plane = 0; plane < PLANE_LIST.length; plane++)
      if (producer.publish(plane, seq, slices[seq % slices.length]!, SHAPE)) sent++;
      else skipped++;
    seq++;
  }, 1000 / RATE_HZ);
  await sleep(WARMUP_MS);
  const from = Date.now();
  const latency = new LatencyHistogram();
  for (const s of swarms)
    s.on('message', (m: ToParent) => {
      if (m.type === 'swarm' && !m.final)
        latency.merge(LatencyHistogram.fromSparse(m.report.latency));
    });
  const progress = setInterval(() => {
    const last = rss.at(-1);
    console.log(
      `  ${((Date.now() - from) / 1000).toFixed(0)} s: baseline RSS ${mib(last?.rss ?? 0)}, latency p50 ${latency.percentile(50)} ms p99 ${latency.percentile(99)} ms`,
    );
  }, REPORT_MS);
  await sleep(DURATION_MS);
  clearInterval(progress);
  const to = Date.now();
  clearInterval(timer);
  await sleep(2500);
  const finals: SwarmReport[] = await Promise.all(
    swarms.map((s) => {
      const final = nextMessage(s, 'swarm', 60_000);
      s.send({ type: 'report' });
      return final.then((m) => m.report);
    }),
  );
  for (const f of finals) latency.merge(LatencyHistogram.fromSparse(f.latency));
  producer.close();
  server.disconnect();
  await sleep(300);
  server.kill();
  const window = rss.filter((s) => s.at >= from && s.at <= to);
  return {
    rssStart: window[0]?.rss ?? NaN,
    rssEnd: window.at(-1)?.rss ?? NaN,
    rssPeak: Math.max(...window.map((s) => s.rss)),
    rssSlopePerMin: slopePerMinute(window.map((s) => ({ at: s.at, value: s.rss }))),
    latencyP50: latency.percentile(50),
    latencyP99: latency.percentile(99),
    framesPerViewerPerSecond:
      finals.reduce((a, f) => a + f.received, 0) / VIEWERS / ((to - from + WARMUP_MS) / 1000),
    disconnects: finals.reduce((a, f) => a + f.disconnects.reduce((b, d) => b + d.count, 0), 0),
    connectedAtEnd: finals.reduce((a, f) => a + f.connected, 0),
    sent,
    skipped,
  };
}

let loupe: ReturnType<typeof soakFigures> | null = null;
if (values.only !== 'ws') {
  console.log(
    '\n== Loupe gateway (Socket.IO, flow control, accounting checked on every sample) ==',
  );
  const result = await runLoupeSoak({
    viewers: VIEWERS,
    processes: PROCESSES,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    rateHz: RATE_HZ,
    planes: PLANE_LIST,
    shape: SHAPE,
    reportEveryMs: REPORT_MS,
    log: (line) => console.log(line),
  });
  loupe = soakFigures(result, VIEWERS);
  console.log(describeFigures(loupe));
  console.log(
    `producer sent ${result.producer.sent}, skipped ${result.producer.skipped}; gateway process ${result.gatewayExit ?? 'stayed up'}; ` +
      `viewer counters (sum) ${JSON.stringify(result.swarms.reduce((a, s) => ({ produced: a.produced + s.counters.produced, delivered: a.delivered + s.counters.delivered, replaced: a.replaced + s.counters.replaced }), { produced: 0, delivered: 0, replaced: 0 }))}`,
  );
}
let ws: BaselineFigures | null = null;
if (values.only !== 'loupe') {
  console.log('\n== baseline: raw ws broadcast (bench/fanout/wsBroadcastServer.ts) ==');
  ws = await runBaseline();
  console.log(
    `server RSS ${mib(ws.rssStart)} → ${mib(ws.rssEnd)} (peak ${mib(ws.rssPeak)}; slope ${mib(ws.rssSlopePerMin)}/min)\n` +
      `publish → receive latency p50 ${ws.latencyP50} ms, p99 ${ws.latencyP99} ms; ${ws.framesPerViewerPerSecond.toFixed(2)} frames/s per viewer\n` +
      `viewers connected at the end ${ws.connectedAtEnd}; disconnects ${ws.disconnects}; producer sent ${ws.sent}, skipped ${ws.skipped}`,
  );
}
if (loupe && ws) {
  console.log('\n== Loupe vs baseline ==');
  console.log(
    `latency p50 ${(loupe.latencyP50 / ws.latencyP50).toFixed(2)}×, p99 ${(loupe.latencyP99 / ws.latencyP99).toFixed(2)}×; ` +
      `frames per viewer ${(loupe.framesPerViewerPerSecond / ws.framesPerViewerPerSecond).toFixed(2)}×; ` +
      `RSS end ${mib(loupe.rssEnd)} vs ${mib(ws.rssEnd)}; RSS slope ${mib(loupe.rssSlopePerMin)}/min vs ${mib(ws.rssSlopePerMin)}/min; ` +
      `disconnects ${loupe.unexpectedDisconnects} vs ${ws.disconnects}`,
  );
}
process.exit(0);
