import type {
  EstimateRequest,
  ExcludedSystem,
  FacilityId,
  RankedSystem,
  Recommendation,
  SystemSnapshot,
  WaitEstimate,
} from '@/lib/protocol';

export interface RecommendOptions {
  /** Epoch ms. */
  now: number;
  /** Sustained bytes per second from the beamline to each facility. */
  bandwidthBytesPerS?: Partial<Record<FacilityId, number>>;
  /** Seconds from job start to the first reconstructed slice, per system. */
  startupS?: Record<string, number>;
  /** Per system, overriding the facility's bandwidth (the sites file's `transferBytesPerS`). */
  systemBandwidthBytesPerS?: Record<string, number>;
}

/**
 * 10 Gb/s: what a single Globus transfer from APS to a DOE facility over ESnet sustains in
 * practice (the links are 100 Gb/s, shared).
 */
export const DEFAULT_BANDWIDTH_BYTES_PER_S = 1.25e9;
/** Container start, data staging on node and the consumer dialling in: about two minutes. */
export const DEFAULT_STARTUP_S = 120;

const fmt = (s: number): string => {
  if (!Number.isFinite(s)) return 'unbounded';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
};
/** Expected times within 30 s or 5% of each other are a tie. */
const TIE_S = 30;
const TIE_SHARE = 0.05;
type Candidate = Omit<RankedSystem, 'rank'> & { freeNodes: number | null };

const when = (ms: number) => new Date(ms).toISOString().replace(/:\d\d\.\d+Z$/, 'Z');

/**
 * Ranks systems by expected time to first result = transfer + median wait + start-up. Leaves out
 * systems that are down, in maintenance, of unknown state, without a wait estimate, or whose planned
 * window overlaps the job's expected run; says why for each.
 */
