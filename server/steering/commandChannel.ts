import { type CommandSendReply, VIEWER_TO_GATEWAY } from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { SessionGuard } from '../auth/SessionGuard';
import type { AuditLog } from '../audit/AuditLog';
import { messageRouter } from '../streams/onMessage';
import type { ViewerNamespace } from '../streams/viewerNamespace';
import type { CommandService } from './CommandService';

/**
 * The viewer namespace's `command:send` handler: re-verifies the caller's credential, then submits
 * through the same service as REST (which authorises, records and audits); a malformed request is
 * counted among the audit's refusals.
 */
export function attachCommandChannel(
  viewers: ViewerNamespace,
  commands: CommandService,
  guard: SessionGuard,
  audit: AuditLog,
): void {
  viewers.on('connection', (socket) => {
    const identity = socket.data.identity as Identity;
    messageRouter(socket, VIEWER_TO_GATEWAY, false).on(
      'command:send',
      async (send): Promise<CommandSendReply> => {
        try {
          const ended = await guard.check(socket, true);
          // A credential that expired or was revoked steers nothing, even before the session
          // ends: the refusal is answered, then the session is closed.
          if (ended) {
            setImmediate(() => guard.end(socket, ended));
            return {
              ok: false,
              status: 401,
              code: ended.code === 'session-expired' ? 'session_expired' : 'session_revoked',
              error: ended.message,
            };
          }
          const result = await commands.submit(
            identity,
            send.run,
            send.idempotencyKey,
            send.request,
          );
          return 'command' in result.body
            ? { ok: true, command: result.body.command, replayed: result.replayed }
            : {
                ok: false,
                status: result.status,
                ...(result.status === 429 && { code: 'rate_limited' as const }),
                ...('code' in result.body && { code: result.body.code }),
                error: result.body.error,
              };
        } catch (error) {
          return {
            ok: false,
            status: 500,
            error: error instanceof Error ? error.message : 'internal error',
          };
        }
      },
      {
        refusal: (_code, error) => ({ ok: false as const, status: 400, error }),
        onInvalid: (_raw, _reason, issueCode) =>
          audit.refused({
            who: identity,
            address: socket.handshake.address,
            action: 'socket:command:send',
            reason: `invalid command:send (${issueCode})`,
            status: 400,
          }),
      },
    );
  });
}
