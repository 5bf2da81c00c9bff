import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '@/lib/protocol';
import { recordingGatewayWithProducer } from '@/server/testing/recordingGateway';
import { TOKENS } from '@/server/testing/testGateway';

/** Debian's interpreter, where python3-numpy lives (as pythonSdk.test.ts). */
const PYTHON =
  process.env.LOUPE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const SCRIPT = fileURLToPath(new URL('./read_recording.py', import.meta.url));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

describe('Python recording reader (consumers/python/loupe_producer/recording.py)', () => {
  it('reads a recording into numpy over REST and from the segment files, pixel for pixel, with the producer metrics between the frames', async () => {
    const { gw, producer, dir } = await recordingGatewayWithProducer('pyrec', 'py reader', cleanup);
    const N = 12;
    const FRAMES = 8;
    let sum = 0;
    for (let k = 0; k < FRAMES; k++) {
      const pixels = Uint16Array.from(
        { length: N * (N + 1) },
        (_, i) => (i * 31 + k * 1000) % 65536,
      );
      sum += pixels.reduce((a, b) => a + b, 0);
      const now = Date.now();
      const { header, payload } = encodeFrame(
        {
          run: 'pyrec',
          stream: 'xy',
          seq: k,
          dtype: 'uint16',
          shape: [N, N + 1],
          voxelSize: [1, 1, 1],
          acquiredAt: now,
          reconstructedAt: now,
          publishedAt: now,
        },
        pixels,
      );
      // The producer's own metrics, recorded between the frames (segment version 2's new kind);
      // sent before the frame, so the frame's acknowledgement comes after it was taken.
      producer.emit('run:metrics', {
        run: 'pyrec',
        at: Date.now(),
        projectionsPerSecond: 100 + k,
        slicesPerSecond: 3,
        bricksPerSecond: 0,
        voxelAngleUpdatesPerSecond: 1e6,
        coverageDeg: 180,
        cycleMs: 40,
        lagMs: 25,
        paused: false,
      });
      expect(await producer.emitWithAck('frame', header, payload)).toEqual({ ok: true });
      // Distinct publication instants, so the frame in force mid-span is one of them.
      await new Promise((r) => setTimeout(r, 5));
    }
    await gw.recorder!.drain();

    // Not spawnSync: the gateway answering the script runs in this process.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = execFile(
          PYTHON,
          [
            SCRIPT,
            '--gateway',
            gw.url,
            '--token',
            TOKENS.viewer,
            '--run',
            'pyrec',
            '--dir',
            join(dir, 'pyrec'),
          ],
          { encoding: 'utf8', timeout: 60_000 },
          (_error, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
        );
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as {
      rest: { shape: number[]; dtype: string; sum: number; seqs: number[] };
      at: { seq: number };
      segments: { shape: number[]; equal: boolean };
      producerMetrics: number[];
    };
    expect(out.rest).toEqual({
      shape: [FRAMES, N, N + 1],
      dtype: 'uint16',
      sum,
      seqs: [...Array(FRAMES).keys()],
    });
    expect(out.at.seq).toBeGreaterThanOrEqual(0);
    expect(out.at.seq).toBeLessThan(FRAMES);
    expect(out.segments).toEqual({ shape: [FRAMES, N, N + 1], equal: true });
    expect(out.producerMetrics).toEqual(Array.from({ length: FRAMES }, (_, k) => 100 + k));
  });
});
