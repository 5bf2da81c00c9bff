import { EventEmitter } from 'node:events';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { FacilityId } from '@/lib/protocol';
import { SchedulerModel, type SimJob, type SimWindow } from './SchedulerModel';
import { slurmJobId, slurmrestdSimulator } from './slurmrestdSimulator';
import { defaultSystems, type SimSystem } from './systems';
import { hms, iso, json } from './simulatorHttp';
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

/** Constant-time token comparison (by digest, so lengths need not match). */
function tokenEquals(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** PSI/J JobSpec as IRI accepts it (only what the simulator reads is constrained). */
const JobSpecBody = z
  .object({
    name: z.string().min(1).nullish(),
    executable: z.string().min(1).nullish(),
    arguments: z.array(z.string()).optional(),
    resources: z
      .object({ node_count: z.number().int().min(1).nullish() })
      .passthrough()
      .nullish(),
    attributes: z
      .object({
        duration: z.number().int().min(1).nullish(),
        queue_name: z.string().min(1).nullish(),
        account: z.string().min(1).nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

const WindowBody = z.object({
  system: z.string(),
  startInS: z.number().min(0),
  durationS: z.number().positive(),
  kind: z.enum(['planned', 'unplanned', 'degraded']).optional(),
  description: z.string().optional(),
});

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
  const externalJobs = new Map<string, { system: string; job: SimJob; spec: unknown }>();
  /** v2 Idempotency-Key → the body it came with and the job it made. */
  const idempotent = new Map<string, { body: string; jobId: string }>();
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

  // ---------- IRI facility API ----------
  const iriIds = (m: SchedulerModel) => `res-${m.config.system}`;
  const iriStatus = (m: SchedulerModel) => m.status();
  const incidentOf = (base: string, m: SchedulerModel, w: SimWindow, v = 'v1') => ({
    id: `inc-${w.id}`,
    name: w.description,
    description: w.description,
    last_modified: iso(w.end <= m.now ? w.end : w.start <= m.now ? w.start : w.announced),
    status: w.kind === 'degraded' ? 'degraded' : 'down',
    start: iso(w.start),
    end: iso(w.end),
    type: w.kind === 'planned' ? 'planned' : 'unplanned',
    resolution: w.end <= m.now ? 'completed' : w.start <= m.now ? 'unresolved' : 'pending',
    self_uri: `${base}/api/${v}/status/incidents/inc-${w.id}`,
    event_uris: [`${base}/api/${v}/status/events/ev-${w.id}-start`],
    resource_uris: [`${base}/api/${v}/status/resources/${iriIds(m)}`],
  });

  const visibleWindows = (m: SchedulerModel) => m.windows.filter((w) => w.announced <= m.now);

  const problem = (
    res: ServerResponse,
    status: number,
    title: string,
    detail: string,
    instance: string,
  ) =>
    json(
      res,
      status,
      { type: 'about:blank', status, title, detail, instance },
      { 'content-type': 'application/problem+json' },
    );
  const bearer = (req: IncomingMessage) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return m?.[1] !== undefined && tokens.has(m[1]);
  };
  const nersc = nerscSfApiEmulator({ models, systems, bySystem, bearer, startS });
  const s3m = olcfS3mEmulator({ systems, bySystem });
  const controlOrigins = new Set(options.controlOrigins ?? []);
  /**
   * The controls change what every gateway polling this simulator believes, so: their token, a
   * JSON body (a cross-site form or `text/plain` "simple" POST cannot send one without a CORS
   * preflight, which is never granted), and no browser Origin but an allowed one.
   */
  const controlRefusal = (req: IncomingMessage): { status: number; error: string } | null => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (options.controlToken === undefined)
      return { status: 403, error: 'the simulator controls are disabled (no control token)' };
    if (m?.[1] === undefined || !tokenEquals(m[1], options.controlToken))
      return { status: 401, error: 'the simulator controls need their bearer token' };
    const origin = req.headers.origin;
    if (origin !== undefined && !controlOrigins.has(origin))
      return { status: 403, error: `origin ${origin} may not drive the simulator` };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json')
        return { status: 415, error: 'the simulator controls take application/json bodies' };
    }
    return null;
  };
  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const text = await readBody(req);
    try {
      return JSON.parse(text || '{}') as unknown;
    } catch {
      return undefined;
    }
  };
  const readBody = (req: IncomingMessage) =>
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

  const baseUrl = () => `http://${options.host ?? '127.0.0.1'}:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    sync();
    const url = new URL(req.url ?? '/', baseUrl());
    const path = url.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;

    if (nersc(req, res, path, method)) return;

    // IRI facility API: /{nersc|alcf|olcf}/iri/api/{v1|v2}/...
    if ((m = /^\/(nersc|alcf|olcf)\/iri\/api\/(v1|v2)(\/.*)?$/.exec(path))) {
      const prefix = m[1]!;
      const v = m[2]!;
      const facility = prefix.toUpperCase() as FacilityId;
      const rest = m[3] ?? '';
      const base = `${baseUrl()}/${m[1]}/iri`;
      const mine = bySystem(facility);
      const resource = (id: string, model: SchedulerModel) => {
        const self = `${base}/api/${v}/status/resources/${iriIds(model)}`;
        const site = `${base}/api/${v}/facility/sites/site-${prefix}`;
        return {
          id: iriIds(model),
          // NERSC names Perlmutter's IRI resource `compute`; the others use the machine's name.
          name: facility === 'NERSC' ? 'compute' : systems[id]!.fullName,
          description: systems[id]!.description,
          last_modified: iso(model.statusSince()),
          group: 'compute',
          current_status: iriStatus(model),
          resource_type: v === 'v1' ? 'compute' : 'urn:doe-iri:resource:compute',
          supported_endpoints: ['compute'],
          self_uri: self,
          site_uri: site,
          capability_uris: [],
          ...(v === 'v2' && {
            attributes: { configured_node_count: model.config.totalNodes },
            _links: { self: { href: self }, 'iri:located-at': { href: site } },
          }),
        };
      };
      if (rest === '/facility') {
        return json(res, 200, {
          id: `fac-${m[1]}`,
          name: facility,
          description: `${facility} (simulated)`,
          last_modified: iso(startS),
          short_name: facility,
          organization_name: facility,
          support_uri: null,
          self_uri: `${base}/api/${v}/facility`,
          site_uris: [`${base}/api/${v}/facility/sites/site-${prefix}`],
        });
      }
      if ((m = /^\/status\/resources(?:\/([^/]+))?$/.exec(rest))) {
        const all = mine.map(([id, model]) => resource(id, model));
        if (m[1]) {
          const one = all.find((r) => r.id === m![1]);
          return one
            ? json(res, 200, one)
            : problem(res, 404, 'Not Found', 'no such resource', path);
        }
        return json(res, 200, all);
      }
      if ((m = /^\/status\/incidents(?:\/([^/]+))?$/.exec(rest))) {
        const q = url.searchParams;
        let all = mine.flatMap(([, model]) =>
          visibleWindows(model).map((w) => ({ w, model, inc: incidentOf(base, model, w, v) })),
        );
        const parseDate = (name: string) => {
          const v = q.get(name);
          if (v === null) return null;
          const t = Date.parse(v);
          return Number.isNaN(t) ? NaN : t / 1000;
        };
        const from = parseDate('from');
        const to = parseDate('to');
        const since = parseDate('modified_since');
        if ([from, to, since].some((x) => x !== null && Number.isNaN(x)))
          return problem(res, 422, 'Unprocessable Entity', 'dates must be ISO 8601', path);
        const type = q.get('type');
        if (type !== null && !['planned', 'unplanned', 'reservation'].includes(type))
          return problem(res, 422, 'Unprocessable Entity', `unknown type ${type}`, path);
        if (type) all = all.filter((x) => x.inc.type === type);
        if (from !== null) all = all.filter((x) => x.w.end >= from!);
        if (to !== null) all = all.filter((x) => x.w.start <= to!);
        const rid = q.get('resource_id');
        if (rid) all = all.filter((x) => iriIds(x.model) === rid);
        const status = q.get('status');
        if (status) all = all.filter((x) => x.inc.status === status);
        const resolution = q.get('resolution');
        if (resolution) all = all.filter((x) => x.inc.resolution === resolution);
        if (since !== null) {
          all = all.filter((x) => Date.parse(x.inc.last_modified) / 1000 > since!);
          if (all.length === 0) {
            res.writeHead(304);
            res.end();
            return;
          }
        }
        if (m[1]) {
          const one = all.find((x) => x.inc.id === m![1]);
          return one
            ? json(res, 200, one.inc)
            : problem(res, 404, 'Not Found', 'no such incident', path);
        }
        const offset = Number(q.get('offset') ?? 0);
        const limit = Math.min(Number(q.get('limit') ?? 100), 1000);
        return json(
          res,
          200,
          all.slice(offset, offset + limit).map((x) => x.inc),
        );
      }
      if ((m = /^\/status\/events(?:\/([^/]+))?$/.exec(rest))) {
        const evs = mine.flatMap(([, model]) =>
          visibleWindows(model)
            .filter((w) => w.start <= model.now)
            .flatMap((w) => {
              const mk = (suffix: string, at: number, status: string) => ({
                id: `ev-${w.id}-${suffix}`,
                name: w.description,
                description: w.description,
                last_modified: iso(at),
                occurred_at: iso(at),
                status,
                self_uri: `${base}/api/${v}/status/events/ev-${w.id}-${suffix}`,
                resource_uri: `${base}/api/${v}/status/resources/${iriIds(model)}`,
                incident_uri: `${base}/api/${v}/status/incidents/inc-${w.id}`,
              });
              const out = [mk('start', w.start, w.kind === 'degraded' ? 'degraded' : 'down')];
              if (w.end <= model.now) out.push(mk('end', w.end, 'up'));
              return out;
            }),
        );
        if (m[1]) {
          const one = evs.find((e) => e.id === m![1]);
          return one ? json(res, 200, one) : problem(res, 404, 'Not Found', 'no such event', path);
        }
        return json(res, 200, evs);
      }
      if ((m = /^\/compute\/job\/([^/]+)$/.exec(rest)) && method === 'POST') {
        if (!bearer(req))
          return problem(res, 401, 'Unauthorized', 'a valid bearer token is required', path);
        const entry = mine.find(([, model]) => iriIds(model) === m![1]);
        if (!entry) return problem(res, 404, 'Not Found', `no compute resource ${m[1]}`, path);
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req));
        } catch {
          return problem(res, 400, 'Bad Request', 'body is not JSON', path);
        }
        const spec = JobSpecBody.safeParse(body);
        if (!spec.success)
          return problem(res, 422, 'Unprocessable Entity', spec.error.message, path);
        const project = req.headers['x-iri-facility-project'];
        // v2: the project/account in exactly one place, the body or the trusted header.
        if (v === 'v2' && !spec.data.attributes?.account === !project)
          return problem(
            res,
            400,
            'Bad Request',
            project
              ? 'account given both in attributes.account and X-IRI-Facility-Project'
              : 'no project/account: set attributes.account or X-IRI-Facility-Project',
            path,
          );
        const keyHeader = req.headers['idempotency-key'];
        const key = v === 'v2' && typeof keyHeader === 'string' ? `${m[1]}/${keyHeader}` : null;
        const bodyText = JSON.stringify(spec.data);
        if (key) {
          const earlier = idempotent.get(key);
          if (earlier && earlier.body !== bodyText)
            return problem(
              res,
              422,
              'Unprocessable Entity',
              'Idempotency-Key reused with another body',
              path,
            );
          if (earlier) {
            const e = externalJobs.get(earlier.jobId)!;
            return json(res, 200, iriJob(e.job, e.spec, true));
          }
        }
        const [id, model] = entry;
        const job = model.submit({
          nodes: spec.data.resources?.node_count ?? 1,
          walltimeS: spec.data.attributes?.duration ?? 3600,
          queue: spec.data.attributes?.queue_name ?? undefined,
          project: spec.data.attributes?.account ?? undefined,
          name: spec.data.name ?? undefined,
        });
        externalJobs.set(job.id, { system: id, job, spec: spec.data });
        if (key) idempotent.set(key, { body: bodyText, jobId: job.id });
        return json(res, 200, iriJob(job, spec.data, true));
      }
      if ((m = /^\/compute\/status\/([^/]+)\/([^/]+)$/.exec(rest)) && method === 'GET') {
        if (!bearer(req))
          return problem(res, 401, 'Unauthorized', 'a valid bearer token is required', path);
        const entry = externalJobs.get(m[2]!);
        if (!entry || iriIds(models.get(entry.system)!) !== m[1])
          return problem(res, 404, 'Not Found', 'no such job', path);
        return json(
          res,
          200,
          iriJob(
            entry.job,
            url.searchParams.get('include_spec') === 'true' ? entry.spec : null,
            false,
          ),
        );
      }
      if ((m = /^\/compute\/cancel\/([^/]+)\/([^/]+)$/.exec(rest)) && method === 'DELETE') {
        if (!bearer(req))
          return problem(res, 401, 'Unauthorized', 'a valid bearer token is required', path);
        const entry = externalJobs.get(m[2]!);
        if (!entry) return problem(res, 404, 'Not Found', 'no such job', path);
        models.get(entry.system)!.cancel(entry.job.id);
        return json(res, 200, iriJob(entry.job, null, false));
      }
      return problem(res, 404, 'Not Found', 'no such endpoint', path);
    }

    // ALCF activity feed
    if ((m = /^\/alcf\/status\/([^/]+)\/activity\.json$/.exec(path))) {
      const model = models.get(m[1]!);
      if (!model || systems[m[1]!]!.facility !== 'ALCF')
        return json(res, 404, { error: 'not found' });
      return json(res, 200, alcfActivity(model));
    }

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

    // Simulator controls (demos and e2e tests drive maintenance from another process).
    if (path.startsWith('/_sim/')) {
      const refusal = controlRefusal(req);
      if (refusal) return json(res, refusal.status, { error: refusal.error });
    }
    if (path === '/_sim/windows' && method === 'POST') {
      const body = WindowBody.safeParse(await readJson(req));
      if (!body.success || !models.has(body.data.system))
        return json(res, 400, { error: body.success ? 'unknown system' : body.error.message });
      return json(res, 200, sim.addWindow(body.data.system, body.data));
    }
    if (path === '/_sim/advance' && method === 'POST') {
      const body = z
        .object({
          seconds: z
            .number()
            .min(0)
            .max(90 * 86_400),
        })
        .safeParse(await readJson(req));
      if (!body.success) return json(res, 400, { error: body.error.message });
      sim.advance(body.data.seconds);
      return json(res, 200, { now: sim.now() });
    }
    if (path === '/_sim/clock') return json(res, 200, { now: sim.now(), speed, seed });
    return json(res, 404, { error: 'not found' });
  }

  function iriJob(job: SimJob, spec: unknown, fresh: boolean) {
    const state = fresh
      ? job.state === 'queued'
        ? 'new'
        : 'active'
      : job.state === 'queued'
        ? 'queued'
        : job.state === 'running'
          ? 'active'
          : job.state;
    const time = job.end ?? job.start ?? job.submit;
    return {
      id: job.id,
      status: {
        state,
        time,
        message: state === 'queued' || state === 'new' ? 'Job is waiting in queue' : null,
        exit_code: job.state === 'completed' ? 0 : job.state === 'failed' ? 1 : null,
        meta_data: { queue: job.queue, submit_time: job.submit, start_time: job.start },
      },
      job_spec: spec,
    };
  }

  function alcfActivity(model: SchedulerModel) {
    const now = model.now;
    const next = model.upcomingPlanned()[0] ?? null;
    const inMaint = model.activeWindows().some((w) => w.kind === 'planned');
    let nodeCursor = 0;
    const total = model.config.totalNodes;
    return {
      updated: Math.floor(now),
      maint: inMaint,
      start: next ? Math.floor(next.start) : null,
      end: next ? Math.floor(next.end) : null,
      motd_info: next
        ? [
            {
              type: 'MAINT',
              message: `${next.description}: ${iso(next.start)} – ${iso(next.end)}`,
              start: Math.floor(next.start),
              end: Math.floor(next.end),
            },
          ]
        : [],
      running: model.running.map((j) => {
        const location = [`x${1000 + nodeCursor}`];
        nodeCursor += j.nodes;
        return {
          jobid: j.id,
          project: j.project,
          queue: j.queue,
          nodes: j.nodes,
          location,
          starttime: Math.floor(j.start!),
          submittime: Math.floor(j.submit),
          walltime: Math.round(j.walltimeS / 60),
          walltimef: hms(j.walltimeS),
          runtimef: hms(now - j.start!),
          state: 'running',
        };
      }),
      queued: model.queue.map((j) => ({
        jobid: j.id,
        project: j.project,
        queue: j.queue,
        nodes: j.nodes,
        score: Math.round(((now - j.submit) / 3600 + (j.nodes / total) * 24) * 10) / 10,
        submittime: Math.floor(j.submit),
        walltime: Math.round(j.walltimeS / 60),
        walltimef: hms(j.walltimeS),
        queuedtimef: hms(now - j.submit),
        state: 'queued',
      })),
      starting: [],
      reservation: model.upcomingPlanned().map((w) => ({
        name: 'maintenance',
        queue: 'maint',
        start: Math.floor(w.start),
        duration: Math.round((w.end - w.start) / 60),
        nodes: total,
      })),
      nodeinfo: { total, free: model.freeNodes() },
      dimensions: { nodes: total },
    };
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
