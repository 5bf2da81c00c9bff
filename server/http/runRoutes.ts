import type { FastifyInstance } from 'fastify';
import { RunId, type RunSummary } from '@/lib/protocol';
import { authorize } from '@/lib/policy';

/** REST reads of runs: the list and one run's summary. */
export async function runRoutes(
  app: FastifyInstance,
  /** The runs served: a gateway's registry, or in a cluster its own and the other gateways'. */
  opts: { runs: { list(): RunSummary[]; get(id: string): RunSummary | undefined } },
): Promise<void> {
  app.get('/api/runs', async (request) => ({
    runs: opts.runs
      .list()
      .filter((run) => authorize(request.identity, { kind: 'run:read', run: run.id }).allowed),
  }));
  app.get<{ Params: { id: string } }>('/api/runs/:id', async (request, reply) => {
    const id = RunId.safeParse(request.params.id);
    if (!id.success) return reply.code(400).send({ error: 'invalid run id' });
    const decision = authorize(request.identity, { kind: 'run:read', run: id.data });
    if (!decision.allowed) return reply.code(403).send({ error: `forbidden: ${decision.reason}` });
    const run = opts.runs.get(id.data);
    if (!run) return reply.code(404).send({ error: `unknown run ${id.data}` });
    return { run };
  });
}
