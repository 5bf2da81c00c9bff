/**
 * `npm run bench:links` — viewers on slow links. One producer publishes a 2048² uint16 phantom
 * slice per plane at 10 Hz through a Loupe gateway (child process); per link speed, two viewers
 * (child processes), each behind its own throttling TcpProxy with a delay towards the viewer,
 * follow the run at the same time: one with adaptation off (never reports its display: every
 * frame whole, today's behaviour), one on (reports 1000 × 1000 device-pixel views, mode auto).
 * Prints received (drawn) updates per second per plane, p50/p99 age (gateway publication →
 * arrival) and bytes on the wire, off beside on. Figures only, never pass/fail.
 *
 *   --size 2048 --rate 10 --legs 1000,100,20,5 --delay 50 --warmup 4 --measure 8
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeFrame, PLANES } from '@/lib/protocol';
import { phantomSlice } from '@/consumers/phantom/sheppLogan3d';
import { producerClient, TOKENS } from '@/server/testing/testGateway';
import { percentile } from '../fanout/messages';
import type { LinkChildMessage, LinkResult } from './messages';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '2048' },
    rate: { type: 'string', default: '10' },
    legs: { type: 'string', default: '1000,100,20,5' },
    delay: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '4' },
    measure: { type: 'string', default: '8' },
  },
});
const SIZE = Number(values.size);
const RATE_HZ = Number(values.rate);
const LEGS = values.legs.split(',').map(Number);
const DELAY_MS = Number(values.delay);
const WARMUP_MS = Number(values.warmup) * 1000;
const MEASURE_MS = Number(values.measure) * 1000;
/** The producer's limit per plane (as the SDKs): frames unacknowledged by the gateway. */
const IN_FLIGHT = 2;
const START_TIMEOUT_MS = 60_000;
const RUN = 'bench-links';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function child(file: string, args: string[] = []): ChildProcess {
  const c = fork(here(file), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  c.on('error', (e) => console.error(`child ${file}: ${e.message}`));
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

function next<T extends LinkChildMessage['type']>(
  c: ChildProcess,
  type: T,
): Promise<Extract<LinkChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${type} from child within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const on = (m: LinkChildMessage) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      c.off('message', on);
      resolve(m as Extract<LinkChildMessage, { type: T }>);
    };
    c.on('message', on);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The phantom per plane, quantised to uint16 with seeded noise (σ ≈ 0.5 % of full scale), two variants. */
function sources(): Uint16Array[][] {
  let s = 2026;
  const noise = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32 - 0.5) * 600;
  };
  return PLANES.map((plane) => {
    const base = phantomSlice(plane, SIZE / 2, SIZE);
    return [0, 1].map(() =>
      Uint16Array.from(base, (v) =>
        Math.max(0, Math.min(65535, Math.round(v * 40000 + 8000 + noise()))),
      ),
    );
  });
}

