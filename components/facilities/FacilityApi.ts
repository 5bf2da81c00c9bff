import { z } from 'zod';
import {
  type EstimateRequest,
  FacilityHistoryPoint,
  FacilityIncident,
  Recommendation,
  SiteDecision,
  type SiteDecisionRequest,
  SystemSnapshot,
} from '@/lib/protocol';
import { readAnswer } from '@/lib/rest/readAnswer';
import type { LiveClient } from '@/components/live/LiveClient';
import type { FacilitiesStore } from '@/stores/facilitiesStore';

/**
 * The job whose wait the cards and the 24 h charts show: the gateway's FacilityService records
 * history for 8 nodes × 1 h, so the cards ask for the same shape and the two agree.
 */
import { DEFAULT_RECON_JOB } from '@/lib/protocol';
export { DEFAULT_RECON_JOB };

const FacilitiesAnswer = z.object({
  systems: SystemSnapshot.array(),
  incidents: FacilityIncident.array(),
});
const HistoryAnswer = z.object({ points: FacilityHistoryPoint.array() });
const DecisionsAnswer = z.object({ decisions: SiteDecision.array() });

export type ApiResult<T> = { ok: true; value: T } | { ok: false; status: number; error: string };

/** Facility REST calls through the tab's LiveClient (bearer token), answers validated on arrival. */
export class FacilityApi {
  constructor(
    private readonly live: LiveClient,
    private readonly store: FacilitiesStore,
  ) {}

  private async call<T>(schema: z.ZodType<T>, path: string, init?: RequestInit) {
    try {
      const answer = await readAnswer(await this.live.api(path, init), schema);
      return answer.ok
        ? ({ ok: true, value: answer.data } as const)
        : ({ ok: false, status: answer.status, error: answer.error } as const);
    } catch (error) {
      return {
        ok: false,
        status: 0,
        error: error instanceof Error ? error.message : 'network error',
      } as const;
    }
  }

  /** Incidents, and snapshots until the socket's first list arrives (it is the live source). */
  async refresh(): Promise<void> {
    const r = await this.call(FacilitiesAnswer, '/api/facilities');
    if (!r.ok) return;
    const state = this.store.getState();
    if (!state.loaded) state.setSystems(r.value.systems, Date.now());
    state.setIncidents(r.value.incidents);
  }

  async refreshDefaultEstimate(): Promise<void> {
    const r = await this.estimate({ ...DEFAULT_RECON_JOB, dataBytes: 0 });
    if (r.ok) this.store.getState().setDefaultEstimate(r.value);
  }

  async history(system: string, from: number, to: number): Promise<FacilityHistoryPoint[] | null> {
    const q = new URLSearchParams({ from: String(Math.round(from)), to: String(Math.round(to)) });
    const r = await this.call(
      HistoryAnswer,
      `/api/facilities/${encodeURIComponent(system)}/history?${q}`,
    );
    return r.ok ? r.value.points : null;
  }

  estimate(request: EstimateRequest): Promise<ApiResult<Recommendation>> {
    return this.call(Recommendation, '/api/estimate', {
      method: 'POST',
      body: JSON.stringify(request),
    });
  }

  async loadDecisions(): Promise<void> {
    const r = await this.call(DecisionsAnswer, '/api/facilities/decisions');
    if (r.ok) this.store.getState().setDecisions(r.value.decisions);
  }

  async decide(request: SiteDecisionRequest): Promise<ApiResult<SiteDecision>> {
    const r = await this.call(SiteDecision, '/api/facilities/decisions', {
      method: 'POST',
      body: JSON.stringify(request),
    });
    if (r.ok) this.store.getState().addDecision(r.value);
    return r;
  }
}
