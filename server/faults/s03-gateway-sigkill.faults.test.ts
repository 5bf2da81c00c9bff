import { expect, it } from 'vitest';
import { restartScenario } from './restartScenario';

// Scenario 3 of RELIABILITY.md: the gateway process is killed (SIGKILL, no drain) under 100
// viewers and started again; the clients' jittered backoff (lib/reconnect) brings them back.
it('gets ≥ 99 % of 100 viewers back within 30 s after SIGKILL and a restart, none looping, no command run twice', async () => {
  const f = await restartScenario('SIGKILL', 100, 30_000);
  console.log(
    `s03 SIGKILL: ${f.back}/${f.viewers} viewers back ≤ 30 s of the new gateway listening ` +
      `(p50 ${f.p50AfterListening.toFixed(2)} s, p99 ${f.p99AfterListening.toFixed(2)} s); from the signal p50 ${f.p50.toFixed(2)} s, ` +
      `p99 ${f.p99.toFixed(2)} s, max ${f.max.toFixed(2)} s; new gateway listening after ${f.restartSeconds.toFixed(2)} s, ` +
      `its CPU ${(f.cpuShare * 100).toFixed(0)} % of a core while they came back; most connects by one viewer ${f.maxConnects}; ` +
      `commands ${f.commandsApplied}/${f.commandsAccepted} applied, ${f.executedTwice} executed twice, ${f.executionsLost} never executed`,
  );
  expect(f.exitCode).toBe('SIGKILL');
  expect(f.back / f.viewers).toBeGreaterThanOrEqual(0.99);
  expect(f.allFreshSessions).toBe(true);
  expect(f.revokedRefused).toBe('unauthorized');
  expect(f.maxConnects).toBe(2); // connected before and after, no reconnect loop
  expect(f.producerReconnected).toBe(true);
  expect(f.commandsAccepted).toBeGreaterThan(0);
  expect(f.executedTwice).toBe(0);
  expect(f.executionsLost).toBe(0);
  expect(f.commandsApplied).toBe(f.commandsAccepted);
});