async function main(): Promise<void> {
  console.log(
    `bench:links — ${SIZE}² uint16 × 3 planes at ${RATE_HZ} Hz; delay ${DELAY_MS} ms towards each viewer`,
  );
  console.log('preparing the phantom slices…');
  const pixels = sources();
  const gateway = child('gatewayProcess.ts');
  const { port } = await next(gateway, 'ready');
  const url = `http://127.0.0.1:${port!}`;

  const p = producerClient(url, TOKENS.producer);
  await new Promise<void>((resolve, reject) => {
    p.once('connect', () => resolve());
    p.once('connect_error', reject);
  });
  const reply = await p.emitWithAck('run:register', { run: RUN, title: 'bench:links' });
  if (!reply.ok) throw new Error(`register: ${JSON.stringify(reply)}`);
  let published = 0;
  let skipped = 0;
  const inFlight = [0, 0, 0];
  const seq = [0, 0, 0];
  const timer = setInterval(() => {
    for (const [plane, stream] of PLANES.entries()) {
      if (inFlight[plane]! >= IN_FLIGHT) {
        skipped++;
        continue;
      }
      inFlight[plane]!++;
      const now = Date.now();
      const k = seq[plane]!++;
      const { header, payload } = encodeFrame(
        {
          run: RUN,
          stream,
          seq: k,
          dtype: 'uint16',
          shape: [SIZE, SIZE],
          voxelSize: [1, 1, 1],
          position: SIZE / 2,
          volumeShape: [SIZE, SIZE, SIZE],
          range: [0, 65535],
          acquiredAt: now,
          reconstructedAt: now,
          publishedAt: now,
        },
        pixels[plane]![k % 2]!,
      );
      published++;
      p.emit('frame', header, payload, () => inFlight[plane]!--);
    }
  }, 1000 / RATE_HZ);

  const rows: {
    mbit: number;
    off: LinkResult;
    on: LinkResult;
    published: number;
    skipped: number;
  }[] = [];
  for (const speed of LEGS) {
    const viewers = (['off', 'on'] as const).map((mode) =>
      child('viewerProcess.ts', [
        `${speed}-${mode}`,
        String(port),
        String(speed),
        String(DELAY_MS),
        mode,
      ]),
    );
    await Promise.all(viewers.map((v) => next(v, 'ready')));
    const from = Date.now() + WARMUP_MS;
    const to = from + MEASURE_MS;
    for (const v of viewers) v.send({ type: 'measure', from, to });
    // The source's rate over the measured window itself, not the warm-up before it.
    await sleep(from - Date.now());
    const before = { published, skipped };
    await sleep(to - Date.now());
    const after = { published, skipped };
    await sleep(200);
    const results = await Promise.all(
      viewers.map((v) => {
        const r = next(v, 'result');
        v.send({ type: 'report' });
        return r;
      }),
    );
    for (const v of viewers) v.kill('SIGTERM');
    rows.push({
      mbit: speed,
      off: results[0]!.result,
      on: results[1]!.result,
      published: ((after.published - before.published) / 3 / MEASURE_MS) * 1000,
      skipped: after.skipped - before.skipped,
    });
    const r = rows[rows.length - 1]!;
    console.log(`  ${speed} Mbit/s done: source ${r.published.toFixed(1)} Hz per plane`);
    // Let the link's queues drain before the next leg.
    await sleep(1000);
  }
  clearInterval(timer);
  p.disconnect();

  const cell = (r: LinkResult) => {
    const hz = Math.min(...r.perPlaneHz);
    const p50 = percentile(r.ages, 50);
    const p99 = percentile(r.ages, 99);
    const age = (ms: number) => (Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(2)} s`);
    const levels = r.byLevel
      .map((n, level) => (n > 0 ? `${['1', '½', '¼', '⅛'][level]}:${n}` : ''))
      .filter(Boolean)
      .join(' ');
    return [
      `${hz.toFixed(1)} (${r.perPlaneHz.map((h) => h.toFixed(1)).join('/')})`,
      age(p50),
      age(p99),
      `${((r.wireBytes * 8) / (MEASURE_MS / 1000) / 1e6).toFixed(1)} Mbit/s`,
      levels || '—',
      r.disconnected ? `disconnected: ${r.disconnected}` : '',
    ];
  };
  console.log(
    `\nper link: updates/s per plane, min (xy/xz/yz); age publication → arrival p50, p99; wire rate; frames by level; window ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up\n`,
  );
  const header = [
    'link',
    'adapt',
    'updates/s/plane',
    'p50 age',
    'p99 age',
    'on the wire',
    'levels',
    '',
  ];
  const table = rows.flatMap((r) => [
    [`${r.mbit} Mbit/s`, 'off', ...cell(r.off)],
    [`${r.mbit} Mbit/s`, 'on', ...cell(r.on)],
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  console.log(
    `\nsource: ${rows.map((r) => `${r.published.toFixed(1)} Hz`).join(', ')} per plane during the legs; producer skipped ${rows.reduce((a, r) => a + r.skipped, 0)} frames (gateway busy)`,
  );
  gateway.disconnect();
  await sleep(500);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
