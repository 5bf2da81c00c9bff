import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Plane } from '@/lib/protocol';
import { ProducerLoop } from '../ProducerLoop';
import { slopePerMinute } from '../ResourceSampler';
import { LatencyHistogram } from './LatencyHistogram';
import type { ServerSample, SwarmReport, ToChild, ToParent } from './soakMessages';

export interface SoakOptions {
  viewers: number;
  /** Viewer processes the swarm is split over. */
  processes: number;
  /** Measured time after the warm-up (ms). */
  durationMs: number;
  warmupMs?: number;
  rateHz?: number;
  planes?: readonly Plane[];
  shape?: readonly [number, number];
  /** Progress lines (one every reportEveryMs). */
  log?: (line: string) => void;
  reportEveryMs?: number;
}

export interface SoakResult {
  durationMs: number;
  /** Gateway process samples inside the measured window. */
  server: ServerSample[];
  swarms: SwarmReport[];
  latency: LatencyHistogram;
  producer: { sent: number; accepted: number; refused: number; skipped: number };
  /** How the gateway process ended before it was asked to (null: it did not). */
  gatewayExit: string | null;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
/** A child that does not come up within this long fails the run instead of hanging it. */
const START_TIMEOUT_MS = 180_000;

/** Starts a TypeScript child with IPC; load generators run under `nice` so the gateway comes first. */
export function tsChild(file: string, args: string[], niceness = 0): ChildProcess {
  const node = [process.execPath, '--import', 'tsx', file, ...args];
  const [command, ...rest] = niceness > 0 ? ['nice', '-n', String(niceness), ...node] : node;
  const child = spawn(command!, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', (e) => console.error(`child ${file}: ${e.message}`));
  return child;
}

export function nextMessage<T extends ToParent['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs = START_TIMEOUT_MS,
): Promise<Extract<ToParent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`no ${type} from child within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: ToParent) => {
      if (m.type !== type) return;
      if (m.type === 'swarm' && !m.final) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m as Extract<ToParent, { type: T }>);
    };
    child.on('message', on);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The soak of scenario 24 against a Loupe gateway in its own process: one producer (this process),
 * `viewers` Socket.IO viewers in `processes` niced children, each checking the accounting invariant
 * on every sample. Returns the gateway's samples and the swarms' final accounts.
 */
export async function runLoupeSoak(o: SoakOptions): Promise<SoakResult> {
  const children: ChildProcess[] = [];
  const kill = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  process.once('exit', kill);
  try {
    const gateway = tsChild(here('gatewayProcess.ts'), []);
    children.push(gateway);
    let gatewayExit: string | null = null;
    let expectingExit = false;
    gateway.on('exit', (code, signal) => {
      if (!expectingExit) gatewayExit = `exit ${code ?? signal}`;
    });
    const samples: ServerSample[] = [];
    gateway.on('message', (m: ToParent) => m.type === 'server' && samples.push(m.sample));
    const { port } = await nextMessage(gateway, 'ready');
    const url = `http://127.0.0.1:${port}`;

    const producer = await new ProducerLoop({
      url,
      run: 'soak',
      rateHz: o.rateHz ?? 10,
      planes: o.planes ?? ['xy'],
      shape: o.shape ?? [256, 512],
    }).ready();
    const per = Math.ceil(o.viewers / o.processes);
    const swarms = Array.from({ length: o.processes }, (_, i) =>
      tsChild(
        here('viewerSwarm.ts'),
        ['sio', url, 'soak', String(Math.min(per, o.viewers - i * per))],
        10,
      ),
    );
    children.push(...swarms);
    await Promise.all(swarms.map((s) => nextMessage(s, 'ready')));

    producer.start();
    await sleep(o.warmupMs ?? 10_000);
    const from = Date.now();
    const latency = new LatencyHistogram();
    const onReport = (m: ToParent) => {
      if (m.type === 'swarm' && !m.final)
        latency.merge(LatencyHistogram.fromSparse(m.report.latency));
    };
    for (const s of swarms) s.on('message', onReport);
    const progress = setInterval(() => {
      const window = samples.filter((s) => s.at >= from);
      const last = window.at(-1);
      if (!last || !o.log) return;
      const slope = slopePerMinute(window.map((s) => ({ at: s.at, value: s.rss })));
      o.log(
        `  ${((Date.now() - from) / 1000).toFixed(0)} s: gateway RSS ${(last.rss / 2 ** 20).toFixed(0)} MiB (slope ${(slope / 2 ** 20).toFixed(2)} MiB/min), ` +
          `fds ${last.fds}, lag p99 ${last.lagP99.toFixed(1)} ms, CPU ${(last.cpu * 100).toFixed(0)} %, viewers ${last.viewers}, ` +
          `latency p50 ${latency.percentile(50)} ms p99 ${latency.percentile(99)} ms`,
      );
    }, o.reportEveryMs ?? 30_000);
    await sleep(o.durationMs);
    clearInterval(progress);
    const to = Date.now();
    producer.stop();
    await producer.settled(30_000).catch(() => undefined);
    // Let the last frames and one more metrics sample reach every viewer.
    await sleep(2500);
    const finals = await Promise.all(
      swarms.map((s) => {
        const final = nextMessage(s, 'swarm', 60_000);
        s.send({ type: 'report' } satisfies ToChild);
        return final;
      }),
    );
    for (const f of finals) latency.merge(LatencyHistogram.fromSparse(f.report.latency));
    const { sent, accepted, refused, skipped } = producer;
    producer.close();
    expectingExit = true;
    gateway.disconnect();
    await sleep(500);
    return {
      durationMs: to - from,
      server: samples.filter((s) => s.at >= from && s.at <= to),
      swarms: finals.map((f) => f.report),
      latency,
      producer: { sent, accepted, refused, skipped },
      gatewayExit,
    };
  } finally {
    kill();
    process.off('exit', kill);
  }
}

