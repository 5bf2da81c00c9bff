/**
 * Child process: a Loupe gateway on a loopback port for the soak, alone in its process so its
 * memory, descriptors, CPU and event-loop delay are its own. Reports them once a second over IPC.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openFds } from '../ResourceSampler';
import { startTestGateway } from '../testGateway';
import type { ServerSample, ToParent } from './soakMessages';

const SAMPLE_MS = 1000;
const send = (m: ToParent) => process.connected && process.send?.(m);

const gateway = await startTestGateway({
  stallTimeoutMs: Number(process.env.LOUPE_SOAK_STALL_TIMEOUT_MS ?? 30_000),
});
/** The histogram records whole timer periods: its resolution is subtracted to leave the delay. */
const LAG_RESOLUTION_MS = 1;
const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
const delay = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
lag.enable();
let cpu = process.cpuUsage();
let last = Date.now();
setInterval(() => {
  const now = Date.now();
  const used = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  const m = process.memoryUsage();
  const sample: ServerSample = {
    at: now,
    rss: m.rss,
    heapUsed: m.heapUsed,
    fds: openFds(),
    lagP50: delay(lag.percentile(50)),
    lagP99: delay(lag.percentile(99)),
    lagMax: delay(lag.max),
    cpu: (used.user + used.system) / 1000 / Math.max(1, now - last),
    viewers: gateway.viewers.sockets.size,
  };
  last = now;
  lag.reset();
  send({ type: 'server', sample });
}, SAMPLE_MS).unref();
send({ type: 'ready', port: gateway.port });
process.on('disconnect', () => void gateway.close().then(() => process.exit(0)));
