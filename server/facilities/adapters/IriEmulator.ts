import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FacilityId } from '@/lib/protocol';
import type { SchedulerModel, SimJob, SimWindow } from '../simulator/SchedulerModel';
import {
  handledBy,
  iso,
  json,
  readBody,
  type EmulatorContext,
  type SimRoute,
} from '../simulator/simulatorHttp';

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

/**
 * The IRI facility API (v1 and v2) of NERSC, ALCF and OLCF as IriAdapter reads it: the facility,
 * status resources, incidents and events, and the compute job API (submit, status, cancel, v2's
 * Idempotency-Key), over the simulator's scheduler models. Answers the request and resolves true
 * when the path is under `/{nersc|alcf|olcf}/iri/api/{v1|v2}`.
 */
export function iriEmulator(ctx: EmulatorContext) {
  const { models, systems, bySystem, bearer, startS, baseUrl } = ctx;
  const externalJobs = new Map<string, { system: string; job: SimJob; spec: unknown }>();
  /** v2 Idempotency-Key → the body it came with and the job it made. */
  const idempotent = new Map<string, { body: string; jobId: string }>();
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

  const route: SimRoute = async (req, res, path, method) => {
    let m: RegExpExecArray | null;
    if (!(m = /^\/(nersc|alcf|olcf)\/iri\/api\/(v1|v2)(\/.*)?$/.exec(path))) return null;
    const url = new URL(req.url ?? '/', baseUrl());
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
        return one ? json(res, 200, one) : problem(res, 404, 'Not Found', 'no such resource', path);
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
      if (!spec.success) return problem(res, 422, 'Unprocessable Entity', spec.error.message, path);
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
  };

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

  return handledBy(route);
}
