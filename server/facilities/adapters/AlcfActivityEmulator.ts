import type { ServerResponse } from 'node:http';
import type { SchedulerModel } from '../simulator/SchedulerModel';
import { hms, iso, json, type EmulatorContext } from '../simulator/simulatorHttp';

/** What the ALCF activity emulator reads of the facility simulator. */
export type AlcfActivityEmulatorContext = Pick<EmulatorContext, 'models' | 'systems'>;

/**
 * ALCF's per-machine activity feed (`/alcf/status/{machine}/activity.json`) as AlcfActivityAdapter
 * reads it: maintenance notice, running and queued jobs, reservations, over the simulator's
 * scheduler models. Answers and returns true when the path is one of its routes.
 */
export function alcfActivityEmulator(
  ctx: AlcfActivityEmulatorContext,
): (res: ServerResponse, path: string) => boolean {
  const { models, systems } = ctx;
  const route = (res: ServerResponse, path: string): void | null => {
    const m = /^\/alcf\/status\/([^/]+)\/activity\.json$/.exec(path);
    if (!m) return null;
    const model = models.get(m[1]!);
    if (!model || systems[m[1]!]!.facility !== 'ALCF')
      return json(res, 404, { error: 'not found' });
    return json(res, 200, alcfActivity(model));
  };
  return (res, path) => route(res, path) !== null;
}

/** One machine's activity.json, read off its scheduler model. */
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
