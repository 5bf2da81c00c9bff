/**
 * Scenario 24 of ../shared/RELIABILITY.md, the CI-sized soak: 200 Socket.IO viewers (in two niced
 * child processes) follow one run whose producer publishes 256 KiB slices at 10 Hz, for 3 minutes,
 * against a gateway alone in its own process. Flat memory (RSS drift and slope), stable descriptors,
 * 0 unexpected disconnects, the accounting invariant exact on every sample of every viewer. Prints
 * the figures; `npm run bench:soak` is the long run. LOUPE_SOAK_MS / LOUPE_SOAK_VIEWERS shrink it.
 */
import { describe, expect, it } from 'vitest';
import { describeFigures, runLoupeSoak, soakFigures } from '../testing/soak/runSoak';

const DURATION_MS = Number(process.env.LOUPE_SOAK_MS ?? 180_000);
const VIEWERS = Number(process.env.LOUPE_SOAK_VIEWERS ?? 200);
/**
 * Flat memory over minutes: what a leak of one frame reference per viewer per second would exceed
 * many times over (200 viewers × 256 KiB × 60 s ≈ 3 GiB/min), while GC and buffer pools move
 * RSS by a few tens of MiB.
 */
const MAX_DRIFT = 64 * 2 ** 20;

describe('s24 soak', () => {
  it(
    `${VIEWERS} viewers for ${DURATION_MS / 1000} s: flat memory, stable fds, no disconnects, exact accounting`,
    { timeout: DURATION_MS + 240_000 },
    async () => {
      const started = Date.now();
      const result = await runLoupeSoak({
        viewers: VIEWERS,
        processes: 2,
        durationMs: DURATION_MS,
        log: (line) => console.log(line),
      });
      const f = soakFigures(result, VIEWERS);
      console.log(
        `s24 (${VIEWERS} viewers, ${(DURATION_MS / 1000).toFixed(0)} s measured, ${((Date.now() - started) / 1000).toFixed(0)} s in all; producer sent ${result.producer.sent}, skipped ${result.producer.skipped}):\n${describeFigures(f)}`,
      );
      expect(result.gatewayExit).toBeNull();
      expect(result.server.length).toBeGreaterThan(DURATION_MS / 1000 / 2);
      expect(f.unexpectedDisconnects).toBe(0);
      expect(f.connectedAtEnd).toBe(VIEWERS);
      expect(f.violations).toBe(0);
      for (const s of result.swarms) {
        expect(s.older).toBe(0);
        // Every viewer's accounting was checked about once a second.
        expect(s.samples).toBeGreaterThan((s.connected * DURATION_MS) / 1000 / 2);
      }
      expect(f.rssDrift).toBeLessThan(MAX_DRIFT);
      expect(f.fdsMax - f.fdsMin).toBeLessThanOrEqual(8);
    },
  );
});
