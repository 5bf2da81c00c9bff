import type {
  FacilityIncident,
  Recommendation,
  SiteDecision,
  SystemSnapshot,
  WaitEstimate,
} from '@/lib/protocol';
import { createStore } from 'zustand/vanilla';

/** A gap this large between the gateway's clock and ours means it restarted on another clock. */
const CLOCK_RESET_MS = 3_600_000;

export interface FacilitiesState {
  /** Systems by id, as the gateway last described them. */
  systems: Record<string, SystemSnapshot>;
  /** False until the first snapshot list arrived (so the UI can tell "none" from "not yet"). */
  loaded: boolean;
  /**
   * Gateway clock minus ours (ms), from the newest `readAt` seen. Facility times come from the
   * gateway (and the simulator, which may run faster than real time), so countdowns use this.
   */
  clockOffsetMs: number | null;
  incidents: FacilityIncident[];
  /** Wait estimates for the default reconstruction job, by system. */
  defaultWaits: Record<string, WaitEstimate>;
  /** Why each system has no default-job estimate (excluded by the recommender). */
  defaultExcluded: Record<string, string>;
  /** Recorded site decisions, newest first. */
  decisions: SiteDecision[];
  /** The last estimate the user asked for. */
  recommendation: Recommendation | null;
  setSystems(systems: SystemSnapshot[], receivedAt: number): void;
  setIncidents(incidents: FacilityIncident[]): void;
  setDefaultEstimate(recommendation: Recommendation): void;
  setDecisions(decisions: SiteDecision[]): void;
  addDecision(decision: SiteDecision): void;
  setRecommendation(recommendation: Recommendation | null): void;
}

export function createFacilitiesStore() {
  return createStore<FacilitiesState>()((set) => ({
    systems: {},
    loaded: false,
    clockOffsetMs: null,
    incidents: [],
    defaultWaits: {},
    defaultExcluded: {},
    decisions: [],
    recommendation: null,
    setSystems: (systems, receivedAt) =>
      set((s) => {
        const newest = Math.max(...systems.map((x) => x.readAt), 0);
        // readAt trails the gateway's now, so the largest offset seen is the best estimate.
        const seen = newest > 0 ? newest - receivedAt : null;
        const clockOffsetMs =
          seen === null
            ? s.clockOffsetMs
            : s.clockOffsetMs === null ||
                seen > s.clockOffsetMs ||
                s.clockOffsetMs - seen > CLOCK_RESET_MS
              ? seen
              : s.clockOffsetMs;
        return {
          systems: Object.fromEntries(systems.map((x) => [x.system, x])),
          loaded: true,
          clockOffsetMs,
        };
      }),
    setIncidents: (incidents) => set({ incidents }),
    setDefaultEstimate: (r) =>
      set({
        defaultWaits: Object.fromEntries(r.ranked.map((x) => [x.system, x.wait])),
        defaultExcluded: Object.fromEntries(
          r.excluded.map((x) => [x.system, x.reasons.join('; ')]),
        ),
      }),
    setDecisions: (decisions) => set({ decisions }),
    addDecision: (d) =>
      set((s) => ({ decisions: [d, ...s.decisions.filter((x) => x.id !== d.id)] })),
    setRecommendation: (recommendation) => set({ recommendation }),
  }));
}
export type FacilitiesStore = ReturnType<typeof createFacilitiesStore>;
