import { expect, it } from 'vitest';
import { restartScenario } from './restartScenario';

// Scenario 2 of RELIABILITY.md: a graceful restart (SIGTERM) of a real gateway process under 100
// viewers. It drains: a `gateway:restarting` notice, then the transports close (never a namespace
// disconnect, which Socket.IO clients do not retry), so every viewer comes back by itself.
it('gets ≥ 99 % of 100 viewers back within 10 s of the restarted gateway listening after SIGTERM, re-authenticated and re-snapshotted, no command run twice', async () => {
  const f = await restartScenario('SIGTERM', 100, 10_000);
  console.log(
    `s02 SIGTERM: ${f.back}/${f.viewers} viewers back ≤ 10 s of the new gateway listening ` +
      `(p50 ${f.p50AfterListening.toFixed(2)} s, p99 ${f.p99AfterListening.toFixed(2)} s); from the signal p50 ${f.p50.toFixed(2)} s, ` +
      `p99 ${f.p99.toFixed(2)} s, max ${f.max.toFixed(2)} s; old gateway drained and gone after ${f.exitSeconds.toFixed(2)} s, new one listening after ${f.restartSeconds.toFixed(2)} s; ` +
      `commands ${f.commandsApplied}/${f.commandsAccepted} applied, ${f.executedTwice} executed twice, ${f.executionsLost} never executed`,
  );
  expect(f.exitCode).toBe(0); // drained and exited by itself
  expect(f.back / f.viewers).toBeGreaterThanOrEqual(0.99);
  // A new session each time (middleware ran again): the revoked token is refused after the restart.
  expect(f.allFreshSessions).toBe(true);
  expect(f.revokedRefused).toBe('unauthorized');
  expect(f.maxConnects).toBe(2); // connected before and after, no reconnect loop
  expect(f.producerReconnected).toBe(true);
  expect(f.commandsAccepted).toBeGreaterThan(0);
  expect(f.executedTwice).toBe(0);
  expect(f.executionsLost).toBe(0);
  expect(f.commandsApplied).toBe(f.commandsAccepted);
});