/** The figures the soak prints and judges. */
export interface SoakFigures {
  rssStart: number;
  rssEnd: number;
  rssPeak: number;
  /** Least-squares RSS slope, bytes per minute, and as % of mean RSS per hour. */
  rssSlopePerMin: number;
  rssSlopePctPerHour: number;
  /** Mean RSS of the last third minus that of the first third of the window. */
  rssDrift: number;
  fdsMin: number;
  fdsMax: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  cpuMean: number;
  latencyP50: number;
  latencyP99: number;
  framesPerViewerPerSecond: number;
  unexpectedDisconnects: number;
  /** Disconnect reasons with counts, e.g. "io server disconnect (stalled-seconds) 3". */
  disconnectReasons: string;
  violations: number;
  connectedAtEnd: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export function soakFigures(r: SoakResult, viewers: number): SoakFigures {
  const rss = r.server.map((s) => s.rss);
  const third = Math.max(1, Math.floor(rss.length / 3));
  const slope = slopePerMinute(r.server.map((s) => ({ at: s.at, value: s.rss })));
  const received = r.swarms.reduce((a, s) => a + s.received, 0);
  return {
    rssStart: rss[0] ?? NaN,
    rssEnd: rss.at(-1) ?? NaN,
    rssPeak: Math.max(...rss),
    rssSlopePerMin: slope,
    rssSlopePctPerHour: ((slope * 60) / mean(rss)) * 100,
    rssDrift: mean(rss.slice(-third)) - mean(rss.slice(0, third)),
    fdsMin: Math.min(...r.server.map((s) => s.fds)),
    fdsMax: Math.max(...r.server.map((s) => s.fds)),
    lagP50: median(r.server.map((s) => s.lagP50)),
    lagP99: median(r.server.map((s) => s.lagP99)),
    lagMax: Math.max(...r.server.map((s) => s.lagMax)),
    cpuMean: mean(r.server.map((s) => s.cpu)),
    latencyP50: r.latency.percentile(50),
    latencyP99: r.latency.percentile(99),
    framesPerViewerPerSecond: received / viewers / ((r.durationMs + 10_000) / 1000),
    unexpectedDisconnects: r.swarms.reduce(
      (a, s) =>
        a +
        s.disconnects
          .filter((d) => d.reason !== 'io client disconnect')
          .reduce((b, d) => b + d.count, 0),
      0,
    ),
    disconnectReasons:
      r.swarms
        .flatMap((s) => s.disconnects)
        .filter((d) => d.reason !== 'io client disconnect')
        .map((d) => `${d.reason} ${d.count}`)
        .join(', ') || 'none',
    violations: r.swarms.reduce((a, s) => a + s.violations, 0),
    connectedAtEnd: r.swarms.reduce((a, s) => a + s.connected, 0),
  };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function describeFigures(f: SoakFigures): string {
  return [
    `gateway RSS ${mib(f.rssStart)} → ${mib(f.rssEnd)} (peak ${mib(f.rssPeak)}; slope ${mib(f.rssSlopePerMin)}/min = ${f.rssSlopePctPerHour.toFixed(1)} %/h; last third − first third ${mib(f.rssDrift)})`,
    `fds ${f.fdsMin}–${f.fdsMax}; event-loop lag p50 ${f.lagP50.toFixed(1)} ms, p99 ${f.lagP99.toFixed(1)} ms (median of per-second), max ${f.lagMax.toFixed(0)} ms; gateway CPU ${(f.cpuMean * 100).toFixed(0)} % of a core`,
    `publish → receive latency p50 ${f.latencyP50} ms, p99 ${f.latencyP99} ms; ${f.framesPerViewerPerSecond.toFixed(2)} frames/s per viewer`,
    `viewers connected at the end ${f.connectedAtEnd}; unexpected disconnects ${f.unexpectedDisconnects} (${f.disconnectReasons}); accounting violations ${f.violations}`,
  ].join('\n');
}
