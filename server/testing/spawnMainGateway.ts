import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './spawnGateway';

/** A `server/main.ts` child, started from its real environment-variable configuration. */
export interface MainGatewayProcess {
  child: ChildProcess;
  dir: string;
  port: number;
  url: string;
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

/**
 * `server/main.ts` as `npm start` runs it, in a scratch directory (database, users file, tokens),
 * on a free loopback port, with `env` on top of a clean Loupe environment.
 */
export async function spawnMainGateway(env: Record<string, string>): Promise<MainGatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-gw-'));
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv))
    if (key.startsWith('LOUPE_') || key === 'PORT') delete childEnv[key];
  Object.assign(childEnv, {
    LOUPE_GATEWAY_PORT: String(port),
    LOUPE_DB: join(dir, 'loupe.db'),
    LOUPE_USERS_FILE: join(dir, 'users.json'),
    LOUPE_SHARE_SECRET_FILE: join(dir, 'share-secret'),
    LOUPE_FACILITIES: 'off',
    ...env,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `url` until it answers (any status); fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
