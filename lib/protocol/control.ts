import { z } from 'zod';
import { RunId } from './frame';

/**
 * One hand on the controls (issue 13, point 4): per run at most one person holds control, and
 * while someone does, only their steering commands are accepted. Others request it; the holder
 * grants or denies, or the request lapses after the gateway's timeout; staff may take it.
 * A run nobody holds is open to everyone allowed to steer it, as before control existed.
 */

/**
 * What a person asks of a run's control (viewer → gateway, `control:send`): `request` (granted at
 * once when nobody holds it), `grant` / `deny` the pending request (holder only), `release` it
 * (holder only), `take` it from whoever holds it (staff only).
 */
export const ControlAction = z.enum(['request', 'grant', 'deny', 'release', 'take']);
export type ControlAction = z.infer<typeof ControlAction>;

/** Who holds or asks: the identity's subject and role, never its token. */
export const ControlParty = z
  .object({ subject: z.string().max(200), role: z.string().max(32) })
  .strict();
export type ControlParty = z.infer<typeof ControlParty>;

/**
 * One change of hands, for the run's history: `claimed` (requested while free), `requested`,
 * `granted`, `denied`, `expired` (the holder answered nothing in time), `released`, `taken`
 * (by staff), `dropped` (the holder's last session of the run closed). `by` acted (for
 * `expired`: whose request lapsed; for `dropped`: who held control); `to` received control, where
 * someone did. `at`: epoch ms.
 */
export const ControlHandoff = z
  .object({
    at: z.number(),
    event: z.enum([
      'claimed',
      'requested',
      'granted',
      'denied',
      'expired',
      'released',
      'taken',
      'dropped',
    ]),
    by: ControlParty,
    to: ControlParty.nullable(),
  })
  .strict();
export type ControlHandoff = z.infer<typeof ControlHandoff>;

/** Most handoffs a run's control state carries (the newest); older ones are in the audit log. */
export const MAX_CONTROL_HISTORY = 20;

/**
 * Gateway → viewers of the run (`control:state`), on every change and after each subscription
 * (so a late joiner knows who holds control): the holder since when, the pending request and
 * when it lapses (epoch ms), and the latest handoffs, oldest first.
 */
export const ControlState = z
  .object({
    run: RunId,
    holder: ControlParty.extend({ since: z.number() }).strict().nullable(),
    request: ControlParty.extend({ at: z.number(), expiresAt: z.number() }).strict().nullable(),
    history: z.array(ControlHandoff).max(MAX_CONTROL_HISTORY),
  })
  .strict();
export type ControlState = z.infer<typeof ControlState>;

/** Viewer → gateway: one control action on one run. */
export const ControlSend = z.object({ run: RunId, action: ControlAction }).strict();
export type ControlSend = z.infer<typeof ControlSend>;

/**
 * Why a control action or a steering command was refused: `forbidden` (the role or run does not
 * allow it), `not_in_control` (someone else holds control: request it first), `not_holder` (only
 * the holder grants, denies or releases), `no_request` (nothing to grant or deny),
 * `request_pending` (another request waits for an answer), `already_holder`, `unknown_run`,
 * `invalid` (malformed), `unavailable` (the audit log cannot be written, nothing changed).
 */
export const ControlRefusal = z.enum([
  'forbidden',
  'not_in_control',
  'not_holder',
  'no_request',
  'request_pending',
  'already_holder',
  'unknown_run',
  'invalid',
  'unavailable',
]);
export type ControlRefusal = z.infer<typeof ControlRefusal>;

export const ControlSendReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), state: ControlState }).strict(),
  z.object({ ok: z.literal(false), code: ControlRefusal, error: z.string() }).strict(),
]);
export type ControlSendReply = z.infer<typeof ControlSendReply>;
