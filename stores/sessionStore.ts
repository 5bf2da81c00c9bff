import { createStore } from 'zustand/vanilla';
import { type Decision, steeringDecision } from '@/lib/policy';
import type { SessionAnswer } from '@/lib/protocol';

/** State of the one Socket.IO connection to the gateway, as the header badge shows it. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** Who the gateway says this tab is (GET /api/session, validated with the protocol's schema). */
export type SessionIdentity = SessionAnswer;

export interface SessionState {
  connection: ConnectionStatus;
  /** Why the connection is not up (refusal message, last error), for the badge's tooltip. */
  connectionDetail: string | null;
  /** While reconnecting: epoch ms of the next attempt, for the badge's countdown. */
  retryAt: number | null;
  identity: SessionIdentity | null;
  setConnection(status: ConnectionStatus, detail?: string | null, retryAt?: number | null): void;
  setIdentity(identity: SessionIdentity | null): void;
}

export function createSessionStore() {
  return createStore<SessionState>()((set) => ({
    connection: 'connecting',
    connectionDetail: null,
    retryAt: null,
    identity: null,
    setConnection: (connection, detail = null, retryAt = null) =>
      set({ connection, connectionDetail: detail, retryAt }),
    setIdentity: (identity) => set({ identity }),
  }));
}
export type SessionStore = ReturnType<typeof createSessionStore>;

/**
 * The gateway's own policy (lib/policy.ts) on this tab's identity: the UI offers steering only where
 * the gateway would accept it, and says why not. The gateway still decides every command.
 */
export function steering(identity: SessionIdentity | null, run: string): Decision {
  if (!identity) return { allowed: false, reason: 'who you are is not known yet' };
  return steeringDecision(identity, run);
}

export function canSteer(identity: SessionIdentity | null, run: string): boolean {
  return steering(identity, run).allowed;
}
