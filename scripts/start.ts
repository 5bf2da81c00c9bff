/**
 * `npm start` / `npm run dev`: starts the gateway, the reference consumer (demo run) and the UI,
 * builds the UI first when needed, forwards SIGINT/SIGTERM, and stops everything (exit code 1)
 * when one of them dies, saying which.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDefaultUsersFile } from '@/server/auth/LocalUsers';
import { ConfigError, gatewayUrl, type LoupeConfig, readConfig } from '@/server/config';
import { DEMO_RECON_ARGS } from './demoRecon';
import { stopChildren } from './stopChildren';

const dev = process.argv.includes('--dev');
let config: LoupeConfig;
try {
  config = readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`[loupe] ${error.message}`);
  process.exit(1);
}
const gateway = gatewayUrl(config);
const env = {
  ...process.env,
  LOUPE_GATEWAY_URL: gateway,
  // The UI's proxy.ts refuses any other Host, with the same list as the gateway.
  LOUPE_ALLOWED_HOSTS: config.allowedHosts.join(','),
  NEXT_TELEMETRY_DISABLED: '1',
};
const nextBin = join('node_modules', 'next', 'dist', 'bin', 'next');
const uiHost = config.uiHost;
const distDir = process.env.LOUPE_DIST_DIR ?? '.next';

function log(message: string): void {
  console.log(`[loupe] ${message}`);
}

/** Newest modification time under the paths that make up the UI build. */
function newestSource(paths: string[]): number {
  let newest = 0;
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) for (const entry of readdirSync(p)) walk(join(p, entry));
    else newest = Math.max(newest, s.mtimeMs);
  };
  paths.forEach(walk);
  return newest;
}

function buildIfNeeded(): void {
  const stamp = join(distDir, 'loupe-build.json');
  const sources = [
    'app',
    'components',
    'lib',
    'stores',
    'public',
    'next.config.js',
    'proxy.ts',
    'package-lock.json',
    'postcss.config.mjs',
  ];
  if (existsSync(stamp)) {
    const built = JSON.parse(readFileSync(stamp, 'utf8')) as { gateway: string; at: number };
    if (built.gateway === gateway && built.at >= newestSource(sources)) return;
  }
  log('building the UI (first start, or its sources changed)…');
  const result = spawnSync(process.execPath, [nextBin, 'build'], { stdio: 'inherit', env });
  if (result.status !== 0) {
    log('the UI build failed; see above');
    process.exit(1);
  }
  writeFileSync(stamp, JSON.stringify({ gateway, at: Date.now() }));
}

const children = new Map<string, ChildProcess>();
let stopping = false;

/** `critical`: Loupe cannot work without it, so its death stops everything. */
function run(name: string, args: string[], critical = true): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const prefix = (chunk: Buffer, out: NodeJS.WriteStream) => {
    for (const line of chunk.toString().split('\n'))
      if (line.trim()) out.write(`${name.padEnd(8)}| ${line}\n`);
  };
  child.stdout?.on('data', (c: Buffer) => prefix(c, process.stdout));
  child.stderr?.on('data', (c: Buffer) => prefix(c, process.stderr));
  child.on('error', (error) => {
    log(`${name} could not start: ${error.message}`);
    void shutdown(1);
  });
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    if (!critical) {
      // A consumer ends when its run is superseded (resubmitted elsewhere) or fails; the rest goes on.
      log(`${name} exited (${signal ?? `code ${code}`}); Loupe keeps running`);
      return;
    }
    log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping Loupe`);
    void shutdown(1);
  });
  children.set(name, child);
  return child;
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopChildren(children);
  process.exit(code);
}

async function waitForGateway(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      // Readiness needs no user token, so a gateway without anonymous viewers is found too.
      const res = await fetch(`${gateway}/api/health/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`the gateway did not answer at ${gateway} within 30 s`);
  await shutdown(1);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

ensureDefaultUsersFile(config.usersFile);
if (!dev) buildIfNeeded();
run(
  'gateway',
  dev ? ['--import', 'tsx', '--watch', 'server/main.ts'] : ['--import', 'tsx', 'server/main.ts'],
);
await waitForGateway();
// The embedded demo: the reference consumer reconstructs a simulated phantom scan as run `demo`.
if (config.demo) {
  run('recon', DEMO_RECON_ARGS, false);
}
run('ui', [nextBin, dev ? 'dev' : 'start', '-p', String(config.uiPort), '-H', uiHost]);
log(
  `Loupe is starting: open http://${uiHost === '0.0.0.0' ? 'localhost' : uiHost}:${config.uiPort}/`,
);
