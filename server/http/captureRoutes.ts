import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { RunId } from '@/lib/protocol';
import { type AuditLog, AuditUnavailableError } from '../audit/AuditLog';
import { authorize } from '@/lib/policy';

/**
 * A capture's file name as the reference consumer writes it: `<run>-<ISO stamp>.h5`. Only a bare
 * name of these characters is served, so `..`, slashes, NUL and encoded separators never reach the
 * file system.
 */
const CAPTURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.h5$/;

export interface CaptureRoutesOptions {
  /**
   * Where the run's consumer writes its captures, as the gateway sees it: the consumer's own
   * directory when both run on one host (the embedded default) or a shared file system (GPFS,
   * Lustre at the beamline).
   */
  capturesDir: string;
  audit: AuditLog;
}

/**
 * `GET /api/runs/:id/captures/:name`: a captured scan's HDF5, streamed from disk (never read whole
 * into memory), to anyone who may watch the run. A name must belong to the run (`<run>-…`) and
 * resolve inside the captures directory after symlinks; every download and every refusal is
 * audited.
 */
export async function captureRoutes(
  app: FastifyInstance,
  opts: CaptureRoutesOptions,
): Promise<void> {
  app.get<{ Params: { id: string; name: string } }>(
    '/api/runs/:id/captures/:name',
    async (request, reply) => {
      const who = { subject: request.identity.subject, role: request.identity.role };
      const refuse = (status: number, reason: string, run: string | null) => {
        opts.audit.refused({
          who,
          address: request.ip,
          action: 'capture:download',
          run,
          reason,
          status,
        });
        return reply.code(status).send({ error: reason });
      };
      const id = RunId.safeParse(request.params.id);
      if (!id.success) return refuse(400, 'invalid run id', null);
      const run = id.data;
      const decision = authorize(request.identity, { kind: 'run:read', run });
      if (!decision.allowed) return refuse(403, `forbidden: ${decision.reason}`, run);
      const name = request.params.name;
      if (!CAPTURE_NAME.test(name) || name.includes('..') || !name.startsWith(`${run}-`))
        return refuse(400, 'not a capture file name of this run', run);
      let path: string;
      let size: number;
      try {
        const root = await realpath(opts.capturesDir);
        path = await realpath(join(root, name));
        // A symlink planted in the directory must not lead out of it.
        if (!path.startsWith(root + sep))
          return refuse(400, 'not a capture file name of this run', run);
        const info = await stat(path);
        if (!info.isFile()) return refuse(404, 'no such capture', run);
        size = info.size;
      } catch {
        return refuse(404, 'no such capture', run);
      }
      try {
        await opts.audit.attempt({
          who,
          action: 'capture:download',
          run,
          kind: 'capture',
          outcome: 'allowed',
          status: 200,
          reason: `${decision.reason}; ${name}, ${size} bytes`,
        });
      } catch (error) {
        if (error instanceof AuditUnavailableError)
          return reply.code(503).send({ error: error.message });
        throw error;
      }
      const stream = createReadStream(path);
      // A read error after the headers went out can only cut the response short; log it.
      stream.on('error', (error) => request.log.warn({ err: error, path }, 'capture read failed'));
      return reply
        .header('content-type', 'application/x-hdf5')
        .header('content-length', size)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'private, no-store')
        .send(stream);
    },
  );
}
