/** Child process: a Loupe gateway on a loopback port, reporting its RSS twice a second. */
import { startTestGateway } from '@/server/testing/testGateway';
import type { ChildMessage } from './messages';

const RSS_EVERY_MS = 500;
// With a callback, a send racing the parent's disconnect (EPIPE) is passed to it, not thrown.
const send = (m: ChildMessage) =>
  process.connected && process.send?.(m, undefined, {}, () => undefined);

// BENCH_RECORDING_DIR=dir: the gateway records every frame there (bench:record), as it does by default.
const recordingDir = process.env.BENCH_RECORDING_DIR;
const gateway = await startTestGateway({
  stallTimeoutMs: Number(process.env.BENCH_STALL_TIMEOUT_MS ?? 30_000),
  ...(recordingDir && {
    recording: {
      dir: recordingDir,
      maxBytesPerRun: 2 ** 40,
      maxBytes: 2 ** 40,
      maxAgeMs: 7 * 24 * 3600_000,
    },
  }),
});
setInterval(() => send({ type: 'rss', rss: process.memoryUsage().rss }), RSS_EVERY_MS).unref();
send({ type: 'ready', port: gateway.port });
process.on('disconnect', () => void gateway.close().then(() => process.exit(0)));
