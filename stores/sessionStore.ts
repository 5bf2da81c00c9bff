import { createStore } from 'zustand/vanilla';

/** State of the one Socket.IO connection to the gateway, as the header badge shows it. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface SessionState {
  connection: ConnectionStatus;
  /** Why the connection is not up (refusal message, last error), for the badge's tooltip. */
  connectionDetail: string | null;
  setConnection(status: ConnectionStatus, detail?: string | null): void;
}

export function createSessionStore() {
  return createStore<SessionState>()((set) => ({
    connection: 'connecting',
    connectionDetail: null,
    setConnection: (connection, detail = null) => set({ connection, connectionDetail: detail }),
  }));
}
export type SessionStore = ReturnType<typeof createSessionStore>;
