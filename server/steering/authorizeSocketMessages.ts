import type { Socket } from 'socket.io';
import { CommandSend, type CommandSendReply, SubscribeRequest } from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { AuditLog } from '../audit/AuditLog';
import { socketAction } from '../audit/auditSummary';
import type { CommandService } from './CommandService';
import { authorize } from './policy';

type Packet = [event: string, ...args: unknown[]];

/**
 * Per-message authorisation on the viewer namespace, before any handler runs: subscriptions need
 * read access to the run, `command:send` goes through the same service as REST, and anything else
 * a viewer sends (a frame, a raw command) is refused, audited, and reaches nobody.
 */
export function authorizeViewerMessages(
  socket: Socket,
  audit: AuditLog,
  commands: CommandService,
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
      case 'run:unsubscribe':
        return next();
      case 'command:send': {
        if (!ack) return refuse('command:send needs an acknowledgement callback');
        const send = CommandSend.safeParse(args[0]);
        if (!send.success) {
          audit.refused({
            who: identity,
            address: socket.handshake.address,
            action: 'socket:command:send',
            reason: `invalid command:send (${send.error.issues[0]?.code ?? 'malformed'})`,
            status: 400,
          });
          ack({
            ok: false,
            status: 400,
            error: `invalid command:send: ${send.error.issues[0]?.message}`,
          } satisfies CommandSendReply);
          return;
        }
        void commands
          .submit(identity, send.data.run, send.data.idempotencyKey, send.data.request)
          .then(
            (result) =>
              ack(
                'command' in result.body
                  ? ({
                      ok: true,
                      command: result.body.command,
                      replayed: result.replayed,
                    } satisfies CommandSendReply)
                  : ({
                      ok: false,
                      status: result.status,
                      error: result.body.error,
                    } satisfies CommandSendReply),
              ),
            (error: unknown) =>
              ack({
                ok: false,
                status: 500,
                error: error instanceof Error ? error.message : 'internal error',
              }),
          );
        return;
      }
      default: {
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
 * Producers: frames need the publish permission, and a run whose consumer is connected cannot be
 * taken over by another producer identity (a consumer that reconnects is the same identity).
 */
export function authorizeProducerMessages(
  socket: Socket,
  audit: AuditLog,
  ownerOf: (run: string) => string | null,
  supersede: (run: string, by: Socket) => void,
): void {
  const identity = socket.data.identity as Identity;
  socket.use((packet, next) => {
    const [event, ...args] = packet as Packet;
    if (event === 'run:register') {
      const run = (args[0] as { run?: unknown } | null)?.run;
      const owner = typeof run === 'string' ? ownerOf(run) : null;
      if (owner === null) return next();
      if (owner === identity.subject) {
        // The same consumer identity again: a reconnect, or a resubmitted job taking over.
        next();
        setImmediate(() => supersede(String(run), socket));
        return;
      }
      const reason = `run ${String(run)} is streamed by another producer`;
      audit.refused({
        who: identity,
        address: socket.handshake.address,
        action: 'socket:run:register',
        run: String(run),
        reason: 'the run is streamed by another producer',
        status: 403,
      });
      const ack = args[args.length - 1];
      if (typeof ack === 'function') (ack as (a: unknown) => void)({ ok: false, error: reason });
      return;
    }
    if (event !== 'frame') return next();
    const decision = authorize(identity, { kind: 'frame:publish' });
    if (decision.allowed) return next();
    audit.refused({
      who: identity,
      address: socket.handshake.address,
      action: 'socket:frame',
      reason: decision.reason,
      status: 403,
    });
    socket.emit('protocol:error', { code: 'forbidden', message: decision.reason, event });
  });
}
