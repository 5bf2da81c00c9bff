import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Gateway } from '../gateway';
import { connected, producerClient, startTestGateway, TOKENS } from './testGateway';

/**
 * A test gateway recording into a fresh temporary directory, with a connected producer that has
 * registered `run`. Everything is undone by the callbacks pushed on `cleanup` (run in reverse).
 */
export async function recordingGatewayWithProducer(
  run: string,
  title: string,
  cleanup: (() => unknown)[],
): Promise<{ gw: Gateway; producer: ReturnType<typeof producerClient>; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-rec-test-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const gw = await startTestGateway({
    recording: { dir, maxBytesPerRun: 2 ** 30, maxBytes: 2 ** 30, maxAgeMs: 3600_000 },
  });
  cleanup.push(() => gw.close());
  const producer = producerClient(gw.url, TOKENS.producer);
  cleanup.push(() => producer.close());
  await connected(producer);
  const reply = await producer.emitWithAck('run:register', { run, title });
  expect(reply.ok).toBe(true);
  return { gw, producer, dir };
}
