import type { Socket } from 'socket.io';
import { VIEWER_NAMESPACE } from '@/lib/protocol';
import type { AuditLog } from '../audit/AuditLog';
import {
  type BudgetAbuse,
  type BudgetLimits,
  MessageBudget,
  PRODUCER_BUDGET,
  VIEWER_BUDGET,
} from '../streams/MessageBudget';
import type { Identity, TokenVerifier } from './Identity';
import { SessionGuard } from './SessionGuard';

export interface SocketGuardsOptions {
  verifier: TokenVerifier;
  audit: AuditLog;
  /** How often every socket's credential is verified again (ms); default 10 s. */
  sessionRecheckMs?: number;
  /** Message budgets per connection and per address, per namespace. */
  messageBudgets?: { viewer?: Partial<BudgetLimits>; producer?: Partial<BudgetLimits> };
}

/** Messages dropped over budget and connections closed for flooding, per namespace. */
export interface BudgetFigures {
  viewerMessagesDropped: number;
  viewersDisconnectedForFlooding: number;
  producerMessagesDropped: number;
  producersDisconnectedForFlooding: number;
}

/**
 * What every authenticated socket of either namespace gets before its first message is read: a
 * message budget (per connection and per address) and a session tied to its credential. Both end
 * a socket the same way: one audit row, a typed notice saying why, then the disconnect.
 */
export class SocketGuards {
  readonly sessions: SessionGuard;
  private readonly viewerBudget: MessageBudget;
  private readonly producerBudget: MessageBudget;

  constructor(private readonly o: SocketGuardsOptions) {
    this.sessions = new SessionGuard({
      verifier: o.verifier,
      recheckMs: o.sessionRecheckMs ?? 10_000,
      onEnd: (socket, end) =>
        this.close(socket, 'session:end', end.code, {
          code: end.code,
          message: end.message,
          limit: end.expiresAt,
          observed: end.at,
          protocolCode: 'forbidden',
        }),
    });
    const flooded = (socket: Socket, abuse: BudgetAbuse) =>
      this.close(socket, 'socket:flood', abuse.message, {
        code: 'rate-limited',
        message: abuse.message,
        limit: abuse.limit,
        observed: abuse.dropped,
        protocolCode: 'rate-limited',
      });
    this.viewerBudget = new MessageBudget(
      { ...VIEWER_BUDGET, ...o.messageBudgets?.viewer },
      flooded,
    );
    this.producerBudget = new MessageBudget(
      { ...PRODUCER_BUDGET, ...o.messageBudgets?.producer },
      flooded,
    );
  }

  /** Guards a socket that just passed the handshake; call before any other message handler. */
  admit(socket: Socket, kind: 'viewer' | 'producer'): void {
    (kind === 'viewer' ? this.viewerBudget : this.producerBudget).install(
      socket,
      socket.handshake.address,
    );
    this.sessions.track(socket);
  }

  figures(): BudgetFigures {
    const v = this.viewerBudget.counters();
    const p = this.producerBudget.counters();
    return {
      viewerMessagesDropped: v.dropped,
      viewersDisconnectedForFlooding: v.disconnected,
      producerMessagesDropped: p.dropped,
      producersDisconnectedForFlooding: p.disconnected,
    };
  }

  stop(): void {
    this.sessions.close();
  }

  private close(
    socket: Socket,
    action: string,
    reason: string,
    notice: {
      code: 'session-expired' | 'session-revoked' | 'rate-limited';
      message: string;
      limit: number;
      observed: number;
      protocolCode: 'forbidden' | 'rate-limited';
    },
  ): void {
    const identity = socket.data.identity as Identity;
    // The session ends all the same, without waiting: an audit outage must not keep a revoked
    // session open (a failed row is reported on the audit's 'error').
    this.o.audit.progressLater({
      who: { subject: identity.subject, role: identity.role },
      action,
      outcome: 'denied',
      status: notice.code === 'rate-limited' ? 429 : 401,
      reason,
    });
    const { protocolCode, ...disconnect } = notice;
    if (socket.nsp.name === VIEWER_NAMESPACE) socket.emit('viewer:disconnect', disconnect);
    socket.emit('protocol:error', { code: protocolCode, message: notice.message });
    socket.disconnect(true);
  }
}
