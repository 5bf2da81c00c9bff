import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { FlowCounters, RunMetrics, type RunSummary } from '@/lib/protocol';
import type { Gateway } from '../gateway';
import {
  connected,
  eventually,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';

// Scenario 1 of RELIABILITY.md: the producer process is SIGKILLed mid-stream and started again.
// Bounded: one producer, one viewer, ~3 s of streaming either side of a 2 s outage.

const ENTRY = fileURLToPath(new URL('../testing/producerProcess.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN = 'kill-run';
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

function startProducer(gw: Gateway): { child: ChildProcess; registered: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LOUPE_TEST_GATEWAY: gw.url,
      LOUPE_TEST_TOKEN: TOKENS.producer,
      LOUPE_TEST_RUN: RUN,
    },
  });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const registered = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('producer did not register in 60 s')), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('"registered"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, registered };
}

it('survives a producer SIGKILL: viewers told offline promptly, seq resumes, the gap counted as missed', async () => {
  const gw = await startTestGateway({ metricsIntervalMs: 200 });
  cleanup.push(() => gw.close());
  const viewer = viewerClient(gw.url, TOKENS.viewer);
  cleanup.push(() => viewer.close());
  await connected(viewer);
  const seqs: number[] = [];
  let summary: RunSummary | null = null;
  let offlineAt = 0;
  let counters: FlowCounters | null = null;
  viewer.on('frame', (header, _payload, received) => {
    seqs.push(header.seq);
    received();
  });
  viewer.on('run:update', (run) => {
    summary = run;
    if (!run.producerConnected && offlineAt === 0) offlineAt = Date.now();
  });
  viewer.on('run:metrics', (m) => {
    const parsed = RunMetrics.safeParse(m);
    if (parsed.success) counters = parsed.data.viewer;
  });

  const first = startProducer(gw);
  await first.registered;
  expect((await viewer.emitWithAck('run:subscribe', { run: RUN })).ok).toBe(true);
  await eventually(() => seqs.length >= 20, 15_000, 'frames before the kill');

  const killedAt = Date.now();
  first.child.kill('SIGKILL');
  await eventually(() => offlineAt > 0, 15_000, 'producer-offline reaching the viewer');
  const offlineSeconds = (offlineAt - killedAt) / 1000;
  const lastBefore = seqs[seqs.length - 1]!;
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const second = startProducer(gw);
  await second.registered;
  const countBefore = seqs.length;
  await eventually(() => seqs.length >= countBefore + 20, 15_000, 'frames after the restart');
  second.child.kill('SIGKILL');
  await eventually(() => summary?.producerConnected === false, 15_000, 'offline again');
  // Let the last metrics sample land after the stream stopped, so the counters are final.
  await new Promise((resolve) => setTimeout(resolve, 600));

  const after = seqs.slice(countBefore);
  const missed = seqs.slice(1).reduce((n, s, i) => n + Math.max(0, s - seqs[i]! - 1), 0);
  const c = counters as FlowCounters | null;
  console.log(
    `s01 producer SIGKILL: viewer told producer-offline after ${offlineSeconds.toFixed(2)} s; ` +
      `last seq before ${lastBefore}, first after ${after[0]}; ${seqs.length} frames delivered, ${missed} missed ` +
      `(gaps); gateway counters ${JSON.stringify(c)}`,
  );
  expect((await fetch(`${gw.url}/api/health`)).status).toBe(200); // the gateway lives on
  expect(offlineSeconds).toBeLessThan(10);
  // seq resumes after the last kept one: never renumbered, never repeated.
  expect(after[0]!).toBeGreaterThan(lastBefore);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
  // Accounting invariant from the gateway's counters, and the viewer saw what was delivered.
  expect(c).not.toBeNull();
  expect(c!.produced).toBe(c!.delivered + c!.replaced + c!.rejected + c!.pending);
  expect(c!.delivered).toBe(seqs.length);
  // What the viewer did not see is either replaced at the gateway or a gap it counts as missed.
  expect(missed).toBeGreaterThanOrEqual(c!.replaced);
});
