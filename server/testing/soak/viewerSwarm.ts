/**
 * Child process: many viewers in one process for the soak — Socket.IO ViewerProbes against the
 * Loupe gateway (`sio`, each checking the accounting invariant on every sample), or raw `ws`
 * clients against the baseline broadcast server of bench/fanout (`ws`). Reports every few seconds
 * and at the end; latencies go into a bounded histogram.
 *
 *   viewerSwarm.ts sio|ws URL RUN COUNT
 */
import { WebSocket } from 'ws';
import { ViewerProbe } from '../ViewerProbe';
import { LatencyHistogram } from './LatencyHistogram';
import type { SwarmReport, ToChild, ToParent } from './soakMessages';

const [mode, url, run, countText] = process.argv.slice(2);
const COUNT = Number(countText);
const REPORT_MS = 5000;
/** Viewers dialling at once: a swarm of hundreds connects in waves, as browsers do. */
const WAVE = 20;
const send = (m: ToParent) => process.connected && process.send?.(m);

let latency = new LatencyHistogram();
const probes: ViewerProbe[] = [];
const raw: { socket: WebSocket; received: number; bytes: number; closed: string | null }[] = [];
let stopping = false;

if (mode === 'sio') {
  for (let i = 0; i < COUNT; i += WAVE) {
    const wave = Array.from(
      { length: Math.min(WAVE, COUNT - i) },
      () => new ViewerProbe({ url: url!, run: run!, io: { reconnection: false } }),
    );
    probes.push(...wave);
    await Promise.all(wave.map((p) => p.ready(60_000)));
  }
  // Drain the probes' latencies into the histogram so memory stays bounded.
  setInterval(() => {
    for (const p of probes) for (const ms of p.latencies.splice(0)) latency.add(ms);
  }, 500).unref();
} else {
  for (let i = 0; i < COUNT; i++) {
    const socket = new WebSocket(`${url}/viewer`, {
      perMessageDeflate: false,
      maxPayload: 128 * 1024 * 1024,
    });
    const entry = { socket, received: 0, bytes: 0, closed: null as string | null };
    raw.push(entry);
    // The baseline's framing (bench/fanout): u32 header length, JSON header, pixels.
    socket.on('message', (data: Buffer) => {
      const length = data.readUInt32LE(0);
      const header = JSON.parse(data.subarray(4, 4 + length).toString()) as { sentAt: number };
      latency.add(Date.now() - header.sentAt);
      entry.received++;
      entry.bytes += data.byteLength - 4 - length;
    });
    socket.on('close', () => (entry.closed ??= 'closed'));
    socket.on('error', (e) => (entry.closed = e.message));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
  }
}

function report(): SwarmReport {
  const reasons = new Map<string, number>();
  const counters = { produced: 0, delivered: 0, replaced: 0, rejected: 0, pending: 0 };
  let r: SwarmReport;
  if (mode === 'sio') {
    for (const p of probes) {
      // The gateway says why it dropped a viewer (viewer:disconnect) just before it does.
      const why = p.notices.at(-1)?.code;
      for (const d of p.disconnects) {
        const reason = why ? `${d.reason} (${why})` : d.reason;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      const c = p.latest?.viewer;
      if (c)
        for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] += c[k];
    }
    r = {
      connected: probes.filter((p) => p.socket.connected).length,
      received: probes.reduce((a, p) => a + p.received, 0),
      receivedBytes: probes.reduce((a, p) => a + p.receivedBytes, 0),
      samples: probes.reduce((a, p) => a + p.samples, 0),
      violations: probes.reduce((a, p) => a + p.violations.length, 0),
      violationExamples: probes.flatMap((p) => p.violations.map((v) => v.message)).slice(0, 5),
      older: probes.reduce((a, p) => a + p.older, 0),
      missed: probes.reduce((a, p) => a + p.missed, 0),
      disconnects: [...reasons].map(([reason, count]) => ({ reason, count })),
      latency: latency.toSparse(),
      counters,
    };
  } else {
    for (const e of raw) if (e.closed) reasons.set(e.closed, (reasons.get(e.closed) ?? 0) + 1);
    r = {
      connected: raw.filter((e) => e.socket.readyState === WebSocket.OPEN).length,
      received: raw.reduce((a, e) => a + e.received, 0),
      receivedBytes: raw.reduce((a, e) => a + e.bytes, 0),
      samples: 0,
      violations: 0,
      violationExamples: [],
      older: 0,
      missed: 0,
      disconnects: [...reasons].map(([reason, count]) => ({ reason, count })),
      latency: latency.toSparse(),
      counters,
    };
  }
  latency = new LatencyHistogram();
  return r;
}

send({ type: 'ready', connected: mode === 'sio' ? probes.length : raw.length });
setInterval(() => !stopping && send({ type: 'swarm', report: report(), final: false }), REPORT_MS);
process.on('message', (m: ToChild) => {
  if (m.type === 'report' || m.type === 'stop') {
    stopping = true;
    if (mode === 'sio')
      for (const p of probes) for (const ms of p.latencies.splice(0)) latency.add(ms);
    send({ type: 'swarm', report: report(), final: true });
    for (const p of probes) p.close();
    for (const e of raw) e.socket.close();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
