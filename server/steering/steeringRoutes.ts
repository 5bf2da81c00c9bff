import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  type AuditAnswer,
  AuditQuery,
  type CommandListAnswer,
  RunId,
  type SessionAnswer,
  type ShareCreatedAnswer,
  type ShareLinkList,
} from '@/lib/protocol';
import type { SessionGuard } from '../auth/SessionGuard';
import type { ShareLinks } from '../auth/ShareLinks';
import type { RunRegistry } from '../streams/RunRegistry';
import { type AuditLog, AuditUnavailableError } from '../audit/AuditLog';
import { summarizeShare, summarizeShareRevocation } from '../audit/auditSummary';
import type { CommandService } from './CommandService';
import { authorize } from '@/lib/policy';

export interface SteeringRoutesOptions {
  commands: CommandService;
  audit: AuditLog;
  shares: ShareLinks;
  registry: RunRegistry;
  /** Ends the sessions of a revoked link at once, not at the next periodic re-check. */
  sessions: SessionGuard;
}

const ShareRequest = z
  .object({
    ttlHours: z
      .number()
      .min(1)
      .max(24 * 30)
      .default(24 * 7),
  })
  .strict();

/** Steering, share links, the audit log and "who am I" over REST; every route authorises first. */
export async function steeringRoutes(
  app: FastifyInstance,
  opts: SteeringRoutesOptions,
): Promise<void> {
  const runParam = (raw: string) => RunId.safeParse(raw);

  app.get('/api/session', async (request): Promise<SessionAnswer> => {
    const { subject, role, runs, anonymous, source } = request.identity;
    return { subject, role, runs: [...runs], anonymous, source };
  });

  app.post<{ Params: { id: string } }>('/api/runs/:id/commands', async (request, reply) => {
    const run = runParam(request.params.id);
    if (!run.success) return reply.code(400).send({ error: 'invalid run id' });
    const key = request.headers['idempotency-key'];
    const result = await opts.commands.submit(
      request.identity,
      run.data,
      typeof key === 'string' ? key : undefined,
      request.body,
    );
    if (result.replayed) reply.header('idempotent-replayed', 'true');
    request.log.info(
      {
        event: 'command',
        ...('command' in result.body && { commandId: result.body.command.id }),
        run: run.data,
        status: result.status,
        replayed: result.replayed,
      },
      'command posted',
    );
    return reply.code(result.status).send(result.body);
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/commands', async (request, reply) => {
    const run = runParam(request.params.id);
    if (!run.success) return reply.code(400).send({ error: 'invalid run id' });
    const decision = authorize(request.identity, { kind: 'run:read', run: run.data });
    if (!decision.allowed) return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
    return { commands: await opts.commands.list(run.data) } satisfies CommandListAnswer;
  });

  app.post<{ Params: { id: string } }>('/api/runs/:id/share', async (request, reply) => {
    const run = runParam(request.params.id);
    if (!run.success) return reply.code(400).send({ error: 'invalid run id' });
    const { identity } = request;
    const decision = authorize(identity, { kind: 'share:create', run: run.data });
    const body = ShareRequest.safeParse(request.body ?? {});
    const who = { subject: identity.subject, role: identity.role };
    if (!body.success) {
      opts.audit.refused({
        who,
        action: 'share:create',
        run: run.data,
        reason: `invalid share request (${body.error.issues[0]?.code ?? 'malformed'})`,
        status: 400,
      });
      return reply
        .code(400)
        .send({ error: `invalid share request: ${body.error.issues[0]?.message}` });
    }
    const record = (outcome: 'allowed' | 'denied', status: number, reason: string) =>
      opts.audit.attempt({
        who,
        action: 'share:create',
        run: run.data,
        args: summarizeShare(body.data),
        outcome,
        status,
        reason,
      });
    try {
      if (!decision.allowed) {
        await record('denied', 403, decision.reason);
        return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
      }
      if (!opts.registry.get(run.data)) {
        await record('denied', 404, `unknown run ${run.data}`);
        return reply.code(404).send({ error: `unknown run ${run.data}` });
      }
      // Recorded before the link exists: no audit, no link.
      await record('allowed', 200, `read-only link for ${body.data.ttlHours} h`);
    } catch (error) {
      if (!(error instanceof AuditUnavailableError)) throw error;
      return reply.code(503).send({ error: `share refused: ${error.message}` });
    }
    const link = await opts.shares.create(run.data, identity.subject, body.data.ttlHours * 3600);
    // The token rides in the fragment, which browsers never send to a server, so no log sees it.
    return {
      path: `/runs/${encodeURIComponent(run.data)}#share=${link.token}`,
      id: link.id,
      expiresAt: link.expiresAt,
    } satisfies ShareCreatedAnswer;
  });

  // The run's links that still open it, for staff and the run's scientists (never the tokens).
  app.get<{ Params: { id: string } }>('/api/runs/:id/share', async (request, reply) => {
    const run = runParam(request.params.id);
    if (!run.success) return reply.code(400).send({ error: 'invalid run id' });
    const decision = authorize(request.identity, { kind: 'share:list', run: run.data });
    if (!decision.allowed) return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
    return { links: await opts.shares.active(run.data) } satisfies ShareLinkList;
  });

  // Revocation takes effect at once: the link stops verifying, and its open sessions end now.
  app.delete<{ Params: { id: string; link: string } }>(
    '/api/runs/:id/share/:link',
    async (request, reply) => {
      const run = runParam(request.params.id);
      const link = z.uuid().safeParse(request.params.link);
      if (!run.success || !link.success)
        return reply.code(400).send({ error: 'invalid run or link id' });
      const { identity } = request;
      const decision = authorize(identity, { kind: 'share:revoke', run: run.data });
      const record = (outcome: 'allowed' | 'denied', reason: string) =>
        opts.audit.attempt({
          who: { subject: identity.subject, role: identity.role },
          action: 'share:revoke',
          run: run.data,
          args: summarizeShareRevocation(link.data),
          outcome,
          status: outcome === 'allowed' ? 200 : 403,
          reason,
        });
      if (!decision.allowed) {
        await record('denied', decision.reason);
        return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
      }
      if (!(await opts.shares.revoke(run.data, link.data, identity.subject))) {
        const existing = await opts.shares.get(link.data);
        return existing && existing.run === run.data
          ? reply.code(409).send({ error: 'this link was revoked already' })
          : reply.code(404).send({ error: `no share link ${link.data} on run ${run.data}` });
      }
      await record('allowed', 'share link revoked');
      await opts.sessions.sweep();
      return { revoked: await opts.shares.get(link.data) };
    },
  );

  app.get('/api/audit', async (request, reply) => {
    const { identity } = request;
    const decision = authorize(identity, { kind: 'audit:read' });
    if (!decision.allowed) return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
    const query = AuditQuery.safeParse(request.query);
    if (!query.success)
      return reply.code(400).send({ error: `invalid filter: ${query.error.issues[0]?.message}` });
    const restrict =
      identity.role === 'staff' ? undefined : { subject: identity.subject, runs: identity.runs };
    return { entries: await opts.audit.query(query.data, restrict) } satisfies AuditAnswer;
  });
}
