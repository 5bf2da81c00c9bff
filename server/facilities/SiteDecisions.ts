import type {
  EstimateRequest,
  Recommendation,
  SiteDecision,
  SiteDecisionRequest,
  SystemSnapshot,
  WaitEstimate,
} from '@/lib/protocol';
import type { FacilityStore } from './FacilityStore';
import { recommend, type RecommendOptions } from './recommend';
import type { JobProfile } from './sites/SitesConfig';

export interface SiteDecisionsOptions {
  /** The store, once open. */
  store: Promise<FacilityStore>;
  /** Each system's job profile, from the sites file. */
  jobProfiles: ReadonlyMap<string, JobProfile>;
  recommend?: Omit<RecommendOptions, 'now'> | undefined;
  /** The service's clock (ms). */
  now: () => number;
}

/** Which site runs the next job: the recommendation, and staff's decisions logged in the store. */
export class SiteDecisions {
  constructor(private readonly o: SiteDecisionsOptions) {}

  recommend(
    request: EstimateRequest,
    snapshots: SystemSnapshot[],
    estimates: ReadonlyMap<string, WaitEstimate>,
  ): Recommendation {
    const configured = this.o.recommend;
    // The sites file's job profiles say how long each system takes to start and to reach.
    const startupS: Record<string, number> = {};
    const bandwidth: Record<string, number> = {};
    for (const [system, p] of this.o.jobProfiles) {
      if (p.startupS !== undefined) startupS[system] = p.startupS;
      if (p.transferBytesPerS !== undefined) bandwidth[system] = p.transferBytesPerS;
    }
    return recommend(request, snapshots, estimates, {
      ...configured,
      startupS: { ...startupS, ...configured?.startupS },
      systemBandwidthBytesPerS: { ...bandwidth, ...configured?.systemBandwidthBytesPerS },
      now: this.o.now(),
    });
  }

  /** Records staff's choice of site for the next job. */
  async record(
    who: { subject: string; role: SiteDecision['role'] },
    body: SiteDecisionRequest,
  ): Promise<SiteDecision> {
    // Wall-clock time: the embedded simulator's clock runs fast and must not leak into the log.
    const at = Date.now();
    const override = body.recommended !== null && body.recommended !== body.system;
    const id = await (
      await this.o.store
    ).addDecision({
      who: who.subject,
      role: who.role,
      system: body.system,
      recommended: body.recommended,
      override: override ? 1 : 0,
      note: body.note ?? null,
      at,
      job: body.job ? JSON.stringify(body.job) : null,
    });
    return {
      id,
      who: who.subject,
      role: who.role,
      system: body.system,
      recommended: body.recommended,
      override,
      note: body.note ?? null,
      job: body.job ?? null,
      at,
    };
  }

  /** Staff's latest site decision, if made within `maxAgeMs` (wall-clock). */
  async latest(maxAgeMs: number): Promise<SiteDecision | null> {
    const d = (await this.list(1))[0];
    return d && d.role === 'staff' && Date.now() - d.at <= maxAgeMs ? d : null;
  }

  async list(limit = 100): Promise<SiteDecision[]> {
    return (await this.o.store).decisions(limit);
  }
}
