import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { SimWindow } from './SchedulerModel';
import { handledBy, json, readBody, type SimRoute } from './simulatorHttp';

const WindowBody = z.object({
  system: z.string(),
  startInS: z.number().min(0),
  durationS: z.number().positive(),
  kind: z.enum(['planned', 'unplanned', 'degraded']).optional(),
  description: z.string().optional(),
});

/** What the `/_sim/*` controls may do to the facility simulator. */
export interface SimControlsContext {
  /** Bearer token of the controls; without one they answer 403. */
  controlToken: string | undefined;
  /** Origins (exact) whose pages may call the controls. */
  controlOrigins: readonly string[];
  hasSystem(system: string): boolean;
  addWindow(system: string, window: z.infer<typeof WindowBody>): SimWindow;
  advance(seconds: number): void;
  /** Simulated now, epoch ms. */
  now(): number;
  speed: number;
  seed: number;
}

/** Constant-time token comparison (by digest, so lengths need not match). */
function tokenEquals(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  const text = await readBody(req);
  try {
    return JSON.parse(text || '{}') as unknown;
  } catch {
    return undefined;
  }
};

/**
 * The simulator's controls (demos and e2e tests drive maintenance from another process): announce
 * a window, move the clock, read it. Refuses any `/_sim/*` request the caller may not make, answers
 * and resolves true when the path is one of its routes; an allowed caller's unknown path resolves
 * false (the simulator's 404).
 */
export function simControls(ctx: SimControlsContext) {
  const controlOrigins = new Set(ctx.controlOrigins);
  /**
   * The controls change what every gateway polling this simulator believes, so: their token, a
   * JSON body (a cross-site form or `text/plain` "simple" POST cannot send one without a CORS
   * preflight, which is never granted), and no browser Origin but an allowed one.
   */
  const controlRefusal = (req: IncomingMessage): { status: number; error: string } | null => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (ctx.controlToken === undefined)
      return { status: 403, error: 'the simulator controls are disabled (no control token)' };
    if (m?.[1] === undefined || !tokenEquals(m[1], ctx.controlToken))
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

  const route: SimRoute = async (req, res, path, method) => {
    if (!path.startsWith('/_sim/')) return null;
    const refusal = controlRefusal(req);
    if (refusal) return json(res, refusal.status, { error: refusal.error });
    if (path === '/_sim/windows' && method === 'POST') {
      const body = WindowBody.safeParse(await readJson(req));
      if (!body.success || !ctx.hasSystem(body.data.system))
        return json(res, 400, { error: body.success ? 'unknown system' : body.error.message });
      return json(res, 200, ctx.addWindow(body.data.system, body.data));
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
      ctx.advance(body.data.seconds);
      return json(res, 200, { now: ctx.now() });
    }
    if (path === '/_sim/clock')
      return json(res, 200, { now: ctx.now(), speed: ctx.speed, seed: ctx.seed });
    return null;
  };
  return handledBy(route);
}
