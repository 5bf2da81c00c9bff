import { LocalUsers } from '../auth/LocalUsers';
import { clusterFromEnv } from '../cluster/clusterFromEnv';
import { startGateway } from '../gateway';

/**
 * A gateway as its own process, for fault tests that signal it (server/testing/spawnGateway.ts):
 * loopback only, the database and users file it is given, anonymous viewers allowed. Prints one
 * JSON line `{"listening": port}` once it takes connections; drains and exits 0 on SIGTERM, like
 * server/main.ts.
 */
const port = Number(process.env.LOUPE_TEST_PORT ?? 0);
const db = process.env.LOUPE_TEST_DB;
const usersFile = process.env.LOUPE_TEST_USERS;
if (!db || !usersFile) throw new Error('LOUPE_TEST_DB and LOUPE_TEST_USERS are required');

// A cluster member when LOUPE_GATEWAY_ID is set; it advertises its own loopback port by default.
const cluster = await clusterFromEnv({
  LOUPE_ADVERTISE_URL: `http://127.0.0.1:${port}`,
  ...process.env,
});
const gateway = await startGateway({
  host: '127.0.0.1',
  port,
  db,
  users: LocalUsers.fromFile(usersFile),
  allowAnonymousViewers: true,
  // JSON lines on stdout, as server/main.ts (LOUPE_LOG_LEVEL; warnings and errors by default).
  logger: true,
  ...(process.env.LOUPE_TEST_RECORDING_DIR && {
    recording: {
      dir: process.env.LOUPE_TEST_RECORDING_DIR,
      maxBytesPerRun: 2 ** 30,
      maxBytes: 2 ** 30,
      maxAgeMs: 3_600_000,
    },
  }),
  ...(process.env.LOUPE_TEST_RETRY_AFTER_MS && {
    restartRetryAfterMs: Number(process.env.LOUPE_TEST_RETRY_AFTER_MS),
  }),
  ...(cluster && { cluster }),
});
console.log(JSON.stringify({ listening: gateway.port, pid: process.pid }));

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void gateway
    .close()
    .then(() => cluster?.close())
    .then(() => process.exit(0));
});
