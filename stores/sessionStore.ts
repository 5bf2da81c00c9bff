import { createStore } from 'zustand/vanilla';

/** State of the one Socket.IO connection to the gateway, as the header badge shows it. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** Who the gateway says this tab is (GET /api/session). */
export interface SessionIdentity {
  subject: string;
  role: 'viewer' | 'scientist' | 'staff' | 'producer';
  runs: string[];
  anonymous: boolean;
  source: 'local' | 'oidc' | 'share' | 'anonymous';
}

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

/** Mirrors the gateway's policy so the UI hides what a role cannot do (the gateway still decides). */
export function canSteer(identity: SessionIdentity | null, run: string): boolean {
  if (!identity) return false;
  return (
    identity.role === 'staff' || (identity.role === 'scientist' && identity.runs.includes(run))
  );
}
