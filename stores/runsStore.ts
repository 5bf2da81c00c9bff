import type { RunSummary } from '@/lib/protocol';
import { createStore } from 'zustand/vanilla';

export interface RunsState {
  /** Runs by id, as the gateway last described them. */
  runs: Record<string, RunSummary>;
  /** False until the gateway's first list arrived (so the UI can tell "none" from "not yet"). */
  loaded: boolean;
  setRuns(runs: RunSummary[]): void;
  upsertRun(run: RunSummary): void;
}

export function createRunsStore() {
  return createStore<RunsState>()((set) => ({
    runs: {},
    loaded: false,
    setRuns: (runs) => set({ runs: Object.fromEntries(runs.map((r) => [r.id, r])), loaded: true }),
    upsertRun: (run) => set((s) => ({ runs: { ...s.runs, [run.id]: run } })),
  }));
}
export type RunsStore = ReturnType<typeof createRunsStore>;
