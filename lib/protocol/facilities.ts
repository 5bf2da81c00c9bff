import { z } from 'zod';

/**
 * Facility shapes shared by the gateway's pollers, REST routes and the browser. Times are epoch
 * milliseconds (UTC) unless a field says otherwise; durations are seconds.
 */

/** The facility that operates a system; APS is the light source's own (the beamline cluster). */
export const FacilityId = z.enum(['NERSC', 'ALCF', 'OLCF', 'APS']);
export type FacilityId = z.infer<typeof FacilityId>;

/** Our own short system id, lower case (`perlmutter`, `polaris`, `aurora`, `frontier`, …). */
export const SystemId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'a system id is lower-case letters, digits and dashes');
export type SystemId = z.infer<typeof SystemId>;

/**
 * Normalised availability. `maintenance` is derived (no facility API reports it): the system is
 * down or unavailable while a planned window covers now. `unknown` means we could not read it.
 */
export const SystemStatus = z.enum(['up', 'degraded', 'down', 'maintenance', 'unknown']);
export type SystemStatus = z.infer<typeof SystemStatus>;

/** Which kind of API a reading came from. */
export const FacilitySource = z.enum(['nersc-sfapi', 'iri', 'alcf-activity', 'olcf-s3m', 'slurm']);
export type FacilitySource = z.infer<typeof FacilitySource>;

/** A planned maintenance window or reservation: [start, end) in epoch ms. */
export const PlannedWindow = z.object({
  start: z.number().int(),
  /** Null when the facility gave no end. */
  end: z.number().int().nullable(),
  description: z.string(),
});
export type PlannedWindow = z.infer<typeof PlannedWindow>;

/**
 * Queue depth at read time. Each field is null when the source does not publish it (IRI and S3M
 * define no queue depth).
 */
export const QueueDepth = z.object({
  /** Jobs running now. */
  running: z.number().int().nonnegative().nullable(),
  /** Jobs waiting to start. */
  queued: z.number().int().nonnegative().nullable(),
  /** Sum over queued jobs of nodes × requested walltime, in node-hours. */
  queuedNodeHours: z.number().nonnegative().nullable(),
  /** Nodes not allocated to any job. */
  freeNodes: z.number().int().nonnegative().nullable(),
  /** Nodes in the system's compute partition. */
  totalNodes: z.number().int().positive().nullable(),
});
export type QueueDepth = z.infer<typeof QueueDepth>;

/** Where one figure of a card came from, and how fresh it is. */
export const FigureOrigin = z.object({
  /** The source's name, e.g. "NERSC SF API", "ALCF IRI v1". */
  source: z.string(),
  kind: FacilitySource,
  /** When that source last answered usably (epoch ms), null when never. */
  at: z.number().int().nullable(),
  /** True when the value is not from a fresh reading of that source. */
  stale: z.boolean(),
  /** Why, e.g. "HTTP 404", "feed not updated for 6 min"; null when fresh. */
  reason: z.string().nullable(),
});
export type FigureOrigin = z.infer<typeof FigureOrigin>;

/** The origin of each figure on a system's card; null when no source provides it. */
export const FigureOrigins = z.object({
  status: FigureOrigin.nullable(),
  windows: FigureOrigin.nullable(),
  queue: FigureOrigin.nullable(),
  nodes: FigureOrigin.nullable(),
});
export type FigureOrigins = z.infer<typeof FigureOrigins>;

