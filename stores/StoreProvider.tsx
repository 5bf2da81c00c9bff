'use client';

import { createContext, type ReactNode, useContext, useState } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { type CommandsState, type CommandsStore, createCommandsStore } from './commandsStore';
import { type ControlStore, type ControlStoreState, createControlStore } from './controlStore';
import {
  createFacilitiesStore,
  type FacilitiesState,
  type FacilitiesStore,
} from './facilitiesStore';
import { createRunsStore, type RunsState, type RunsStore } from './runsStore';
import { createSessionStore, type SessionState, type SessionStore } from './sessionStore';

/** The tab's stores: what the client layer (components/live) writes and components read. */
export interface Stores {
  session: SessionStore;
  runs: RunsStore;
  commands: CommandsStore;
  facilities: FacilitiesStore;
  control: ControlStore;
}

const StoresContext = createContext<Stores | null>(null);

/**
 * One set of stores per browser tab, created on the client (the App Router renders on the server
 * too, where no module-level store may be shared between requests). The gateway connection that
 * feeds them is the client layer's (components/live/LiveClientProvider), inside this provider.
 */
export function StoreProvider({ children }: { children: ReactNode }) {
  const [stores] = useState<Stores>(() => {
    const session = createSessionStore();
    const runs = createRunsStore();
    const commands = createCommandsStore();
    const facilities = createFacilitiesStore();
    const control = createControlStore();
    return { session, runs, commands, facilities, control };
  });
  return <StoresContext.Provider value={stores}>{children}</StoresContext.Provider>;
}

/** The tab's stores themselves, for the client layer that feeds them. */
export function useStores(): Stores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('StoreProvider is missing above this component');
  return stores;
}

export function useSession<T>(selector: (s: SessionState) => T): T {
  return useStore(useStores().session, useShallow(selector));
}

export function useRuns<T>(selector: (s: RunsState) => T): T {
  return useStore(useStores().runs, useShallow(selector));
}

export function useCommands<T>(selector: (s: CommandsState) => T): T {
  return useStore(useStores().commands, useShallow(selector));
}

export function useControl<T>(selector: (s: ControlStoreState) => T): T {
  return useStore(useStores().control, useShallow(selector));
}

export function useFacilities<T>(selector: (s: FacilitiesState) => T): T {
  return useStore(useStores().facilities, useShallow(selector));
}

/** The facilities store itself, for code that writes to it outside render (fetch results). */
export function useFacilitiesStore(): FacilitiesStore {
  return useStores().facilities;
}
