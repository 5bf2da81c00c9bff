import type { ControlState } from '@/lib/protocol';
import { createStore } from 'zustand/vanilla';

export interface ControlStoreState {
  /** Each followed run's control, as the gateway last told it. */
  controls: Record<string, ControlState>;
  set(state: ControlState): void;
}

export function createControlStore() {
  return createStore<ControlStoreState>()((set) => ({
    controls: {},
    set: (state) => set((s) => ({ controls: { ...s.controls, [state.run]: state } })),
  }));
}
export type ControlStore = ReturnType<typeof createControlStore>;
