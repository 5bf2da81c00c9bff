import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SchedulerModel, SimJob } from '../simulator/SchedulerModel';
import { hms, iso, json, slurmTime, type EmulatorContext } from '../simulator/simulatorHttp';

/** What the NERSC Superfacility API emulator reads of the facility simulator. */
export type NerscEmulatorContext = Pick<
  EmulatorContext,
  'models' | 'systems' | 'bySystem' | 'bearer' | 'startS'
>;

/**
 * The NERSC Superfacility API v1.2 as NerscSfApiAdapter reads it (status, planned outages, the
 * queue of a machine), over the simulator's scheduler models. Answers the request and returns
 * true when the path is one of its routes.
 */
export function nerscSfApiEmulator(
  ctx: NerscEmulatorContext,
): (req: IncomingMessage, res: ServerResponse, path: string, method: string) => boolean {
  const { models, systems, bySystem, bearer, startS } = ctx;
  const nerscStatus = (id: string, m: SchedulerModel) => {
    const status = m.status();
    const active = m.activeWindows();
    return {
      name: id,
      full_name: systems[id]!.fullName,
      description: systems[id]!.description,
      system_type: 'compute',
      notes: active.map((w) => w.description),
      status: status === 'up' ? 'active' : status === 'down' ? 'unavailable' : 'degraded',
      updated_at: iso(m.statusSince()),
    };
  };
  const nerscOutages = (id: string, m: SchedulerModel) =>
    m.windows
      .filter((w) => w.kind === 'planned' && w.announced <= m.now && w.end > m.now - 7 * 86_400)
      .map((w) => ({
        name: id,
        start_at: iso(w.start),
        end_at: iso(w.end),
        description: w.description,
        notes: null,
        status: w.end <= m.now ? 'Completed' : w.start <= m.now ? 'Active' : 'Planned',
      }));
  const nerscStatic = [
    { name: 'dtns', full_name: 'Data Transfer Nodes', description: 'DTNs', system_type: 'service' },
    { name: 'spin', full_name: 'Spin', description: 'Container platform', system_type: 'service' },
  ].map((s) => ({ ...s, notes: [], status: 'active', updated_at: iso(startS - 86_400) }));

  const route = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
  ): void | null => {
    let m: RegExpExecArray | null;
    if ((m = /^\/nersc\/api\/v1\.2\/status(?:\/([^/]+))?$/.exec(path)) && method === 'GET') {
      const all = [
        ...bySystem('NERSC').map(([id, model]) => nerscStatus(id, model)),
        ...nerscStatic,
      ];
      if (!m[1]) return json(res, 200, all);
      const one = all.find((s) => s.name === m![1]);
      return one ? json(res, 200, one) : json(res, 404, { detail: 'System not found' });
    }
    if ((m = /^\/nersc\/api\/v1\.2\/status\/outages\/planned(?:\/([^/]+))?$/.exec(path))) {
      const lists = bySystem('NERSC').map(([id, model]) => nerscOutages(id, model));
      if (!m[1])
        return json(
          res,
          200,
          lists.filter((l) => l.length > 0),
        );
      const model = models.get(m[1]);
      return json(
        res,
        200,
        model && systems[m[1]]!.facility === 'NERSC' ? nerscOutages(m[1], model) : [],
      );
    }
    if ((m = /^\/nersc\/api\/v1\.2\/compute\/jobs\/([^/]+)$/.exec(path))) {
      if (!bearer(req)) return json(res, 401, { detail: 'Not authenticated' });
      const model = models.get(m[1]!);
      if (!model || systems[m[1]!]!.facility !== 'NERSC')
        return json(res, 200, { status: 'ERROR', output: [], error: `unknown machine ${m[1]}` });
      const row = (j: SimJob) => ({
        jobid: j.id,
        name: j.name,
        user: j.project.toLowerCase(),
        account: j.project.toLowerCase(),
        partition: 'gpu',
        qos: j.queue,
        state: j.state === 'running' ? 'RUNNING' : 'PENDING',
        nodes: String(j.nodes),
        time_limit: hms(j.walltimeS),
        submit_time: slurmTime(j.submit),
        start_time: j.start !== null ? slurmTime(j.start) : 'N/A',
        priority: String(Math.round(((model.now - j.submit) / 3600) * 1000 + j.nodes)),
        reason:
          j.state === 'running'
            ? 'None'
            : model.status() === 'down'
              ? 'ReqNodeNotAvail'
              : 'Priority',
      });
      return json(res, 200, {
        status: 'OK',
        output: [...model.running.map(row), ...model.queue.map(row)],
        error: null,
      });
    }

    return null;
  };
  return (req, res, path, method) => route(req, res, path, method) !== null;
}
