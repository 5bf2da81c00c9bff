import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyConfig } from '../cluster/haproxyConfig';
import { freePort } from './spawnGateway';

/** A service child process the cluster tests and `npm run cluster` start on loopback. */
export interface Service {
  url: string;
  port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const PG_BIN_DIRS = [
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
];

/** Debian's PostgreSQL server binaries, or null when the package is not installed. */
export function postgresBin(): string | null {
  return PG_BIN_DIRS.find((dir) => existsSync(join(dir, 'initdb'))) ?? null;
}

/** Debian's haproxy, or null. */
export function haproxyBin(): string | null {
  return ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p)) ?? null;
}

/** What of the cluster's services is missing on this machine ('' when nothing). */
export function missingClusterServices(): string {
  return [postgresBin() ? '' : 'postgresql', haproxyBin() ? '' : 'haproxy']
    .filter(Boolean)
    .join(', ');
}

function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  ms: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start within ${ms} ms: ${seen.slice(-2000)}`)),
      ms,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}): ${seen.slice(-2000)}`));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, ms = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** The throwaway PostgreSQL, which a test may stop and start again (same port, same data). */
export interface PostgresService extends Service {
  /** Shuts the server down (fast: clients are disconnected); the data directory stays. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  startServer(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster: initdb in a temp directory, loopback only, a free port, trust
 * authentication (nothing but this machine's own processes can reach it, and it lives for one run).
 * PostgreSQL refuses to run as root, so as root it runs as the Debian package's `postgres` user.
 */
export async function startPostgres(): Promise<PostgresService> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found: apt-get install postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'loupe-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]) =>
    asRoot
      ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const)
      : ([cmd, args] as const);
  if (asRoot) {
    chmodSync(dir, 0o755);
    execFileSync('chown', ['postgres:postgres', dir]);
  }
  const [initCmd, initArgs] = as(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'pipe' });
  const [cmd, args] = as(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
    '-c',
    'max_connections=100',
  ]);
  const launch = async () => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.on('error', () => undefined);
    await waitForLine(proc, /ready to accept connections/, 30_000, 'postgres');
    return proc;
  };
  let child = await launch();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get child() {
      return child;
    },
    // SIGINT: "fast" shutdown, no wait for clients (they see their connections end). Sent to the
    // postmaster itself (its pid file's first line): as root the child is runuser, which may exit,
    // or SIGKILL the server, before the server has shut down cleanly.
    async stopServer() {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
      const deadline = Date.now() + 30_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await stopChild(child, 'SIGINT');
    },
    async startServer() {
      if (child.exitCode === null && child.signalCode === null) return;
      child = await launch();
    },
    async stop() {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where a route-by-lease HAProxy's runtime socket and owners map are, known before it starts. */
export interface LeaseRouting {
  dir: string;
  socket: string;
  map: string;
  /** The gateways' environment for it (LOUPE_HAPROXY_RUNTIME, LOUPE_HAPROXY_OWNERS_MAP). */
  env: Record<string, string>;
}

/** A directory for a route-by-lease HAProxy: the gateways are given its paths before it starts. */
export function leaseRouting(): LeaseRouting {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const map = join(dir, 'owners.map');
  writeFileSync(map, '');
  return {
    dir,
    socket,
    map,
    env: { LOUPE_HAPROXY_RUNTIME: `unix:${socket}`, LOUPE_HAPROXY_OWNERS_MAP: map },
  };
}

/**
 * HAProxy in front of `gateways` with owner routing (server/cluster/haproxyConfig.ts): by the
 * consistent hash, and by lease when `routing` (from `leaseRouting()`) is given.
 */
export async function startHaproxy(
  gateways: { name: string; address: string }[],
  port?: number,
  routing?: LeaseRouting,
): Promise<Service> {
  const bin = haproxyBin();
  if (!bin) throw new Error('haproxy not found: apt-get install haproxy');
  const dir = routing?.dir ?? mkdtempSync(join(tmpdir(), 'loupe-haproxy-'));
  const listen = port ?? (await freePort());
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    haproxyConfig({
      bind: `127.0.0.1:${listen}`,
      gateways,
      ...(routing && { statsSocket: routing.socket, ownersMap: routing.map }),
    }),
  );
  execFileSync(bin, ['-c', '-q', '-f', cfg], { stdio: 'pipe' });
  // -db: foreground, logs to stderr; -W master-worker off.
  const child = spawn(bin, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.on('error', () => undefined);
  let log = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  child.once('exit', (code) => (log += `\nhaproxy exited (${code})`));
  await waitForTcp(listen, 10_000).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}: ${log}`);
  });
  return {
    url: `http://127.0.0.1:${listen}`,
    port: listen,
    child,
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForTcp(port: number, ms: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
