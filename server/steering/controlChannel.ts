import {
  type ControlHandoff,
  type ControlSend,
  type ControlSendReply,
  VIEWER_TO_GATEWAY,
  type ControlState,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import { type AuditLog, AuditUnavailableError } from '../audit/AuditLog';
import { summarizeControl } from '../audit/auditSummary';
import { messageRouter } from '../streams/onMessage';
import type { RunRegistry } from '../streams/RunRegistry';
import type { ViewerNamespace } from '../streams/viewerNamespace';
import type { ControlLease } from './ControlLease';
import { runRoom } from '../streams/rooms';

export interface ControlChannelOptions {
  /** How long a holder whose last session of the run closed keeps control (ms): a page reload. */
  releaseGraceMs: number;
}

/**
 * The viewer namespace's control handlers (one owner for `control:send` and `control:state`):
 * acts on `control:send` — already authorised per message by authorizeViewerMessages — audits
 * every attempt (the lapses and drops the gateway decides too), tells the run's viewers each
 * change, sends the state after each subscription so a late joiner knows who holds control, and
 * drops a holder's control once none of their sessions follows the run any more.
 * Must be attached after attachViewerNamespace, whose `run:subscribe` handler joins the room.
 */
export function attachControlChannel(
  viewers: ViewerNamespace,
  lease: ControlLease,
  audit: AuditLog,
  registry: RunRegistry,
  options: ControlChannelOptions,
): { close(): void } {
  const onChange = (state: ControlState, handoff: ControlHandoff) => {
    viewers.to(runRoom(state.run)).emit('control:state', state);
    if (handoff.event !== 'expired' && handoff.event !== 'dropped') return;
    // The change is the gateway's own and has happened; a failed row is reported on 'error'.
    audit.progressLater({
      who: { subject: 'gateway', role: 'system' },
      action: handoff.event === 'expired' ? 'control:expire' : 'control:drop',
      run: state.run,
      args: summarizeControl({
        action: handoff.event === 'expired' ? 'expire' : 'drop',
        holder: state.holder,
        requester: handoff.event === 'expired' ? handoff.by : null,
      }),
      outcome: 'applied',
      reason:
        handoff.event === 'expired'
          ? `${handoff.by.subject}'s request was not answered in time`
          : `${handoff.by.subject} left the run`,
    });
  };
  lease.on('change', onChange);
  const timers = new Set<NodeJS.Timeout>();
  /** The control action being recorded and applied now; the next waits for it. */
  let acting: Promise<void> = Promise.resolve();

  /** Whether any session of `subject` on this gateway still follows `run`. */
  const follows = (subject: string, run: string) => {
    for (const socket of viewers.sockets.values())
      if (
        (socket.data.identity as Identity | undefined)?.subject === subject &&
        socket.rooms.has(runRoom(run))
      )
        return true;
    return false;
  };

  viewers.on('connection', (socket) => {
    const identity = socket.data.identity as Identity;
    const who = { subject: identity.subject, role: identity.role };

    const answerControl = (send: ControlSend): Promise<ControlSendReply> => {
      const { run, action } = send;
      if (!registry.get(run))
        return Promise.resolve({ ok: false, code: 'unknown_run', error: `unknown run ${run}` });
      // Control actions on this gateway run one at a time, so the outcome the audit records
      // (written first: control without its record would be a hole in the audit) is the one
      // that then happens.
      const result = acting.then(async (): Promise<ControlSendReply> => {
        const before = lease.state(run);
        const plan = lease.preview(who, run, action);
        try {
          await audit.attempt({
            who,
            action: `control:${action}`,
            run,
            args: summarizeControl({ action, holder: before.holder, requester: before.request }),
            outcome: plan.ok ? 'allowed' : 'denied',
            status: plan.ok ? 200 : 409,
            reason: plan.ok ? plan.handoff.event : plan.error,
          });
        } catch (error) {
          // Nothing changed.
          return error instanceof AuditUnavailableError
            ? { ok: false, code: 'unavailable', error: `control refused: ${error.message}` }
            : { ok: false, code: 'unavailable', error: 'control refused: internal error' };
        }
        const outcome = lease.act(who, run, action);
        return outcome.ok ? { ok: true, state: outcome.state } : outcome;
      });
      acting = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    };
    messageRouter(socket, VIEWER_TO_GATEWAY, false).on('control:send', answerControl, {
      refusal: (): ControlSendReply => ({
        ok: false,
        code: 'invalid',
        error: 'invalid control:send',
      }),
    });

    // Registered after the fan-out's handler: the room is joined when the subscription succeeded.
    socket.on('run:subscribe', (...args: unknown[]) => {
      const run = (args[0] as { run?: unknown } | null | undefined)?.run;
      if (typeof run === 'string' && socket.rooms.has(runRoom(run)))
        socket.emit('control:state', lease.state(run));
    });

    socket.on('disconnect', () => {
      const held = lease.heldBy(identity.subject);
      if (held.length === 0) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        for (const run of held)
          if (!follows(identity.subject, run)) lease.drop(run, identity.subject);
      }, options.releaseGraceMs);
      timer.unref();
      timers.add(timer);
    });
  });

  return {
    close() {
      lease.off('change', onChange);
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
