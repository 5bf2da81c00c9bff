import type { ChildProcess } from 'node:child_process';

/**
 * Stops the processes npm start and npm run cluster started: SIGTERM to each, up to `graceMs` for
 * them to close their sockets and databases (each removes itself from `children` on exit), then
 * SIGKILL to whatever is left.
 */
export async function stopChildren(
  children: ReadonlyMap<string, ChildProcess>,
  graceMs = 5000,
): Promise<void> {
  for (const child of children.values()) child.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const child of children.values()) child.kill('SIGKILL');
}
