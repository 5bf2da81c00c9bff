import type { ServerResponse } from 'node:http';

/** Epoch seconds as ISO 8601 (UTC, milliseconds). */
export const iso = (s: number) => new Date(Math.round(s * 1000)).toISOString();

/** A duration in seconds as Slurm's `HH:MM:SS`. */
export const hms = (s: number) => {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
};

/** Slurm writes times as local ISO without zone; the simulator's "local" is UTC. */
export const slurmTime = (s: number) => iso(s).slice(0, 19);

export const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