/** One system as Loupe sees it after normalising whatever its facility publishes. Sent by the gateway. */
export const SystemSnapshot = z.object({
  system: SystemId,
  /** Human name, e.g. "Perlmutter". */
  name: z.string(),
  facility: FacilityId,
  source: FacilitySource,
  status: SystemStatus,
  /** When the current status began (epoch ms), or null when the source does not say. */
  since: z.number().int().nullable(),
  /** The next (or current) planned window, or null when none is announced. */
  nextWindow: PlannedWindow.nullable(),
  queue: QueueDepth,
  /** When the gateway last read this system successfully or not (epoch ms). */
  readAt: z.number().int(),
  /** True when the values are not a fresh, valid reading (the source failed or answered garbage). */
  stale: z.boolean(),
  /** Why the reading is stale or unknown, e.g. "HTTP 503", "invalid JSON"; null when fresh. */
  staleReason: z.string().nullable(),
  /**
   * Per source, in words: "status from NERSC SF API 20 s ago; NERSC IRI v2 failing: HTTP 404".
   * Optional so that an older gateway's snapshots still parse.
   */
  freshness: z.string().optional(),
  /** Which source gave each figure and when. */
  origins: FigureOrigins.optional(),
  /** Entries the sources answered malformed and that were left out, e.g. "outage 2: end_at not a date". */
  dropped: z.array(z.string()).max(50).optional(),
});
export type SystemSnapshot = z.infer<typeof SystemSnapshot>;

/** Incident kinds as IRI names them. */
export const IncidentKind = z.enum(['planned', 'unplanned', 'reservation']);
export type IncidentKind = z.infer<typeof IncidentKind>;

/** An incident or planned window that affects one system. */
export const FacilityIncident = z.object({
  id: z.string(),
  system: SystemId,
  kind: IncidentKind,
  /** Status of the system during the incident. */
  status: z.enum(['up', 'degraded', 'down', 'unknown']),
  /** Start and end in epoch ms; end null when open. */
  start: z.number().int(),
  end: z.number().int().nullable(),
  description: z.string(),
  resolution: z.enum(['unresolved', 'cancelled', 'completed', 'extended', 'pending']),
});
export type FacilityIncident = z.infer<typeof FacilityIncident>;

/** A job shape to estimate or place. Sent by browsers to `POST /api/estimate`. */
export const EstimateRequest = z
  .object({
    /** Compute nodes requested, 1–10 000. */
    nodes: z.number().int().min(1).max(10_000),
    /** Requested walltime in seconds, 1 min – 7 days. */
    walltime: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600),
    /** Queue or partition name; the system's default when omitted. */
    queue: z.string().min(1).max(64).optional(),
    /** Bytes to move to the site before the job can start; 0 when the data is already there. */
    dataBytes: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 53 - 1)
      .default(0),
    /** Restrict to these systems; all known systems when omitted. */
    systems: z.array(SystemId).max(32).optional(),
  })
  .strict();
export type EstimateRequest = z.infer<typeof EstimateRequest>;

/** How a wait estimate was made. */
export const EstimateMethod = z.enum([
  /** Nearest recent jobs in (size, walltime, backlog) space, QBETS binomial bound. */
  'knn-qbets',
  /** Too few observations on this system: derived from the backlog of node-hours alone. */
  'backlog',
  /** Nothing to go on. */
  'none',
]);
export type EstimateMethod = z.infer<typeof EstimateMethod>;

/**
 * How good the system's wait estimates have been: Loupe's recent observed waits (submit → start),
 * each predicted again from what was known before its submission. Shares are null when fewer
 * than the minimum were scored (or bounded).
 */
export const WaitAccuracy = z.object({
  /** Observed waits scored. */
  scored: z.number().int().nonnegative(),
  /** Share of them whose real wait was within 2× of the estimate, 0–1. */
  within2: z.number().min(0).max(1).nullable(),
  /** Share of bounded ones whose real wait exceeded the 95% bound, 0–1. */
  boundExceeded: z.number().min(0).max(1).nullable(),
});
export type WaitAccuracy = z.infer<typeof WaitAccuracy>;

/** Predicted queue wait for one job shape on one system. */
export const WaitEstimate = z.object({
  system: SystemId,
  /** Median predicted wait, seconds. */
  median: z.number().nonnegative(),
  /** Upper bound on the wait that should hold 95% of the time, seconds. */
  bound95: z.number().nonnegative(),
  /** Observed waits behind the estimate. */
  observations: z.number().int().nonnegative(),
  method: EstimateMethod,
  /**
   * True when too few observations bound the wait (under 59, the binomial method bounds nothing)
   * and `bound95` is a placeholder (ten times the median, at least a day), not a measured bound.
   */
  placeholderBound: z.boolean().optional(),
  /** Recent accuracy on this system, when Loupe has observed waits there. */
  accuracy: WaitAccuracy.optional(),
});
export type WaitEstimate = z.infer<typeof WaitEstimate>;

