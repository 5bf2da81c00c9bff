import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UsersFile } from '../auth/LocalUsers';
import { TEST_USERS } from './testGateway';

const ENTRY = fileURLToPath(new URL('./gatewayProcess.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A gateway child process on a fixed loopback port, restartable on that port with its state. */
export interface GatewayProcess {
  url: string;
  port: number;
  /** The running child's pid (changes on restart). */
  readonly pid: number;
  /** The running child (its stderr is collected in `log()`). */
  readonly child: ChildProcess;
  /** Sends the signal and resolves with the exit code or signal once the child is gone. */
  kill(signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
  /** Starts a new child on the same port, database and users file; resolves once it listens. */
  restart(users?: UsersFile): Promise<void>;
  /** The children's stderr, last 20 kB. */
  log(): string;
  /** The children's stdout (the gateway's JSON log lines), last 1 MB. */
  output(): string;
  /** Kills the child if alive and removes the temp directory. */
  dispose(): Promise<void>;
}

export interface SpawnGatewayOptions {
  users?: UsersFile;
  /** The gateway's `restartRetryAfterMs`. */
  retryAfterMs?: number;
  /** How long a start may take before failing, ms (tsx compiles on a busy 2-core machine). */
  startTimeoutMs?: number;
  /** More environment for the child (e.g. the cluster's LOUPE_GATEWAY_ID, LOUPE_DATABASE_URL). */
  env?: Record<string, string>;
}

/** A free loopback port (bound and released; the child binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts server/testing/gatewayProcess.ts as a child process with its own temp database and users
 * file on a free loopback port. Bounded: each start fails after `startTimeoutMs`.
 */
export async function spawnGateway(options: SpawnGatewayOptions = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-gw-'));
  const usersPath = join(dir, 'users.json');
  const dbPath = join(dir, 'loupe.db');
  const port = await freePort();
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  let child: ChildProcess | null = null;
  let stderr = '';
  let stdout = '';

  const start = (users: UsersFile) =>
    new Promise<void>((resolve, reject) => {
      writeFileSync(usersPath, JSON.stringify(users));
      const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          LOUPE_TEST_PORT: String(port),
          LOUPE_TEST_DB: dbPath,
          LOUPE_TEST_USERS: usersPath,
          ...options.env,
          ...(options.retryAfterMs !== undefined && {
            LOUPE_TEST_RETRY_AFTER_MS: String(options.retryAfterMs),
          }),
        },
      });
      child = proc;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`gateway did not start within ${startTimeoutMs} ms: ${stderr}`));
      }, startTimeoutMs);
      let out: string | null = '';
      proc.stdout!.on('data', (chunk: Buffer) => {
        stdout = (stdout + chunk.toString()).slice(-1_000_000);
        if (out === null) return;
        out += chunk.toString();
        if (/"listening":/.test(out)) {
          out = null; // listening: the log lines are kept in `stdout` only
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-20_000);
      });
      proc.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited (${code ?? signal}) before listening: ${stderr}`));
      });
    });

  await start(options.users ?? TEST_USERS);
  const current = () => {
    if (!child) throw new Error('no gateway process');
    return child;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get pid() {
      return current().pid ?? -1;
    },
    get child() {
      return current();
    },
    kill(signal) {
      const proc = current();
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null)
          return resolve(proc.exitCode ?? proc.signalCode);
        proc.once('exit', (code, sig) => resolve(code ?? sig));
        proc.kill(signal);
      });
    },
    restart: (users) => start(users ?? options.users ?? TEST_USERS),
    log: () => stderr,
    output: () => stdout,
    async dispose() {
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident memory of a process now and its peak since `resetPeak`, bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  // Read synchronously: /proc files are generated on read and tiny.
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux ≥ 4.0; needs ptrace rights). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
