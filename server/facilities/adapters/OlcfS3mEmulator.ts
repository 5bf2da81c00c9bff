import type { ServerResponse } from 'node:http';
import type { SchedulerModel, SimWindow } from '../simulator/SchedulerModel';
import { iso, json, type EmulatorContext } from '../simulator/simulatorHttp';

/** What the OLCF S3M emulator reads of the facility simulator. */
export type S3mEmulatorContext = Pick<EmulatorContext, 'systems' | 'bySystem'>;

/**
 * OLCF's S3M status API (v1alpha) as OlcfS3mAdapter reads it: resources and their downtimes,
 * over the simulator's scheduler models. Answers and returns true when the path is one of its routes.
 */
export function olcfS3mEmulator(
  ctx: S3mEmulatorContext,
): (res: ServerResponse, path: string) => boolean {
  const { systems, bySystem } = ctx;
  const visibleWindows = (m: SchedulerModel) => m.windows.filter((w) => w.announced <= m.now);
  const route = (res: ServerResponse, path: string): void | null => {
    let m: RegExpExecArray | null;
    if ((m = /^\/olcf\/s3m\/olcf\/v1alpha\/status(\/.*)?$/.exec(path))) {
      const rest = m[1] ?? '';
      const olcf = bySystem('OLCF');
      const downtime = (id: string, w: SimWindow) => ({
        resourceName: id,
        status: w.end <= olcf.find(([x]) => x === id)![1].now ? 'COMPLETED' : 'SCHEDULED',
        start: iso(w.start),
        end: iso(w.end),
        description: w.description,
        attributes: { scheduled: w.kind === 'planned', reboot: w.kind === 'planned' },
      });
      const resource = (id: string, model: SchedulerModel) => ({
        name: id,
        description: systems[id]!.description,
        status: model.status() === 'down' ? 'UNAVAILABLE' : 'OPERATIONAL',
        downtimeScheduleAvailable: true,
        upcomingDowntimes: model.upcomingPlanned().map((w) => downtime(id, w)),
        retrievedAt: iso(model.now),
      });
      if (rest === '')
        return json(res, 200, { resources: olcf.map(([id, model]) => resource(id, model)) });
      if (rest === '/downtimes' || rest === '/downtimes/upcoming') {
        const list = olcf.flatMap(([id, model]) =>
          visibleWindows(model)
            .filter((w) => w.kind === 'planned' && (rest === '/downtimes' || w.end > model.now))
            .map((w) => downtime(id, w)),
        );
        return json(res, 200, { downtimes: list });
      }
      const one = olcf.find(([id]) => `/${id}` === rest);
      return one
        ? json(res, 200, resource(one[0], one[1]))
        : json(res, 404, { error: 'resource not found' });
    }

    return null;
  };
  return (res, path) => route(res, path) !== null;
}
