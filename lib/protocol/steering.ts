import { z } from 'zod';
import {
  CaptureCommand,
  CentreSweepCommand,
  CommandId,
  PauseCommand,
  ResetZoomCommand,
  ResumeCommand,
  SetParametersCommand,
  SetSlicesCommand,
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
  SetParametersCommand.omit({ id: true, run: true }),
  CentreSweepCommand.omit({ id: true, run: true }),
  SetSlicesCommand.omit({ id: true, run: true }),
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
  'set-parameters',
  'centre-sweep',
  'set-slices',
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
  kind: z.enum(STEERING_KINDS as [SteeringKind, ...SteeringKind[]]),
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
  z.object({
    ok: z.literal(false),
    status: z.number().int(),
    /** Machine-readable reason where the client should act on it (wait, or sign in again). */
    code: z
      .enum(['rate_limited', 'session_expired', 'session_revoked', 'not_in_control'])
      .optional(),
    error: z.string(),
  }),
]);
export type CommandSendReply = z.infer<typeof CommandSendReply>;

/** What an audit row stands for (see server/audit/AuditLog.ts). */
export const AuditCategory = z.enum([
  /** One steering, site-decision or share request that parsed: allowed, denied or replayed. */
  'attempt',
  /** A later state of an accepted command, or a decision the gateway took on its behalf. */
  'progress',
  /** Refusals of one actor for one reason within one minute, counted, never their bodies. */
  'refusal',
]);
export type AuditCategory = z.infer<typeof AuditCategory>;

/** One row of the append-only, hash-chained audit log. */
export const AuditEntry = z.object({
  /** Position in the chain; a refusal count still open this minute has a negative id. */
  id: z.number().int(),
  /** When it happened (epoch ms); for a refusal count, the latest refusal it counts. */
  at: z.number(),
  category: AuditCategory,
  subject: z.string(),
  role: z.string(),
  /** Network address, for refusals of anonymous callers. */
  address: z.string().nullable(),
  action: z.string(),
  run: z.string().nullable(),
  /** Steering command kind, when the row is about one. */
  kind: z.string().nullable(),
  /** An allow-listed summary of the request, shaped by its schema; never the raw body. */
  args: z.record(z.string(), z.unknown()).nullable(),
  /** SHA-256 (hex) of the canonical JSON of `args`. */
  argsHash: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  outcome: z.enum([
    'allowed',
    'denied',
    'accepted',
    'replayed',
    'delivered',
    'applied',
    'rejected',
    'failed',
    'error',
  ]),
  /** HTTP-equivalent status of the answer, where there was one. */
  status: z.number().int().nullable(),
  reason: z.string().nullable(),
  /** How many events the row stands for: 1, or the refusals counted in its minute. */
  count: z.number().int().positive(),
  /** SHA-256 (hex) of the previous row's hash and this row's canonical content; null while open. */
  hash: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Filters of `GET /api/audit`. */
export const AuditQuery = z
  .object({
    subject: z.string().max(200).optional(),
    run: z.string().max(64).optional(),
    action: z.string().max(64).optional(),
    category: AuditCategory.optional(),
    outcome: AuditEntry.shape.outcome.optional(),
    from: z.coerce.number().optional(),
    to: z.coerce.number().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;

/**
 * One read-only share link of a run, as `GET /api/runs/{id}/share` lists it for staff and the
 * run's scientists: who made it and when it stops working (Unix epoch ms). Never the token.
 */
export const ShareLinkInfo = z
  .object({
    id: z.uuid(),
    run: RunId,
    createdBy: z.string(),
    createdAt: z.number(),
    expiresAt: z.number(),
    revokedAt: z.number().nullable(),
    revokedBy: z.string().nullable(),
  })
  .strict();
export type ShareLinkInfo = z.infer<typeof ShareLinkInfo>;

/** Answer of `GET /api/runs/{id}/share`: the links that still open the run, newest first. */
export const ShareLinkList = z.object({ links: z.array(ShareLinkInfo) }).strict();
export type ShareLinkList = z.infer<typeof ShareLinkList>;
