import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { decodeFrameStream, FRAME_STREAM_TYPE, RecordingSummary } from '@/lib/protocol';
import { ProducerLoop } from '../testing/ProducerLoop';
import { spawnGateway } from '../testing/spawnGateway';
import { TOKENS } from '../testing/testGateway';

const dir = mkdtempSync(join(tmpdir(), 'loupe-rec-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Scenario 3 of RELIABILITY.md for the recording: the gateway is SIGKILLed while it writes frames;
// the restarted gateway truncates the torn segment and the recording is intact up to ≤ 1 s before.
it('keeps the recording up to ≤ 1 s before a SIGKILL, and recovers the torn segment', async () => {
  process.env.LOUPE_TEST_RECORDING_DIR = dir;
  const gw = await spawnGateway();
  try {
    // 64 KiB frames at 10 Hz on three planes: ~2 MB/s, writes under way at any instant.
    const producer = await new ProducerLoop({
      url: gw.url,
      run: 'rec-kill',
      shape: [128, 256],
    }).ready();
    producer.start();
    await new Promise((r) => setTimeout(r, 3000));
    const acceptedAtKill = producer.accepted;
    const killedAt = Date.now();
    expect(await gw.kill('SIGKILL')).toBe('SIGKILL');
    producer.close();
    expect(readdirSync(join(dir, 'rec-kill')).some((f) => f.endsWith('.open.lseg'))).toBe(true);

    await gw.restart();
    const headers = { authorization: `Bearer ${TOKENS.scientist}` };
    const res = await fetch(`${gw.url}/api/runs/rec-kill/recording`, { headers });
    expect(res.status).toBe(200);
    const summary = RecordingSummary.parse(
      ((await res.json()) as { recording: unknown }).recording,
    );
    console.log(
      `s03 recording: ${summary.frames} frames recorded of ${acceptedAtKill} accepted before SIGKILL; ` +
        `last frame ${killedAt - (summary.to ?? 0)} ms before the kill; ${summary.bytes} bytes in ${summary.segments} segment(s)`,
    );
    expect(acceptedAtKill).toBeGreaterThan(30);
    // ≤ 1 s lost: at most 1 s of the 30 frames/s accepted, and the newest frame ≤ 1 s before the kill.
    expect(summary.frames).toBeGreaterThanOrEqual(acceptedAtKill - 30);
    expect(killedAt - summary.to!).toBeLessThanOrEqual(1000);
    // The open segment was truncated to its last whole record and sealed; its frames read back.
    expect(readdirSync(join(dir, 'rec-kill')).some((f) => f.includes('.open.'))).toBe(false);
    const at = new Date(summary.to!).toISOString();
    const frame = await fetch(`${gw.url}/api/runs/rec-kill/frames?stream=full/xy&at=${at}`, {
      headers,
    });
    expect(frame.headers.get('content-type')).toContain(FRAME_STREAM_TYPE);
    const [decoded] = decodeFrameStream(new Uint8Array(await frame.arrayBuffer()));
    expect(decoded!.header.shape).toEqual([128, 256]);
    expect(decoded!.pixels.length).toBe(128 * 256);
    // Authorised like the run: a producer does not read it.
    const refused = await fetch(`${gw.url}/api/runs/rec-kill/recording`, {
      headers: { authorization: `Bearer ${TOKENS.producer}` },
    });
    expect(refused.status).toBe(403);
  } finally {
    delete process.env.LOUPE_TEST_RECORDING_DIR;
    await gw.dispose();
  }
});