/** One ranked candidate: expected time to first result = transfer + wait + start-up, seconds. */
export const RankedSystem = z.object({
  system: SystemId,
  rank: z.number().int().positive(),
  /** transferS + wait.median + startupS, seconds. */
  expectedFirstResultS: z.number().nonnegative(),
  /** Time to move the data to the site, seconds. */
  transferS: z.number().nonnegative(),
  /** Time from job start to its first reconstructed slice, seconds. */
  startupS: z.number().nonnegative(),
  wait: WaitEstimate,
  /** Why it is ranked where it is, in plain words. */
  reasons: z.array(z.string()),
});
export type RankedSystem = z.infer<typeof RankedSystem>;

/** A system left out of the ranking, and why. */
export const ExcludedSystem = z.object({
  system: SystemId,
  reasons: z.array(z.string()).min(1),
});
export type ExcludedSystem = z.infer<typeof ExcludedSystem>;

/** Answer to `POST /api/estimate`. `recommended` is the first ranked system, or null. */
export const Recommendation = z.object({
  request: EstimateRequest,
  /** When it was computed (epoch ms). */
  at: z.number().int(),
  recommended: SystemId.nullable(),
  ranked: z.array(RankedSystem),
  excluded: z.array(ExcludedSystem),
});
export type Recommendation = z.infer<typeof Recommendation>;

/** Body of `POST /api/facilities/decisions`: staff accept the recommendation or override it. */
export const SiteDecisionRequest = z
  .object({
    /** The system chosen for the next job. */
    system: SystemId,
    /** What Loupe recommended at the time, or null when it had no recommendation. */
    recommended: SystemId.nullable(),
    /** Why staff overrode the recommendation (free text, optional). */
    note: z.string().max(500).optional(),
    /** The job shape the decision was made for (the estimate just shown); resubmit uses it. */
    job: z
      .object({
        nodes: z.number().int().min(1).max(10_000),
        /** Walltime, seconds. */
        walltime: z
          .number()
          .int()
          .min(60)
          .max(7 * 24 * 3600),
      })
      .strict()
      .optional(),
  })
  .strict();
export type SiteDecisionRequest = z.infer<typeof SiteDecisionRequest>;

/** A recorded site decision. Only staff make them; `override` is true when system ≠ recommended. */
export const SiteDecision = z.object({
  id: z.number().int(),
  /** Subject of the staff member. */
  who: z.string(),
  role: z.enum(['viewer', 'scientist', 'staff', 'producer']),
  system: SystemId,
  recommended: SystemId.nullable(),
  override: z.boolean(),
  note: z.string().nullable(),
  /** The job shape it was made for, when the estimate gave one. */
  job: z.object({ nodes: z.number().int(), walltime: z.number().int() }).nullable().optional(),
  /** When it was made (epoch ms, wall-clock time: never a simulator's clock). */
  at: z.number().int(),
});
export type SiteDecision = z.infer<typeof SiteDecision>;

/** One point of a system's history, for the 24 h charts. */
export const FacilityHistoryPoint = z.object({
  at: z.number().int(),
  status: SystemStatus,
  stale: z.boolean(),
  queued: z.number().int().nullable(),
  running: z.number().int().nullable(),
  queuedNodeHours: z.number().nullable(),
  freeNodes: z.number().int().nullable(),
  /** Median wait estimate for the default reconstruction job at that time, seconds. */
  waitMedianS: z.number().nullable(),
  /** 95% bound of that estimate, seconds. */
  waitBound95S: z.number().nullable(),
});
export type FacilityHistoryPoint = z.infer<typeof FacilityHistoryPoint>;

/**
 * The job whose wait the cards and history show: a typical beamline reconstruction, 8 nodes for
 * one hour (walltime in seconds).
 */
export const DEFAULT_RECON_JOB = { nodes: 8, walltime: 3600 } as const;
