import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EstimateRequest, SiteDecisionRequest, SystemId } from '@/lib/protocol';
import { type AuditLog, AuditUnavailableError } from '../audit/AuditLog';
import { summarizeSiteDecision } from '../audit/auditSummary';
import { authorize } from '@/lib/policy';
import type { FacilityService } from './FacilityService';

// The gateway's auth hook (server/auth/httpAuth.ts) declares and sets `request.identity`.
import type {} from '../auth/httpAuth';

const DAY_MS = 86_400_000;
const HistoryQuery = z.object({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
});

const problem = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

/**
 * Facility REST: snapshots, history, estimates with a recommendation, and staff's site decisions.
 * Producers read nothing; only staff decide.
 */
export async function facilityRoutes(
  app: FastifyInstance,
  /** `audit`, when given, records every site decision and every refused one. */
  opts: { service: FacilityService; audit?: AuditLog },
): Promise<void> {
  const { service } = opts;
  app.addHook('preHandler', async (request, reply) => {
    if (!request.url.startsWith('/api/facilities') && !request.url.startsWith('/api/estimate'))
      return;
    if (request.identity?.role === 'producer')
      return reply.code(403).send({ error: 'producers do not read facility state' });
  });

  app.get('/api/facilities', async () => ({
    systems: service.snapshots(),
    incidents: service.incidents(),
  }));

  app.get<{ Params: { system: string }; Querystring: Record<string, string> }>(
    '/api/facilities/:system/history',
    async (request, reply) => {
      const system = SystemId.safeParse(request.params.system);
      if (!system.success || !service.knows(system.data))
        return reply.code(404).send({ error: `unknown system ${request.params.system}` });
      const q = HistoryQuery.safeParse(request.query);
      if (!q.success) return reply.code(400).send({ error: problem(q.error) });
      const to = q.data.to ?? Date.now();
      const from = q.data.from ?? to - DAY_MS;
      if (from > to) return reply.code(400).send({ error: 'from must not be after to' });
      return {
        system: system.data,
        from,
        to,
        points: await service.history(system.data, from, to),
      };
    },
  );

  app.post('/api/estimate', async (request, reply) => {
    const body = EstimateRequest.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: problem(body.error) });
    return service.recommend(body.data);
  });

  app.get('/api/facilities/decisions', async () => ({ decisions: await service.decisions() }));

  app.post('/api/facilities/decisions', async (request, reply) => {
    const identity = request.identity;
    const who = { subject: identity?.subject ?? 'anonymous', role: identity?.role ?? 'viewer' };
    const body = SiteDecisionRequest.safeParse(request.body);
    if (!body.success) {
      opts.audit?.refused({
        who,
        action: 'site:decide',
        reason: `invalid site decision (${body.error.issues[0]?.code ?? 'malformed'})`,
        status: 400,
      });
      return reply.code(400).send({ error: problem(body.error) });
    }
    const attempt = (outcome: 'denied' | 'applied', status: number, reason: string) =>
      opts.audit?.attempt({
        who,
        action: 'site:decide',
        // A refused caller's free-text note is not theirs to put in the log.
        args: summarizeSiteDecision(
          outcome === 'applied'
            ? body.data
            : { system: body.data.system, recommended: body.data.recommended },
        ),
        outcome,
        status,
        reason,
      });
    try {
      const decision = identity
        ? authorize(identity, { kind: 'site:decide' })
        : { allowed: false, reason: 'only staff decide sites, not an anonymous caller' };
      if (!decision.allowed) {
        await attempt('denied', 403, decision.reason);
        return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
      }
      if (!service.knows(body.data.system)) {
        await attempt('denied', 400, `unknown system ${body.data.system}`);
        return reply.code(400).send({ error: `unknown system ${body.data.system}` });
      }
      // Recorded before the decision is: no audit, no decision.
      await attempt(
        'applied',
        201,
        body.data.recommended !== null && body.data.system !== body.data.recommended
          ? `override of ${body.data.recommended}`
          : 'recommendation accepted',
      );
    } catch (error) {
      if (!(error instanceof AuditUnavailableError)) throw error;
      return reply.code(503).send({ error: `site decision refused: ${error.message}` });
    }
    return reply.code(201).send(await service.recordDecision(identity, body.data));
  });
}
