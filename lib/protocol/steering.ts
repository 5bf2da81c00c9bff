import { z } from 'zod';
import {
  CaptureCommand,
  CommandId,
  hasReconParam,
  PauseCommand,
  RECON_PARAM_REQUIRED,
  ReconParams,
  ResetZoomCommand,
  ResumeCommand,
  ZoomCommand,
} from './commands';
import { RunId } from './frame';

/**
 * A steering request as a person sends it (REST body of `POST /api/runs/{id}/commands`, or the
 * viewer socket's `command:send`): the gateway adds the id and the run, checks the role, records it.
 */
export const CommandRequest = z.discriminatedUnion('kind', [
  ZoomCommand.omit({ id: true, run: true }),
  ResetZoomCommand.omit({ id: true, run: true }),
  PauseCommand.omit({ id: true, run: true }),
  ResumeCommand.omit({ id: true, run: true }),
  CaptureCommand.omit({ id: true, run: true }),
  z
    .object({ kind: z.literal('set-params'), ...ReconParams })
    .strict()
    .refine(hasReconParam, RECON_PARAM_REQUIRED),
  z
    .object({
      kind: z.literal('resubmit'),
      /** Compute system to run on; omitted: the recommended one. Choosing another is an override. */
      system: z.string().min(1).max(64).optional(),
      /**
       * Job shape: nodes, and requested walltime in seconds (1 min … 24 h). Omitted: the shape of
       * staff's latest site decision (the estimate it was made for), else 8 nodes × 1 h.
       */
      nodes: z.number().int().positive().max(10_000).optional(),
      walltimeSeconds: z.number().int().min(60).max(86_400).optional(),
    })
    .strict(),
]);
export type CommandRequest = z.infer<typeof CommandRequest>;
export type CommandRequestInput = z.input<typeof CommandRequest>;
export type SteeringKind = CommandRequest['kind'];
export const STEERING_KINDS: readonly SteeringKind[] = [
  'zoom',
  'reset-zoom',
  'pause',
  'resume',
  'capture',
  'set-params',
  'resubmit',
];

/**
 * Where a command stands: `accepted` (recorded, waiting for its consumer), `delivered` (the
 * consumer has it), then `applied`, or `rejected` / `failed` with the reason.
 */
export const CommandState = z.enum(['accepted', 'delivered', 'applied', 'rejected', 'failed']);
export type CommandState = z.infer<typeof CommandState>;
export const FINAL_COMMAND_STATES: readonly CommandState[] = ['applied', 'rejected', 'failed'];

/** Gateway → viewers and REST: a command and its progress. */
export const CommandRecord = z.object({
  id: CommandId,
  run: RunId,
  kind: z.enum(['zoom', 'reset-zoom', 'pause', 'resume', 'capture', 'set-params', 'resubmit']),
  payload: z.record(z.string(), z.unknown()),
  state: CommandState,
  reason: z.string().optional(),
  detail: z.string().optional(),
  artifact: z.string().optional(),
  /** Who asked, and as what. */
  subject: z.string(),
  role: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type CommandRecord = z.infer<typeof CommandRecord>;

/** Viewer → gateway over the socket: the same request as REST, with its idempotency key. */
export const CommandSend = z
  .object({ run: RunId, idempotencyKey: z.string().min(1).max(200), request: z.unknown() })
  .strict();
export type CommandSend = z.infer<typeof CommandSend>;

export const CommandSendReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), command: CommandRecord, replayed: z.boolean() }),
  z.object({ ok: z.literal(false), status: z.number().int(), error: z.string() }),
]);
export type CommandSendReply = z.infer<typeof CommandSendReply>;

/** One line of the append-only audit log. */
export const AuditEntry = z.object({
  id: z.number().int(),
  at: z.number(),
  subject: z.string(),
  role: z.string(),
  action: z.string(),
  run: z.string().nullable(),
  payload: z.unknown(),
  outcome: z.enum([
    'allowed',
    'denied',
    'accepted',
    'delivered',
    'applied',
    'rejected',
    'failed',
    'error',
  ]),
  reason: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Filters of `GET /api/audit`. */
export const AuditQuery = z
  .object({
    subject: z.string().max(200).optional(),
    run: z.string().max(64).optional(),
    action: z.string().max(64).optional(),
    outcome: AuditEntry.shape.outcome.optional(),
    from: z.coerce.number().optional(),
    to: z.coerce.number().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;
