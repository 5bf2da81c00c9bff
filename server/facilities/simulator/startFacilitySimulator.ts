import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FacilityId } from '@/lib/protocol';
import { SchedulerModel, type SimJob, type SimWindow } from './SchedulerModel';
import { simControls } from './simControls';
import { slurmJobId, slurmrestdSimulator } from './slurmrestdSimulator';
import { defaultSystems, type SimSystem } from './systems';
import { json, readBody, type EmulatorContext } from './simulatorHttp';
import { alcfActivityEmulator } from '../adapters/AlcfActivityEmulator';
import { iriEmulator } from '../adapters/IriEmulator';
import { nerscSfApiEmulator } from '../adapters/NerscSfApiEmulator';
import { olcfS3mEmulator } from '../adapters/OlcfS3mEmulator';

export interface FacilitySimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  seed?: number;
  /** Simulated seconds per real second (1 = real time). */
  speed?: number;
  /** Simulated epoch ms at start; now by default. */
  startTime?: number;
  /** When true the clock moves only through `advance()` (tests). */
  manualClock?: boolean;
  /** Bearer tokens the NERSC SF API and IRI job API accept. */
  tokens?: string[];
  /** Override or restrict the systems (ids → definitions). */
  systems?: Record<string, SimSystem>;
  /**
   * Bearer token of the `/_sim/*` controls (moving the clock, announcing windows). Without one the
   * controls answer 403: nobody on the machine may drive the facilities unasked.
   */
  controlToken?: string;
  /** Origins (exact) whose pages may call the controls; by default no browser page may. */
  controlOrigins?: string[];
}

/** A job the IRI job API accepted, as the gateway learns of its progress. */
export interface SimulatedJobEvent {
  system: string;
  facility: FacilityId;
  /** The id the system's job API gave (IRI's, or Slurm's numeric one). */
  jobId: string;
  /** The scheduler model's own id of the job. */
  modelJobId: string;
  /** Simulated epoch ms. */
  at: number;
  state: 'active' | 'completed' | 'failed' | 'canceled';
}

export interface FacilitySimulatorEvents {
  /** A job submitted through IRI started (issue 6 launches a consumer then). */
  'job:start': [event: SimulatedJobEvent];
  'job:end': [event: SimulatedJobEvent];
  error: [error: Error];
}

/** Base URLs of each API the simulator speaks, for the adapters. */
export interface SimulatorUrls {
  nerscSfApi: string;
  iri: Record<'NERSC' | 'ALCF' | 'OLCF', string>;
  alcfActivity: string;
  olcfS3m: string;
  /** slurmrestd roots (the adapter appends /slurm/v0.0.38/…) of the Slurm-served systems. */
  slurm: Record<string, string>;
}

export interface FacilitySimulator {
  url: string;
  port: number;
  urls: SimulatorUrls;
  events: EventEmitter<FacilitySimulatorEvents>;
  models: ReadonlyMap<string, SchedulerModel>;
  /** Simulated now, epoch ms. */
  now(): number;
  /** Moves the simulated clock forward (works with either clock). */
  advance(seconds: number): void;
  /** Announces a window now: `startInS` from now, `durationS` long. */
  addWindow(
    system: string,
    window: { startInS: number; durationS: number; kind?: SimWindow['kind']; description?: string },
  ): SimWindow;
  /** Makes every token invalid from now on (expired credentials). */
  expireTokens(): void;
  close(): Promise<void>;
}

