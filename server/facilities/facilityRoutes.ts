import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EstimateRequest, SiteDecisionRequest, SystemId } from '@/lib/protocol';
import { authorize } from '../steering/policy';
import type { AuditLog } from '../steering/AuditLog';
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
      return { system: system.data, from, to, points: service.history(system.data, from, to) };
    },
  );

  app.post('/api/estimate', async (request, reply) => {
    const body = EstimateRequest.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: problem(body.error) });
    return service.recommend(body.data);
  });

  app.get('/api/facilities/decisions', async () => ({ decisions: service.decisions() }));

  app.post('/api/facilities/decisions', async (request, reply) => {
    const identity = request.identity;
    const allowed = authorize(identity, { kind: 'site:decide' });
    if (!allowed.allowed) {
      opts.audit?.append({
        subject: identity.subject,
        role: identity.role,
        action: 'site:decide',
        payload: request.body,
        outcome: 'denied',
        reason: allowed.reason,
      });
      return reply.code(403).send({ error: `forbidden: ${allowed.reason}` });
    }
    const body = SiteDecisionRequest.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: problem(body.error) });
    if (!service.knows(body.data.system))
      return reply.code(400).send({ error: `unknown system ${body.data.system}` });
    const decision = service.recordDecision(identity, body.data);
    opts.audit?.append({
      subject: identity.subject,
      role: identity.role,
      action: 'site:decide',
      payload: decision,
      outcome: 'applied',
      reason: decision.override ? `override of ${decision.recommended}` : 'recommendation accepted',
    });
    return reply.code(201).send(decision);
  });
}
