import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { createStore } from 'zustand/vanilla';
import {
  MAX_MEASUREMENTS,
  type Measurement,
  type MeasurementKind,
  type MeasurementList,
} from '@/lib/measure/Measurement';

export interface MeasureState {
  /** The run's measurements, oldest first; serialisable (lib/measure) for the URL state. */
  list: MeasurementList;
  /** The measurement Delete removes. */
  selected: string | null;
  /** The tool a drag on a slice draws with; null: the slice pans and picks as usual. */
  tool: MeasurementKind | null;
  setTool(tool: MeasurementKind | null): void;
  add(m: Omit<Measurement, 'id'>): string | null;
  remove(id: string): void;
  select(id: string | null): void;
  /** Replaces the whole list (from a decoded link). */
  replace(list: MeasurementList): void;
}

/** Measurements of one run page: the tool in hand, the list and the selection. */
export function createMeasureStore() {
  let next = 1;
  return createStore<MeasureState>()((set, get) => ({
    list: [],
    selected: null,
    tool: null,
    setTool: (tool) => set({ tool }),
    add: (m) => {
      if (get().list.length >= MAX_MEASUREMENTS) return null;
      const used = new Set(get().list.map((x) => x.id));
      let id = `m${next++}`;
      while (used.has(id)) id = `m${next++}`;
      set((s) => ({ list: [...s.list, { ...m, id }], selected: id }));
      return id;
    },
    remove: (id) =>
      set((s) => ({
        list: s.list.filter((m) => m.id !== id),
        selected: s.selected === id ? null : s.selected,
      })),
    select: (selected) => set({ selected }),
    replace: (list) => set({ list: list.slice(0, MAX_MEASUREMENTS), selected: null }),
  }));
}
export type MeasureStore = ReturnType<typeof createMeasureStore>;

export function useMeasureStore<T>(store: MeasureStore, selector: (s: MeasureState) => T): T {
  return useStore(store, useShallow(selector));
}