/** Starts the facility simulator on loopback; every API it serves has the real service's shape. */
export async function startFacilitySimulator(
  options: FacilitySimulatorOptions = {},
): Promise<FacilitySimulator> {
  const speed = options.speed ?? 1;
  const seed = options.seed ?? 1;
  const systems = options.systems ?? defaultSystems();
  const startS = (options.startTime ?? Date.now()) / 1000;
  const realStart = Date.now();
  let manualOffsetS = 0;
  const clockS = () =>
    options.manualClock
      ? startS + manualOffsetS
      : startS + ((Date.now() - realStart) / 1000) * speed + manualOffsetS;
  let tokens = new Set(options.tokens ?? ['sim-token']);
  const events = new EventEmitter<FacilitySimulatorEvents>();
  // The simulator never dies of a listener's mistake; a caller that cares adds its own listener.
  events.on('error', () => {});

  const models = new Map<string, SchedulerModel>();
  for (const [id, sys] of Object.entries(systems)) {
    const emit = (job: SimJob, state: SimulatedJobEvent['state']) => {
      if (!job.external) return;
      const event: SimulatedJobEvent = {
        system: id,
        facility: sys.facility,
        jobId: sys.slurm ? slurmJobId(job.id) : job.id,
        modelJobId: job.id,
        at: Math.round((state === 'active' ? job.start! : job.end!) * 1000),
        state,
      };
      try {
        events.emit(state === 'active' ? 'job:start' : 'job:end', event);
      } catch (error) {
        events.emit('error', error instanceof Error ? error : new Error(String(error)));
      }
    };
    models.set(
      id,
      new SchedulerModel(sys.config, seed, startS, {
        start: (job) => emit(job, 'active'),
        end: (job) =>
          emit(
            job,
            job.state === 'canceled' ? 'canceled' : job.state === 'failed' ? 'failed' : 'completed',
          ),
      }),
    );
  }
  const slurmrestd = new Map(
    Object.entries(systems)
      .filter(([, sys]) => sys.slurm)
      .map(([id, sys]) => [
        id,
        slurmrestdSimulator({
          id,
          system: sys,
          model: models.get(id)!,
          tokenValid: (t) => tokens.has(t),
        }),
      ]),
  );
  const sync = () => {
    const t = clockS();
    for (const m of models.values()) m.advanceTo(t);
  };
  const bySystem = (facility: FacilityId) =>
    [...models.entries()].filter(([id]) => systems[id]!.facility === facility);

  const bearer = (req: IncomingMessage) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return m?.[1] !== undefined && tokens.has(m[1]);
  };
  const baseUrl = () => `http://${options.host ?? '127.0.0.1'}:${port}`;
  const emulated: EmulatorContext = { models, systems, bySystem, bearer, startS, baseUrl };
  const nersc = nerscSfApiEmulator(emulated);
  const iri = iriEmulator(emulated);
  const alcf = alcfActivityEmulator(emulated);
  const s3m = olcfS3mEmulator(emulated);
  const controls = simControls({
    controlToken: options.controlToken,
    controlOrigins: options.controlOrigins ?? [],
    hasSystem: (system) => models.has(system),
    addWindow: (system, w) => sim.addWindow(system, w),
    advance: (seconds) => sim.advance(seconds),
    now: () => sim.now(),
    speed,
    seed,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    sync();
    const url = new URL(req.url ?? '/', baseUrl());
    const path = url.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;

    if (nersc(req, res, path, method)) return;
    if (await iri(req, res, path, method)) return;
    if (alcf(res, path)) return;

    // slurmrestd of a Slurm-served system: /{system}/slurmrestd/slurm/v0.0.38/...
    if ((m = /^\/([a-z0-9-]+)\/slurmrestd\/slurm\/v0\.0\.38(\/.*)$/.exec(path))) {
      const handler = slurmrestd.get(m[1]!);
      const h = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const answer = handler
        ? await handler(
            method,
            m[2]!,
            { user: h('x-slurm-user-name'), token: h('x-slurm-user-token') },
            () => readBody(req),
          )
        : null;
      if (!answer) return json(res, 404, { meta: {}, errors: [{ error: 'Unable to find path' }] });
      return json(res, answer.status, answer.body);
    }

    if (s3m(res, path)) return;
    if (await controls(req, res, path, method)) return;
    return json(res, 404, { error: 'not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      events.emit('error', error instanceof Error ? error : new Error(String(error)));
      if (!res.headersSent) json(res, 500, { error: 'simulator error' });
      else res.destroy();
    });
  });
  server.on('error', (error) => events.emit('error', error));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // Jobs should start (and tell the gateway) even when nobody polls.
  const ticker = options.manualClock ? null : setInterval(sync, 1000);
  ticker?.unref();

  const url = baseUrl();
  const sim: FacilitySimulator = {
    url,
    port,
    urls: {
      nerscSfApi: `${url}/nersc/api/v1.2`,
      iri: { NERSC: `${url}/nersc/iri`, ALCF: `${url}/alcf/iri`, OLCF: `${url}/olcf/iri` },
      alcfActivity: `${url}/alcf/status`,
      olcfS3m: `${url}/olcf/s3m`,
      slurm: Object.fromEntries(
        [...slurmrestd.keys()].map((id) => [id, `${url}/${id}/slurmrestd`]),
      ),
    },
    events,
    models,
    now: () => Math.round(clockS() * 1000),
    advance(seconds) {
      manualOffsetS += seconds;
      sync();
    },
    addWindow(system, w) {
      const model = models.get(system);
      if (!model) throw new Error(`unknown system ${system}`);
      sync();
      const window = model.addWindow({
        kind: w.kind ?? 'planned',
        start: model.now + w.startInS,
        end: model.now + w.startInS + w.durationS,
        announced: model.now,
        description: w.description ?? `${systems[system]!.fullName} maintenance`,
      });
      return window;
    },
    expireTokens() {
      tokens = new Set();
    },
    async close() {
      if (ticker) clearInterval(ticker);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return sim;
}
