import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** Another live process records into the same directory. */
export class DirectoryInUseError extends Error {}

const LOCK_FILE = '.loupe-recorder.lock';
const Holder = z.object({ host: z.string(), pid: z.number().int(), since: z.string() });
type Holder = z.infer<typeof Holder>;

function readHolder(path: string): Holder | null {
  try {
    const parsed = Holder.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One recorder per recordings directory: two gateways writing the same run's segments would
 * truncate and rename each other's files (seen in `npm run cluster` before each gateway had its
 * own directory: one gateway's start-up recovery sealed another's open segment, and it crashed).
 * The lock names its holder; one of a process on this host that no longer runs (a SIGKILL) is
 * taken over, one of another host (a shared filesystem) is not, since its liveness is unknowable
 * here: the operator removes it. This process may take its own lock again (a recorder reopened).
 */
export function lockDirectory(dir: string): { release(): void } {
  const path = join(dir, LOCK_FILE);
  const me: Holder = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o644 });
      return {
        release() {
          const holder = readHolder(path);
          if (holder?.host === me.host && holder.pid === me.pid) unlinkSync(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = readHolder(path);
      const ours = holder?.host === me.host && holder.pid === me.pid;
      const stale = holder === null || (holder.host === me.host && !alive(holder.pid));
      if (holder && !ours && !stale)
        throw new DirectoryInUseError(
          `the recordings directory ${dir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}): give each gateway its own LOUPE_RECORDING_DIR${holder.host === me.host ? '' : `, or remove ${path} if that process is gone`}`,
        );
      unlinkSync(path);
    }
  }
}
