import type { FastifyBaseLogger } from 'fastify';
import { metricsTokenFromFile } from './metrics/GatewayMetrics';
import { LocalUsers, ensureDefaultUsersFile } from './auth/LocalUsers';
import { ShareLinks } from './auth/ShareLinks';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, gatewayUrl, type LoupeConfig, readConfig } from './config';
import { LeaseKeeper } from './db/LeaseKeeper';
import { Leases } from './db/Leases';
import { openStore } from './db/openStore';
import { facilityAdapters, slurmSource } from './facilities/facilityAdapters';
import { sitesFromEnv } from './facilities/sites/SitesConfig';
import { FacilityService } from './facilities/FacilityService';
import { SimulatedJobRunner } from './facilities/simulator/SimulatedJobRunner';
import { slurmSiteFromEnv } from './facilities/slurm/slurmSite';
import { startEmbeddedFacilities } from './facilities/startEmbeddedFacilities';
import { startGateway } from './gateway';
import { DirectoryInUseError } from './recording/directoryLock';
import { clusterFromEnv } from './cluster/clusterFromEnv';

let config: LoupeConfig;
try {
  config = readConfig();
} catch (error) {
  // Fail closed: a setting Loupe cannot read exactly never falls back to something permissive.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Loupe gateway: ${error.message}`);
  process.exit(1);
}
/**
 * A fresh token for the simulator's controls on every start, written (owner-only) where tools and
 * the e2e tests on this machine read it.
 */
function simControlToken(file: string): string {
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

let users: LocalUsers;
try {
  ensureDefaultUsersFile(config.usersFile);
  users = LocalUsers.fromFile(config.usersFile);
} catch (error) {
  // Roles come from this file: an unreadable one stops start-up, it never means "no rules".
  console.error(`Loupe gateway: users file ${config.usersFile}: ${(error as Error).message}`);
  process.exit(1);
}
// The store: PostgreSQL when LOUPE_DATABASE_URL names one, else the embedded SQLite file; its
// migrations run here, before anything reads it.
const store = await openStore({ url: config.databaseUrl, sqlite: config.dbPath });

// Facility state: the simulator on loopback (embedded default), the real services, or none.
const embedded =
  config.facilities === 'simulator'
    ? await startEmbeddedFacilities({
        db: store,
        poll: false,
        simulator: {
          speed: config.simSpeed,
          seed: config.simSeed,
          port: config.simPort,
          controlToken: simControlToken(config.simControlTokenFile),
        },
      })
    : null;
let facilities = embedded?.service;
if (config.facilities === 'real') {
  // LOUPE_SITES names a sites file; without one, the four systems at the published hosts (or the
  // LOUPE_*_URL overrides). A bad file stops the start with every problem listed.
  const built = facilityAdapters(sitesFromEnv(process.env));
  facilities = new FacilityService({
    sources: [
      ...built.sources,
      // The beamline's own Slurm cluster, when LOUPE_SLURM_URL names its slurmrestd.
      ...[
        // Its jobs' consumers dial in with a token minted for their run only (resubmit).
        slurmSiteFromEnv(process.env, { gatewayUrl: gatewayUrl(config) }),
      ]
        .filter((a) => a !== null)
        .map((a) => slurmSource(a)),
    ],
    jobProfiles: built.jobProfiles,
    totalNodes: built.totalNodes,
    db: store,
  });
}
// What fails while the gateway runs goes to its JSON log (pino, docs/operations.md) once it exists;
// before that (start-up) to stderr.
let logger: FastifyBaseLogger | null = null;
function report(error: Error, what: string): void {
  if (logger) logger.warn({ err: error }, what);
  else console.warn(`${what}: ${error.message}`);
}

// Facility pollers run on one gateway at a time: whichever holds the `facility-pollers` lease in
// the store (15 s without renewal hands it to another gateway).
const instanceId = `${process.env.HOSTNAME ?? 'gateway'}:${process.pid}:${randomUUID().slice(0, 8)}`;
const pollerLease = facilities
  ? new LeaseKeeper({
      leases: new Leases(store.db),
      name: 'facility-pollers',
      holder: instanceId,
      ttlMs: 15_000,
      onAcquired: () => facilities?.start(),
      onLost: () => facilities?.stop(),
      onError: (error) => report(error, 'facility-pollers lease'),
    })
  : null;
pollerLease?.start();

// One of several gateways when LOUPE_GATEWAY_ID is set (docs/cluster.md).
let cluster: Awaited<ReturnType<typeof clusterFromEnv>> = null;
try {
  cluster = await clusterFromEnv(process.env, report);
} catch (error) {
  console.error(`Loupe gateway: ${(error as Error).message}`);
  process.exit(1);
}
let gateway: Awaited<ReturnType<typeof startGateway>>;
try {
  gateway = await startGateway({
    host: config.gatewayHost,
    port: config.gatewayPort,
    db: store,
    users,
    allowAnonymousViewers: config.allowAnonymousViewers,
    allowedOrigins: config.allowedOrigins,
    allowedHosts: config.allowedHosts,
    trustedProxies: config.trustedProxies,
    logger: true,
    shareSecret: ShareLinks.secretFromFile(config.shareSecretFile),
    metricsToken: metricsTokenFromFile(config.metricsTokenFile),
    devSignIn: config.devSignIn,
    capturesDir: config.capturesDir,
    control: {
      requestTimeoutMs: config.controlRequestTimeoutS * 1000,
      releaseGraceMs: config.controlReleaseGraceS * 1000,
    },
    ...(config.oidc && { oidc: config.oidc }),
    ...(facilities && { facilities }),
    ...(config.recording && { recording: config.recording }),
    ...(cluster && { cluster }),
  });
} catch (error) {
  // A recordings directory another gateway records into: say so and stop, never share it.
  if (!(error instanceof DirectoryInUseError)) throw error;
  console.error(`Loupe gateway: ${error.message}`);
  process.exit(1);
}
logger = gateway.app.log;
// A plain line, not JSON: npm start, the fault tests and people read the URL from it.
console.log(`Loupe gateway listening on ${gateway.url}`);
if (embedded)
  console.log(`facility simulator on ${embedded.simulator.url} at ${config.simSpeed}× real time`);

// In the embedded default, a job Loupe submits runs, when the simulated scheduler starts it, the
// reference consumer, which dials in like one on a compute node would, with the token the gateway
// minted for that job's run only.
const jobs =
  embedded && gateway.resubmitter
    ? new SimulatedJobRunner({
        simulator: embedded.simulator,
        jobFor: (system, jobId) => gateway.resubmitter?.jobFor(system, jobId),
        gatewayUrl: gatewayUrl(config),
      })
    : null;

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing the gateway`);
  jobs?.close();
  await gateway.close();
  await pollerLease?.stop();
  await cluster?.close();
  facilities?.stop();
  await embedded?.close();
  await store.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('unhandledRejection', (reason) => {
  gateway.app.log.error({ err: reason }, 'unhandled rejection');
});
