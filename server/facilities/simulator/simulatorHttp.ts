import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FacilityId } from '@/lib/protocol';
import type { SchedulerModel } from './SchedulerModel';
import type { SimSystem } from './systems';

/** What an API emulator may read of the facility simulator. */
export interface EmulatorContext {
  models: ReadonlyMap<string, SchedulerModel>;
  systems: Record<string, SimSystem>;
  bySystem(facility: FacilityId): [string, SchedulerModel][];
  /** Whether the request carries a token the simulator issued. */
  bearer(req: IncomingMessage): boolean;
  /** The simulation's start, epoch seconds. */
  startS: number;
  /** The simulator's own URL (known once it listens), for the answers' self links. */
  baseUrl(): string;
}

/** One API's routes: answer the request, or return null when the path is none of theirs. */
export type SimRoute = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
) => Promise<void | null>;

/** The routes as the simulator dispatches to them: resolves whether they answered. */
export const handledBy =
  (route: SimRoute) =>
  async (...request: Parameters<SimRoute>): Promise<boolean> =>
    (await route(...request)) !== null;

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

/** A request's body as text; more than a million characters (1 MB of ASCII) is refused. */
export const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      data += c;
      if (data.length > 1_000_000) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