export function recommend(
  request: EstimateRequest,
  systems: readonly SystemSnapshot[],
  estimates: ReadonlyMap<string, WaitEstimate>,
  options: RecommendOptions,
): Recommendation {
  const ranked: Candidate[] = [];
  const excluded: ExcludedSystem[] = [];
  const wanted = request.systems ? new Set(request.systems) : null;

  for (const s of systems) {
    if (wanted && !wanted.has(s.system)) continue;
    const reasons: string[] = [];
    const out = (reason: string) => excluded.push({ system: s.system, reasons: [reason] });
    if (s.status === 'down') {
      out(`${s.name} is down${s.staleReason ? ` (${s.staleReason})` : ''}`);
      continue;
    }
    if (s.status === 'maintenance') {
      const end = s.nextWindow?.end;
      out(`${s.name} is in maintenance${end ? ` until ${when(end)}` : ''}`);
      continue;
    }
    if (s.status === 'unknown') {
      out(`${s.name}'s state is unknown: ${s.staleReason ?? 'no reading yet'}`);
      continue;
    }
    if (s.queue.totalNodes !== null && request.nodes > s.queue.totalNodes) {
      out(`${s.name} has ${s.queue.totalNodes} nodes; the job asks for ${request.nodes}`);
      continue;
    }
    const wait = estimates.get(s.system);
    if (!wait || wait.method === 'none') {
      out(
        `no wait estimate for ${s.name}: its source publishes no queue and no waits were observed`,
      );
      continue;
    }
    const bandwidth =
      options.systemBandwidthBytesPerS?.[s.system] ??
      options.bandwidthBytesPerS?.[s.facility] ??
      DEFAULT_BANDWIDTH_BYTES_PER_S;
    const transferS = request.dataBytes / bandwidth;
    const startupS = options.startupS?.[s.system] ?? DEFAULT_STARTUP_S;
    const startMs = options.now + (transferS + wait.median) * 1000;
    const endMs = startMs + request.walltime * 1000;
    const w = s.nextWindow;
    if (w && w.start < endMs && (w.end === null || w.end > options.now)) {
      out(
        `planned window ${when(w.start)}–${w.end ? when(w.end) : 'open'} (${w.description}) overlaps the job's expected run ${when(startMs)}–${when(endMs)}`,
      );
      continue;
    }
    reasons.push(
      wait.placeholderBound
        ? `median wait ${fmt(wait.median)} (no 95% bound yet: ${wait.observations} observed waits are too few; ${fmt(wait.bound95)} is a placeholder)`
        : `median wait ${fmt(wait.median)} (95% bound ${fmt(wait.bound95)}, from ${wait.observations} observed waits)`,
    );
    if (request.dataBytes > 0)
      reasons.push(
        `transfer of ${(request.dataBytes / 1e9).toFixed(1)} GB at ${(bandwidth / 1e9).toFixed(2)} GB/s: ${fmt(transferS)}`,
      );
    reasons.push(`start-up ${fmt(startupS)}`);
    if (s.status === 'degraded') reasons.push(`${s.name} is degraded: expect slower I/O`);
    if (s.stale) reasons.push(`reading is stale: ${s.staleReason ?? 'unknown reason'}`);
    if (s.queue.freeNodes !== null && s.queue.freeNodes >= request.nodes)
      reasons.push(`${s.queue.freeNodes} nodes free now`);
    ranked.push({
      freeNodes: s.queue.freeNodes,
      system: s.system,
      expectedFirstResultS: transferS + wait.median + startupS,
      transferS,
      startupS,
      wait,
      reasons,
    });
  }

  // Expected times this close are a tie (the medians are estimates, often the same 60 s); a tie
  // goes to the tighter measured bound, then to more free nodes.
  const tied = (a: Candidate, b: Candidate) =>
    Math.abs(a.expectedFirstResultS - b.expectedFirstResultS) <
    Math.max(TIE_S, TIE_SHARE * Math.min(a.expectedFirstResultS, b.expectedFirstResultS));
  const boundOf = (c: Candidate) => (c.wait.placeholderBound ? Infinity : c.wait.bound95);
  ranked.sort((a, b) => {
    if (!tied(a, b)) return a.expectedFirstResultS - b.expectedFirstResultS;
    if (boundOf(a) !== boundOf(b)) return boundOf(a) - boundOf(b);
    return (b.freeNodes ?? -1) - (a.freeNodes ?? -1);
  });
  const why = (r: Candidate, other: Candidate): string => {
    if (!tied(r, other))
      return `${fmt(Math.abs(other.expectedFirstResultS - r.expectedFirstResultS))} ${r.expectedFirstResultS <= other.expectedFirstResultS ? 'sooner than' : 'later than'} ${other.system}`;
    const [br, bo] = [boundOf(r), boundOf(other)];
    if (br !== bo)
      return `as soon as ${other.system}, with a ${br < bo ? 'tighter' : 'looser'} 95% bound (${Number.isFinite(br) ? fmt(br) : 'none yet'} vs ${Number.isFinite(bo) ? fmt(bo) : 'none yet'})`;
    if ((r.freeNodes ?? -1) !== (other.freeNodes ?? -1))
      return `as soon as ${other.system}, with ${(r.freeNodes ?? -1) > (other.freeNodes ?? -1) ? 'more' : 'fewer'} free nodes (${r.freeNodes ?? 'unknown'} vs ${other.freeNodes ?? 'unknown'})`;
    return `tied with ${other.system}`;
  };
  const withRank: RankedSystem[] = ranked.map(({ freeNodes: _f, ...r }, i) => {
    const c = ranked[i]!;
    const next = ranked[i + 1];
    const extra =
      i === 0 ? (next ? `first: ${why(c, next)}` : 'the only eligible system') : why(c, ranked[0]!);
    return {
      ...r,
      rank: i + 1,
      reasons: [`expected first result in ${fmt(r.expectedFirstResultS)}; ${extra}`, ...r.reasons],
    };
  });
  return {
    request,
    at: options.now,
    recommended: withRank[0]?.system ?? null,
    ranked: withRank,
    excluded,
  };
}
