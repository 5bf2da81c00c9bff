import { useStore } from 'zustand';
import { createStore } from 'zustand/vanilla';
import type { RecordingMarker } from '@/lib/protocol';

/** Replay speeds: recording time per wall-clock time. */
export const SPEEDS = [1, 4, 16] as const;
export type Speed = (typeof SPEEDS)[number];

/**
 * What the run page's viewers show: the live stream, or a recorded moment — scrubbed to, frozen
 * (Space), or playing at a speed. Times are epoch ms on the gateway's clock (frames' acceptedAt, lib/protocol recordedAt).
 */
export interface TimelineState {
  mode: 'live' | 'past' | 'playing';
  /** The instant shown while not live. */
  shownAt: number | null;
  /** When the recording filed the xy frame shown while not live (the frame in force at `shownAt`). */
  frameAt: number | null;
  /** When the newest live frame was accepted: the live edge the indicator counts back from. */
  liveEdge: number | null;
  speed: Speed;
  /** The recorded span; null until the gateway has recorded something. */
  from: number | null;
  to: number | null;
  markers: RecordingMarker[];
  /** While not live: the slider's right end, held where it was on leaving live so it stays put. */
  anchor: number | null;
  /** A seek or a page of frames is being fetched. */
  loading: boolean;
  error: string | null;
  set(patch: Partial<Omit<TimelineState, 'set'>>): void;
}

export function createTimelineStore() {
  return createStore<TimelineState>()((set) => ({
    mode: 'live',
    shownAt: null,
    frameAt: null,
    liveEdge: null,
    speed: 1,
    from: null,
    to: null,
    markers: [],
    anchor: null,
    loading: false,
    error: null,
    set: (patch) => set(patch),
  }));
}
export type TimelineStore = ReturnType<typeof createTimelineStore>;

export function useTimelineStore<T>(store: TimelineStore, selector: (s: TimelineState) => T): T {
  return useStore(store, selector);
}
