import { z } from 'zod';
import { AuditEntry, CommandRecord } from './steering';

/**
 * The gateway's REST answers the browser reads. Each route declares its answer with these types
 * (`satisfies`), the browser validates what arrives with them (lib/rest/readAnswer.ts), so an answer
 * that is not what the route says is an error message, never a cast; they are in
 * protocol.schema.json for the other languages. The recording and producer-metrics answers are in
 * recording.ts and producerMetrics.ts, the session's in session.ts.
 */

/** Every refusal: 4xx/5xx with a message for a person; `code` where a client acts on it. */
export const ErrorAnswer = z.object({
  error: z.string().max(10_000),
  code: z.string().max(100).optional(),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;

/** `POST /api/runs/:id/commands` (202): the command as recorded; its later states come by socket. */
export const CommandAnswer = z.object({ command: CommandRecord });
export type CommandAnswer = z.infer<typeof CommandAnswer>;

/** `GET /api/runs/:id/commands`: the run's commands, oldest first. */
export const CommandListAnswer = z.object({ commands: z.array(CommandRecord).max(100_000) });
export type CommandListAnswer = z.infer<typeof CommandListAnswer>;

/** `GET /api/audit`: the entries the filter and the caller's role select, newest first. */
export const AuditAnswer = z.object({ entries: z.array(AuditEntry).max(100_000) });
export type AuditAnswer = z.infer<typeof AuditAnswer>;

/** `POST /api/runs/:id/share`: a read-only link; its token rides in the path's fragment only. */
export const ShareCreatedAnswer = z.object({
  path: z.string().startsWith('/runs/').max(4096),
  id: z.string().min(1).max(200),
  /** Epoch ms. */
  expiresAt: z.number(),
});
export type ShareCreatedAnswer = z.infer<typeof ShareCreatedAnswer>;
