/**
 * `npm run cluster`: Loupe as several gateways on this machine, to watch a run through any of them,
 * kill one and see it recover (docs/cluster.md). Starts on loopback a throwaway PostgreSQL (initdb
 * in a temp directory), three gateways sharing it (run leases, the Socket.IO adapter), HAProxy in
 * front with owner routing, the UI (pointed at HAProxy) and the demo consumer (dialling HAProxy).
 * Needs Debian's postgresql and haproxy (scripts/ci/startClusterDeps.sh). Ctrl-C stops everything.
 *
 *   LOUPE_CLUSTER_PORT  HAProxy's port (default 4100); the gateways take the next three.
 *   PORT                the UI's port (default 3100).
 *   --no-ui             skip the UI (and its build): gateways, HAProxy and the demo consumer only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDefaultUsersFile } from '@/server/auth/LocalUsers';
import {
  missingClusterServices,
  type Service,
  leaseRouting,
  startHaproxy,
  startPostgres,
} from '@/server/testing/clusterServices';
import { DEMO_RECON_ARGS } from './demoRecon';
import { stopChildren } from './stopChildren';

const base = Number(process.env.LOUPE_CLUSTER_PORT ?? 4100);
const uiPort = Number(process.env.PORT ?? 3100);
const lb = `http://127.0.0.1:${base}`;
const ids = ['g1', 'g2', 'g3'];
const dataDir = join('data', 'cluster');
const distDir = '.next-cluster';
const nextBin = join('node_modules', 'next', 'dist', 'bin', 'next');
const allowedHosts = `127.0.0.1,localhost`;
const withUi = !process.argv.includes('--no-ui');

const log = (message: string) => console.log(`[cluster] ${message}`);
const missing = missingClusterServices();
if (missing) {
  log(`needs ${missing} from Debian: sudo scripts/ci/startClusterDeps.sh`);
  process.exit(1);
}

const children = new Map<string, ChildProcess>();
const services: Service[] = [];
let stopping = false;

function run(name: string, args: string[], env: Record<string, string>, critical: boolean): void {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
  });
  const prefix = (chunk: Buffer, out: NodeJS.WriteStream) => {
    for (const line of chunk.toString().split('\n'))
      if (line.trim()) out.write(`${name.padEnd(8)}| ${line}\n`);
  };
  child.stdout?.on('data', (c: Buffer) => prefix(c, process.stdout));
  child.stderr?.on('data', (c: Buffer) => prefix(c, process.stderr));
  child.on('error', (error) => log(`${name} could not start: ${error.message}`));
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    // A gateway that dies is the point of the exercise: say so, keep the rest running.
    log(`${name} exited (${signal ?? `code ${code}`})${critical ? '; stopping' : ''}`);
    if (critical) void shutdown(1);
  });
  children.set(name, child);
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopChildren(children);
  for (const service of services.reverse()) await service.stop().catch(() => undefined);
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function ready(url: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !stopping) {
    const res = await fetch(`${url}/api/health/ready`).catch(() => null);
    if (res?.ok) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function buildUiIfNeeded(): void {
  const stamp = join(distDir, 'loupe-build.json');
  if (existsSync(stamp)) {
    const built = JSON.parse(readFileSync(stamp, 'utf8')) as { gateway?: string };
    if (built.gateway === lb) return;
  }
  log(`building the UI for ${lb} into ${distDir} (first start; minutes on a small machine)…`);
  const result = spawnSync(process.execPath, [nextBin, 'build'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      LOUPE_GATEWAY_URL: lb,
      LOUPE_DIST_DIR: distDir,
      NEXT_TELEMETRY_DISABLED: '1',
    },
  });
  if (result.status !== 0) {
    log('the UI build failed; see above');
    process.exit(1);
  }
  writeFileSync(stamp, JSON.stringify({ gateway: lb, at: Date.now() }));
}

if (withUi) buildUiIfNeeded();
mkdirSync(dataDir, { recursive: true });
ensureDefaultUsersFile(join('data', 'users.json'));
const postgres = await startPostgres();
services.push(postgres);
log(`PostgreSQL (throwaway) at ${postgres.url}`);
// Route by lease: the gateways keep HAProxy's owners map (docs/cluster.md).
const routing = leaseRouting();
ids.forEach((id, i) => {
  const port = base + 1 + i;
  run(
    id,
    ['--import', 'tsx', 'server/main.ts'],
    {
      LOUPE_GATEWAY_ID: id,
      LOUPE_GATEWAY_HOST: '127.0.0.1',
      LOUPE_GATEWAY_PORT: String(port),
      LOUPE_ADVERTISE_URL: `http://127.0.0.1:${port}`,
      LOUPE_DATABASE_URL: postgres.url,
      LOUPE_DB: join(dataDir, `${id}.db`),
      // Each gateway records the runs it owns into its own directory (one recorder per directory).
      LOUPE_RECORDING_DIR: join(dataDir, `${id}-recordings`),
      LOUPE_ALLOWED_HOSTS: allowedHosts,
      // One facility poller (and simulator) for the whole cluster: its snapshots reach every
      // gateway's viewers through the adapter. A lease will choose it once the store has one.
      LOUPE_FACILITIES: i === 0 ? 'simulator' : 'off',
      PORT: String(uiPort),
      ...routing.env,
    },
    false,
  );
});
for (const [i, id] of ids.entries())
  if (!(await ready(`http://127.0.0.1:${base + 1 + i}`, 90_000))) {
    log(`gateway ${id} did not become ready`);
    await shutdown(1);
  }
const haproxy = await startHaproxy(
  ids.map((id, i) => ({ name: id, address: `127.0.0.1:${base + 1 + i}` })),
  base,
  routing,
);
services.push(haproxy);
haproxy.child.on('exit', () => !stopping && void shutdown(1));
await ready(lb, 20_000);
run('recon', DEMO_RECON_ARGS, { LOUPE_GATEWAY_URL: lb }, false);
if (withUi)
  run(
    'ui',
    [nextBin, 'start', '-p', String(uiPort), '-H', '127.0.0.1'],
    { LOUPE_GATEWAY_URL: lb, LOUPE_DIST_DIR: distDir, LOUPE_ALLOWED_HOSTS: allowedHosts },
    true,
  );
log(`HAProxy ${lb} → gateways ${ids.map((id, i) => `${id}:${base + 1 + i}`).join(', ')}`);
log(
  `${withUi ? `open http://127.0.0.1:${uiPort}/runs/demo` : `the run: ${lb}/api/runs/demo`} — kill a gateway (kill -9 <pid>) and watch it recover:`,
);
for (const id of ids) log(`  ${id} pid ${children.get(id)?.pid}`);
