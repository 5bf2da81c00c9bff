import type { Socket } from 'socket.io';
import { ControlSend, type ControlSendReply, SubscribeRequest } from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { AuditLog } from '../audit/AuditLog';
import { socketAction } from '../audit/auditSummary';
import type { RunRegistry } from '../streams/RunRegistry';
import { authorize } from '@/lib/policy';

type Packet = [event: string, ...args: unknown[]];

/** Events only a producer sends: from a viewer they are an attempt to publish, and counted so. */
const PRODUCER_EVENTS = new Set(['frame', 'run:register', 'run:state', 'run:metrics']);

const runOf = (body: unknown): string | null => {
  const run = (body as { run?: unknown } | null | undefined)?.run;
  return typeof run === 'string' ? run.slice(0, 128) : null;
};

/**
 * Per-message authorisation on the viewer namespace, before any handler runs; it decides and
 * executes nothing. Subscriptions need read access to the run, control actions policy's consent;
 * `command:send` passes (CommandService authorises it, as over REST); anything else a viewer
 * sends (a frame, a raw command) is refused, audited, and reaches nobody; a frame or registration
 * is counted as a refused push.
 */
export function authorizeViewerMessages(
  socket: Socket,
  audit: AuditLog,
  registry: RunRegistry,
): void {
  const identity = socket.data.identity as Identity;
  socket.use((packet, next) => {
    const [event, ...args] = packet as Packet;
    const ack =
      typeof args[args.length - 1] === 'function'
        ? (args[args.length - 1] as (a: unknown) => void)
        : undefined;
    const refuse = (reason: string, run: string | null = null, auditReason = reason) => {
      audit.refused({
        who: identity,
        address: socket.handshake.address,
        action: socketAction(event),
        run,
        reason: auditReason,
        status: 403,
      });
      socket.emit('protocol:error', { code: 'forbidden', message: reason, event });
      ack?.({ ok: false, error: `forbidden: ${reason}` });
    };
    switch (event) {
      case 'run:subscribe': {
        const request = SubscribeRequest.safeParse(args[0]);
        if (!request.success) return next(); // the handler answers malformed requests
        const decision = authorize(identity, { kind: 'run:read', run: request.data.run });
        return decision.allowed ? next() : refuse(decision.reason, request.data.run);
      }
      // view:display applies only to runs this socket follows, authorised when it subscribed.
      case 'run:unsubscribe':
      case 'view:display':
        return next();
      case 'control:send': {
        // Policy decides who may attempt which action; the control channel's handler, what the
        // run's current holder allows (and audits that).
        if (!ack) return refuse('control:send needs an acknowledgement callback');
        const send = ControlSend.safeParse(args[0]);
        if (!send.success) {
          audit.refused({
            who: identity,
            address: socket.handshake.address,
            action: 'socket:control:send',
            reason: `invalid control:send (${send.error.issues[0]?.code ?? 'malformed'})`,
            status: 400,
          });
          ack({
            ok: false,
            code: 'invalid',
            error: `invalid control:send: ${send.error.issues[0]?.message}`,
          } satisfies ControlSendReply);
          return;
        }
        const decision = authorize(identity, { kind: 'control', ...send.data });
        if (decision.allowed) return next();
        audit.refused({
          who: identity,
          address: socket.handshake.address,
          action: `control:${send.data.action}`,
          run: send.data.run,
          reason: decision.reason,
          status: 403,
        });
        ack({
          ok: false,
          code: 'forbidden',
          error: `forbidden: ${decision.reason}`,
        } satisfies ControlSendReply);
        return;
      }
      case 'command:send':
        // Authorised where REST's commands are, by CommandService (policy, control, the audit):
        // the socket's handler (commandChannel.ts) and the REST route submit to the same service.
        return next();
      default: {
        if (PRODUCER_EVENTS.has(event)) registry.noteRefusedPush(runOf(args[0]));
        // The client hears the event it named; the audit counts one fixed reason per action.
        const action = socketAction(event);
        return refuse(
          `a viewer may not send ${JSON.stringify(String(event).slice(0, 64))}`,
          null,
          action === 'socket:unknown' ? 'unknown event' : 'a viewer may not send this event',
        );
      }
    }
  });
}

/**
 * Producers: a registration needs policy's consent for the run (in the producer's scope, and not
 * another identity's run, online or offline); a frame needs the publish permission for its run.
 * Every refusal is audited, answered, and counted as a refused push against the run.
 */
export function authorizeProducerMessages(
  socket: Socket,
  audit: AuditLog,
  registry: RunRegistry,
): void {
  const identity = socket.data.identity as Identity;
  const refuse = (event: string, run: string | null, reason: string, ack: unknown) => {
    registry.noteRefusedPush(run);
    audit.refused({
      who: identity,
      address: socket.handshake.address,
      action: socketAction(event),
      run,
      reason,
      status: 403,
    });
    socket.emit('protocol:error', { code: 'forbidden', message: reason, event });
    if (typeof ack === 'function') (ack as (a: unknown) => void)({ ok: false, error: reason });
  };
  socket.use((packet, next) => {
    const [event, ...args] = packet as Packet;
    const ack = args[args.length - 1];
    if (event === 'run:register') {
      const run = runOf(args[0]);
      if (run === null) return next(); // the handler answers a malformed registration
      const decision = authorize(identity, {
        kind: 'run:register',
        run,
        owner: registry.ownerOf(run),
      });
      if (!decision.allowed) return refuse(event, run, decision.reason, ack);
      return next(); // ProducerSockets supersedes the run's previous consumer once it registered
    }
    if (event !== 'frame') return next();
    const run = runOf(args[0]);
    if (run === null) return next(); // the decoder refuses a header without a run
    const decision = authorize(identity, { kind: 'frame:publish', run });
    if (decision.allowed) return next();
    refuse(event, run, decision.reason, ack);
  });
}
