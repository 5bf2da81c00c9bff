import { EventEmitter } from 'node:events';
import type { Db } from '../db/openDatabase';
import { isStore, openStore, type Store } from '../db/openStore';
import {
  DEFAULT_RECON_JOB,
  type EstimateRequest,
  type FigureOrigin,
  type FigureOrigins,
  type FacilityHistoryPoint,
  type FacilityIncident,
  type PlannedWindow,
  type QueueDepth,
  type Recommendation,
  type SiteDecision,
  type SiteDecisionRequest,
  type SystemSnapshot,
  type WaitAccuracy,
  type WaitEstimate,
} from '@/lib/protocol';
import type {
  FacilityAdapter,
  JobState,
  JobSubmission,
  JobSubmitter,
  SystemReading,
} from './adapters/FacilityAdapter';
import { SourceError } from './adapters/fetchJson';
import { DEFAULT_PROVIDES, sourceLabel, type ConfiguredSource } from './facilityAdapters';
import type { Figure, JobProfile } from './sites/SitesConfig';
import { estimateWait, type CensoredObservation, type WaitObservation } from './estimateWait';
import { waitAccuracy } from './waitAccuracy';
import { aggregateFeatures, queueFeatures, type WaitFeatures } from './queueFeatures';
import { recommend, type RecommendOptions } from './recommend';
import { FacilityStore, type StoredWait } from './FacilityStore';

export interface FacilityServiceOptions {
  /** Sources, in order of precedence: the first fresh one that reports a status decides it. */
  adapters?: FacilityAdapter[];
  /** The same, with labels and what each is authoritative for (from the sites file). */
  sources?: ConfiguredSource[];
  /** Each system's job profile (account, queue, directories …), from the sites file. */
  jobProfiles?: ReadonlyMap<string, JobProfile>;
  /** Configured node counts, used where no source publishes one. */
  totalNodes?: ReadonlyMap<string, number>;
  /** A poll of one source is abandoned after this long (ms; RELIABILITY 8: ≤ 5 s). */
  pollTimeoutMs?: number;
  /** A feed whose own timestamp is older than this many poll intervals is stale (ALCF `updated`). */
  staleAfterIntervals?: number;
  /**
   * The gateway's store (SQLite or PostgreSQL), or, for tests and tools, an open better-sqlite3
   * handle or a SQLite path (`:memory:`) that a store is opened over.
   */
  db: Store | Db | string;
  /** Poll period per source when it answers (ms). */
  intervalMs?: number;
  /**
   * Longest pause between attempts on a failing source (ms). Defaults to the interval: a failing
   * source is still asked once per interval (never more: no storm), so its recovery shows within
   * one interval (RELIABILITY 8).
   */
  maxBackoffMs?: number;
  now?: () => number;
  /**
   * How many milliseconds of `now()` pass per real millisecond (1 for a real clock; the embedded
   * simulator runs 60× faster). Real-time periods (the poll interval) are scaled by it where they
   * are compared with times read from `now()` or from a feed, e.g. a feed's age.
   */
  clockRate?: number;
  /** The job whose wait goes into history and cards: a small reconstruction. */
  defaultJob?: { nodes: number; walltime: number };
  /** Shortest gap between two history rows of one system (ms). */
  historyEveryMs?: number;
  /** Observed waits kept in memory per system. */
  waitWindow?: number;
  recommend?: Omit<RecommendOptions, 'now'>;
}

export interface FacilityServiceEvents {
  /** Every system's snapshot, after a poll that changed something. */
  update: [systems: SystemSnapshot[]];
  /** One poll of one source ended: how long it took (real seconds) and whether it answered. */
  poll: [poll: { source: string; seconds: number; ok: boolean }];
  error: [error: Error];
}

interface SourceState {
  adapter: FacilityAdapter;
  label: string;
  provides: ReadonlySet<Figure>;
  /** When it last answered usably (epoch ms), or null. */
  okAt: number | null;
  failures: number;
  timer: NodeJS.Timeout | null;
  /** Last good reading per system. */
  readings: Map<string, SystemReading>;
  /** Why the last attempt failed, or null. */
  error: string | null;
  authError: boolean;
  readAt: number;
}

/** A job that started: its id, queue, shape and submit/start times (epoch s). */
export interface StartedJob {
  id: string;
  queue: string | null;
  nodes: number;
  walltimeS: number;
  submit: number;
  start: number;
}

const EMPTY_QUEUE: QueueDepth = {
  running: null,
  queued: null,
  queuedNodeHours: null,
  freeNodes: null,
  totalNodes: null,
};

/** "20 s", "6 min", "2.0 h": how long ago, for the freshness text. */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** 8 nodes for one hour: the default beamline reconstruction job. */
const DEFAULT_JOB = DEFAULT_RECON_JOB;
/** A queued job whose features we no longer see for a week has left the queue some other way. */
const SEEN_TTL_MS = 7 * 86_400_000;

/**
 * Polls the facility adapters, merges their readings into one snapshot per system, keeps history
 * and observed waits in SQLite, estimates waits and recommends a site. Never throws out of a poll.
 */
export class FacilityService extends EventEmitter<FacilityServiceEvents> {
  /** The store, once open and the observed waits loaded from it. */
  private readonly ready: Promise<FacilityStore>;
  /**
   * Writes of history and observed waits, in order, behind the poll (never awaited by it): a slow
   * or restarting database delays the history, not the snapshots.
   */
  private writes: Promise<void> = Promise.resolve();
  private readonly o: Required<
    Omit<
      FacilityServiceOptions,
      'db' | 'adapters' | 'sources' | 'recommend' | 'jobProfiles' | 'totalNodes'
    >
  > &
    Pick<FacilityServiceOptions, 'recommend'>;
  private readonly jobProfiles: ReadonlyMap<string, JobProfile>;
  private readonly totalNodes: ReadonlyMap<string, number>;
  private readonly sources: SourceState[];
  private latest = new Map<string, SystemSnapshot>();
  private since = new Map<string, { status: string; at: number }>();
  private waits = new Map<string, WaitObservation[]>();
  /** Recent accuracy per system, recomputed when a new wait is observed. */
  private accuracy = new Map<string, WaitAccuracy>();
  private seenQueued = new Map<string, Map<string, { features: WaitFeatures; at: number }>>();
  private seenStarted = new Map<string, Set<string>>();
  private lastHistory = new Map<string, number>();
  private running = false;

  constructor(options: FacilityServiceOptions) {
    super();
    // The gateway forwards updates; a failing listener must not take the poller down with it.
    this.on('error', () => {});
    this.o = {
      intervalMs: options.intervalMs ?? 15_000,
      maxBackoffMs: options.maxBackoffMs ?? options.intervalMs ?? 15_000,
      now: options.now ?? Date.now,
      defaultJob: options.defaultJob ?? DEFAULT_JOB,
      historyEveryMs: options.historyEveryMs ?? 60_000,
      waitWindow: options.waitWindow ?? 2000,
      staleAfterIntervals: options.staleAfterIntervals ?? 4,
      clockRate: options.clockRate ?? 1,
      pollTimeoutMs: options.pollTimeoutMs ?? 5000,
      recommend: options.recommend,
    };
    this.jobProfiles = options.jobProfiles ?? new Map();
    this.totalNodes = options.totalNodes ?? new Map();
    const configured: ConfiguredSource[] = [
      ...(options.sources ?? []),
      ...(options.adapters ?? []).map((adapter) => ({
        adapter,
        label: sourceLabel(adapter.systems[0]?.facility ?? 'NERSC', adapter.source),
        provides: DEFAULT_PROVIDES[adapter.source],
      })),
    ];
    this.sources = configured.map(({ adapter, label, provides }) => ({
      adapter,
      label,
      provides: new Set(provides),
      okAt: null,
      failures: 0,
      timer: null,
      readings: new Map(),
      error: null,
      authError: false,
      readAt: 0,
    }));
    const db = options.db;
    this.ready = (isStore(db) ? Promise.resolve(db) : openStore({ sqlite: db })).then(
      async (store) => {
        const facilityStore = new FacilityStore(store.db);
        this.loadWaits(await facilityStore.recentWaits(this.o.waitWindow));
        return facilityStore;
      },
    );
    // Awaited by every use; a store that cannot be opened is reported there, not as unhandled.
    this.ready.catch(() => {});
    for (const s of this.sources)
      for (const sys of s.adapter.systems) this.latest.set(sys.system, this.merge(sys.system));
  }

  /** Starts polling every source now and then on its own schedule. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // The first polls wait for the observed waits, so estimates never start from an empty history.
    this.ready.then(
      () => {
        if (this.running) for (const s of this.sources) if (!s.timer) this.schedule(s, 0);
      },
      (error: unknown) =>
        this.emit('error', error instanceof Error ? error : new Error(String(error))),
    );
  }

  stop(): void {
    this.running = false;
    for (const s of this.sources) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
    }
  }

  /** Polls every source once, now (tests and the first paint). */
  async pollOnce(): Promise<SystemSnapshot[]> {
    await this.ready;
    await Promise.all(this.sources.map((s) => this.poll(s)));
    this.publish();
    await this.flushed();
    return this.snapshots();
  }

  /** Resolves once the history and waits observed so far are in the store. */
  async flushed(): Promise<void> {
    await this.ready;
    await this.writes;
  }

  /** The service's clock (ms): the time its snapshots' `readAt` and `since` are on. */
  now(): number {
    return this.o.now();
  }

  snapshots(): SystemSnapshot[] {
    return [...this.latest.values()].sort((a, b) => a.system.localeCompare(b.system));
  }

  /** Incidents and planned windows the IRI sources report. */
  incidents(): FacilityIncident[] {
    return this.sources.flatMap((s) => [...s.readings.values()].flatMap((r) => r.incidents ?? []));
  }

  /** History of one system between `from` and `to` (epoch ms), oldest first. */
  async history(system: string, from: number, to: number): Promise<FacilityHistoryPoint[]> {
    await this.flushed();
    return (await this.ready).history(system, from, to);
  }

  knows(system: string): boolean {
    return this.latest.has(system);
  }

  /** Wait estimates for one job shape on every system (or those requested). */
  estimate(
    request: Pick<EstimateRequest, 'nodes' | 'walltime' | 'queue' | 'systems'>,
  ): WaitEstimate[] {
    const systems = request.systems ?? [...this.latest.keys()];
    return systems.filter((s) => this.latest.has(s)).map((s) => this.estimateOne(s, request));
  }

  recommend(request: EstimateRequest): Recommendation {
    const estimates = new Map(this.estimate(request).map((e) => [e.system, e]));
    // The sites file's job profiles say how long each system takes to start and to reach.
    const startupS: Record<string, number> = {};
    const bandwidth: Record<string, number> = {};
    for (const [system, p] of this.jobProfiles) {
      if (p.startupS !== undefined) startupS[system] = p.startupS;
      if (p.transferBytesPerS !== undefined) bandwidth[system] = p.transferBytesPerS;
    }
    return recommend(request, this.snapshots(), estimates, {
      ...this.o.recommend,
      startupS: { ...startupS, ...this.o.recommend?.startupS },
      systemBandwidthBytesPerS: { ...bandwidth, ...this.o.recommend?.systemBandwidthBytesPerS },
      now: this.o.now(),
    });
  }

  /** Records staff's choice of site for the next job. */
  async recordDecision(
    who: { subject: string; role: SiteDecision['role'] },
    body: SiteDecisionRequest,
  ): Promise<SiteDecision> {
    // Wall-clock time: the embedded simulator's clock runs fast and must not leak into the log.
    const at = Date.now();
    const override = body.recommended !== null && body.recommended !== body.system;
    const id = await (
      await this.ready
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
  async latestDecision(maxAgeMs: number): Promise<SiteDecision | null> {
    const d = (await this.decisions(1))[0];
    return d && d.role === 'staff' && Date.now() - d.at <= maxAgeMs ? d : null;
  }

  async decisions(limit = 100): Promise<SiteDecision[]> {
    return (await this.ready).decisions(limit);
  }

  /** The system's job profile from the sites file (defaults when the file gives none). */
  jobProfile(system: string): JobProfile | undefined {
    return this.jobProfiles.get(system);
  }

  /** Submits a job through the first source of the system that runs jobs (IRI, Slurm). */
  async submitJob(system: string, job: JobSubmission): Promise<JobState> {
    const jobs = this.jobsFor(system);
    const features = this.featuresFor(system, { nodes: job.nodes, walltime: job.walltimeS });
    const state = await jobs.submitJob(system, job);
    this.rememberQueued(system, state.id, features);
    return state;
  }

  async jobStatus(system: string, jobId: string): Promise<JobState> {
    return this.jobsFor(system).jobStatus(system, jobId);
  }

  /** Cancels a job Loupe submitted, where the job API can. */
  async cancelJob(system: string, jobId: string): Promise<void> {
    const jobs = this.jobsFor(system);
    if (!jobs.cancelJob) throw new SourceError(`the job API of ${system} cannot cancel jobs`);
    await jobs.cancelJob(system, jobId);
  }

  /**
   * Records an observed wait (submit → start, epoch s) that no poll saw, e.g. a job Loupe submitted
   * whose start the facility reported. Ignored if already known.
   */
  recordWait(system: string, job: StartedJob): void {
    const features =
      this.seenQueued.get(system)?.get(job.id)?.features ??
      aggregateFeatures({ queued: null, queuedNodeHours: null, freeNodes: null }, job);
    this.storeWait(system, job, features);
  }

  private jobsFor(system: string): JobSubmitter {
    const source = this.sources.find(
      (s) =>
        s.provides.has('jobs') &&
        s.adapter.jobs &&
        s.adapter.systems.some((x) => x.system === system),
    );
    if (!source?.adapter.jobs) throw new SourceError(`no job API configured for ${system}`);
    return source.adapter.jobs;
  }

  private schedule(s: SourceState, delay: number): void {
    if (!this.running) return;
    s.timer = setTimeout(() => {
      void this.poll(s).then(() => {
        this.publish();
        const backoff = Math.min(this.o.intervalMs * 2 ** s.failures, this.o.maxBackoffMs);
        this.schedule(s, s.failures ? backoff : this.o.intervalMs);
      });
    }, delay);
    s.timer.unref?.();
  }

  private async poll(s: SourceState): Promise<void> {
    const now = this.o.now();
    const started = performance.now();
    try {
      // A source that makes several requests (IRI: resources, then incidents) still ends its
      // poll within one deadline; a late answer is dropped with the poll.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SourceError(`no answer within ${this.o.pollTimeoutMs} ms`)),
          this.o.pollTimeoutMs,
        );
      });
      const read = s.adapter.read(now);
      read.catch(() => {});
      const readings = await Promise.race([read, deadline]).finally(() => clearTimeout(timer));
      s.readings = new Map(readings.map((r) => [r.system, r]));
      s.error = null;
      s.authError = false;
      s.failures = 0;
      s.okAt = now;
      for (const r of readings) this.learnWaits(r, now);
    } catch (error) {
      s.failures++;
      s.error = error instanceof SourceError ? error.message : `adapter failed: ${String(error)}`;
      s.authError = error instanceof SourceError && error.auth;
      // Expired credentials: what we knew is no longer ours to show.
      if (s.authError) s.readings.clear();
      if (!(error instanceof SourceError))
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
    s.readAt = now;
    this.emit('poll', {
      source: s.label,
      seconds: (performance.now() - started) / 1000,
      ok: s.error === null,
    });
  }

  private publish(): void {
    let changed = false;
    for (const system of this.latest.keys()) {
      const next = this.merge(system);
      const prev = this.latest.get(system)!;
      const { readAt: _a, ...a } = prev;
      const { readAt: _b, ...b } = next;
      if (JSON.stringify(a) !== JSON.stringify(b)) changed = true;
      this.latest.set(system, next);
      this.recordHistory(next);
    }
    if (changed) {
      try {
        this.emit('update', this.snapshots());
      } catch (error) {
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  /** A source's reading of `system` is usable now: it answered, and its own data is not old. */
  private freshness(s: SourceState, system: string, now: number): string | null {
    if (s.error !== null) return s.error;
    const r = s.readings.get(system);
    if (!r) return s.okAt === null ? 'not read yet' : `no ${system} in its answer`;
    // The interval is real time; the feed's timestamp and `now` are on the service's clock.
    const maxAge = this.o.intervalMs * this.o.staleAfterIntervals * this.o.clockRate;
    if (r.dataAt !== undefined && now - r.dataAt > maxAge)
      return `feed not updated for ${ago(now - r.dataAt)}`;
    return null;
  }

  /** One snapshot from every source's view of `system`, each figure from its authoritative source. */
  private merge(system: string): SystemSnapshot {
    const now = this.o.now();
    const mine = this.sources.filter((s) => s.adapter.systems.some((x) => x.system === system));
    const meta = mine[0]!.adapter.systems.find((x) => x.system === system)!;
    const why = new Map(mine.map((s) => [s, this.freshness(s, system, now)]));
    const providing = (f: Figure) => mine.filter((s) => s.provides.has(f));
    const origin = (s: SourceState | undefined, f: Figure): FigureOrigin | null => {
      const first = s ?? providing(f)[0];
      if (!first) return null;
      const reason = why.get(first) ?? null;
      return {
        source: first.label,
        kind: first.adapter.source,
        at: first.okAt,
        stale: s === undefined || reason !== null,
        reason: s === undefined && reason === null ? 'no value' : reason,
      };
    };
    // A feed's age makes its queue stale; its status is still what it says (ALCF's maint flag).
    const freshFor = (f: Figure) =>
      providing(f).filter(
        (s) => s.error === null && s.readings.has(system) && (f !== 'queue' || why.get(s) === null),
      );

    const statusSource = freshFor('status').find(
      (s) => s.readings.get(system)!.status !== undefined,
    );
    const statusReading = statusSource?.readings.get(system);
    let status: SystemSnapshot['status'] = statusReading?.status ?? 'unknown';

    const windowSources = providing('windows');
    const windows: PlannedWindow[] = [];
    for (const s of windowSources)
      for (const w of s.readings.get(system)?.windows ?? [])
        if (!windows.some((x) => Math.abs(x.start - w.start) < 60_000)) windows.push(w);
    windows.sort((a, b) => a.start - b.start);
    const covering = windows.find((w) => w.start <= now && (w.end === null || w.end > now));
    if (status === 'down' && covering) status = 'maintenance';
    const nextWindow = covering ?? windows.find((w) => w.start > now) ?? null;
    const windowSource = freshFor('windows')[0];

    const freshQueue = freshFor('queue').find((s) => s.readings.get(system)!.queue);
    const queueSource = freshQueue ?? providing('queue').find((s) => s.readings.get(system)?.queue);
    const queue: QueueDepth = { ...(queueSource?.readings.get(system)?.queue ?? EMPTY_QUEUE) };

    const nodesSource = freshFor('nodes').find(
      (s) => s.readings.get(system)!.totalNodes !== undefined,
    );
    const published = nodesSource?.readings.get(system)?.totalNodes;
    const configuredNodes = this.totalNodes.get(system) ?? null;
    const totalNodes = published ?? queue.totalNodes ?? configuredNodes;
    if (totalNodes !== null && totalNodes !== queue.totalNodes) {
      // The queue source counted busy nodes against a node count it did not know (or an old one).
      if (queue.freeNodes !== null && queue.totalNodes !== null)
        queue.freeNodes = Math.max(0, queue.freeNodes + totalNodes - queue.totalNodes);
      queue.totalNodes = totalNodes;
    }

    const origins: FigureOrigins = {
      status: origin(statusSource, 'status'),
      windows: origin(windowSource, 'windows'),
      queue: origin(freshQueue, 'queue'),
      nodes: nodesSource
        ? origin(nodesSource, 'nodes')
        : configuredNodes !== null
          ? {
              // Configured, not read: named after the file, kind of the system's first source.
              source: 'sites file',
              kind: mine[0]!.adapter.source,
              at: null,
              stale: false,
              reason: null,
            }
          : origin(undefined, 'nodes'),
    };
    if (origins.queue && !freshQueue && queueSource) origins.queue.source = queueSource.label;

    // The source's "since" when it gives one, else when we first saw this status.
    const seen = this.since.get(system);
    if (!seen || seen.status !== status) this.since.set(system, { status, at: now });
    const since = statusReading?.since ?? this.since.get(system)!.at;

    // Stale only for what a failing source provides: the status, or the queue where one is kept.
    const statusStale = statusSource === undefined;
    // A fresh answer without a queue (the SF API read without a token) is no queue, not a stale one.
    const queueStale =
      freshQueue === undefined && providing('queue').some((s) => why.get(s) !== null);
    const stale = statusStale || queueStale;
    const parts: string[] = [];
    if (statusSource)
      parts.push(`status from ${statusSource.label} ${ago(now - (statusSource.okAt ?? now))} ago`);
    if (freshQueue && freshQueue !== statusSource)
      parts.push(`queue from ${freshQueue.label} ${ago(now - (freshQueue.okAt ?? now))} ago`);
    const failing = mine
      .filter((s) => why.get(s) !== null)
      .map((s) => `${s.label} ${s.error !== null ? 'failing' : 'stale'}: ${why.get(s)}`);
    const freshness = [...parts, ...failing].join('; ');
    const reasons: string[] = [];
    if (statusStale)
      reasons.push(`status unknown since ${new Date(this.since.get(system)!.at).toISOString()}`);
    if (queueStale) reasons.push('queue not fresh');
    const dropped = [
      ...new Set(
        mine.flatMap((s) => (s.error === null ? (s.readings.get(system)?.dropped ?? []) : [])),
      ),
    ].slice(0, 50);

    return {
      system,
      name: meta.name,
      facility: meta.facility,
      source: statusSource?.adapter.source ?? mine[0]!.adapter.source,
      status,
      since: status === 'maintenance' && covering ? covering.start : since,
      nextWindow,
      queue,
      readAt: Math.max(...mine.map((s) => s.readAt), 0),
      stale,
      staleReason: stale ? [...reasons, ...failing].join('; ') || 'not read yet' : null,
      freshness,
      origins,
      ...(dropped.length && { dropped }),
    };
  }

  private featuresFor(system: string, job: { nodes: number; walltime: number }): WaitFeatures {
    const shape = { nodes: job.nodes, walltimeS: job.walltime };
    for (const s of this.sources) {
      const r = s.error === null ? s.readings.get(system) : undefined;
      if (r?.queueState) return queueFeatures({ ...r.queueState, now: this.o.now() / 1000 }, shape);
    }
    const q = this.latest.get(system)?.queue;
    return aggregateFeatures(q ?? { queued: null, queuedNodeHours: null, freeNodes: null }, shape);
  }

  private estimateOne(
    system: string,
    request: Pick<EstimateRequest, 'nodes' | 'walltime' | 'queue'>,
  ): WaitEstimate {
    let history = this.waits.get(system) ?? [];
    if (request.queue) {
      const inQueue = history.filter((h) => h.queue === request.queue);
      // A queue with too few waits of its own borrows the system's.
      if (inQueue.length >= 30) history = inQueue;
    }
    const p = estimateWait(history, this.featuresFor(system, request), {
      censored: this.stillQueued(system, request.queue),
    });
    // Under 59 neighbours the binomial method bounds nothing; JSON has no Infinity, so say
    // "ten times the median, at least a day" and let `observations` show how thin it is.
    return {
      system,
      median: p.median,
      bound95: Number.isFinite(p.bound95) ? p.bound95 : Math.max(p.median * 10, 86_400),
      observations: p.observations,
      method: p.method,
      placeholderBound: !Number.isFinite(p.bound95),
      ...(history.length ? { accuracy: this.accuracyOf(system) } : {}),
    };
  }

  /** Jobs queued now whose features we saw: censored waits (at least their time so far). */
  private stillQueued(system: string, queue: string | undefined): CensoredObservation[] {
    const now = this.o.now() / 1000;
    const seen = this.seenQueued.get(system);
    const out: CensoredObservation[] = [];
    for (const s of this.sources) {
      const r = s.error === null ? s.readings.get(system) : undefined;
      for (const q of r?.queuedJobs ?? []) {
        const f = seen?.get(q.id)?.features;
        if (f && (!queue || q.queue === queue))
          out.push({ features: f, elapsedS: Math.max(0, now - q.submit) });
      }
      if (r?.queuedJobs) break;
    }
    return out;
  }

  private accuracyOf(system: string): WaitAccuracy {
    let a = this.accuracy.get(system);
    if (!a) this.accuracy.set(system, (a = waitAccuracy(this.waits.get(system) ?? [])));
    return a;
  }

  /** Remembers queued jobs' features at first sight; a job seen running becomes an observed wait. */
  private learnWaits(r: SystemReading, now: number): void {
    if (!r.queueState) return;
    for (const q of r.queuedJobs ?? []) {
      if (!this.seenQueued.get(r.system)?.has(q.id))
        this.rememberQueued(
          r.system,
          q.id,
          queueFeatures(r.queueState, { nodes: q.nodes, walltimeS: q.walltimeS }),
        );
    }
    for (const j of r.runningJobs ?? []) {
      if (this.seenStarted.get(r.system)?.has(j.id)) continue;
      const f = this.seenQueued.get(r.system)?.get(j.id)?.features;
      // A job first seen already running: only its shape is known, not the queue it met.
      this.storeWait(
        r.system,
        j,
        f ?? aggregateFeatures({ queued: null, queuedNodeHours: null, freeNodes: null }, j),
      );
    }
    const seen = this.seenQueued.get(r.system);
    if (seen) for (const [id, v] of seen) if (now - v.at > SEEN_TTL_MS) seen.delete(id);
  }

  private rememberQueued(system: string, id: string, features: WaitFeatures): void {
    let m = this.seenQueued.get(system);
    if (!m) this.seenQueued.set(system, (m = new Map()));
    m.set(id, { features, at: this.o.now() });
  }

  private storeWait(system: string, j: StartedJob, features: WaitFeatures): void {
    let started = this.seenStarted.get(system);
    if (!started) this.seenStarted.set(system, (started = new Set()));
    if (started.has(j.id)) return;
    started.add(j.id);
    this.seenQueued.get(system)?.delete(j.id);
    const waitS = Math.max(0, j.start - j.submit);
    const row = {
      system,
      job_id: j.id,
      queue: j.queue,
      nodes: j.nodes,
      walltime_s: j.walltimeS,
      submit_s: j.submit,
      start_s: j.start,
      wait_s: waitS,
      features: JSON.stringify(features),
    };
    // Already stored (by another gateway that polled before this one held the lease) is fine.
    this.write((store) => store.addWait(row));
    const list = this.waits.get(system) ?? [];
    list.push({ startedAt: j.start, waitS, features, queue: j.queue });
    list.sort((a, b) => a.startedAt - b.startedAt);
    if (list.length > this.o.waitWindow) list.splice(0, list.length - this.o.waitWindow);
    this.waits.set(system, list);
    this.accuracy.delete(system);
  }

  /** Queues one write behind the others; a failure is reported on 'error', never thrown. */
  private write(fn: (store: FacilityStore) => Promise<unknown>): void {
    this.writes = this.writes.then(async () => {
      try {
        await fn(await this.ready);
      } catch (error) {
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private loadWaits(rows: readonly StoredWait[]): void {
    for (const r of rows) {
      const list = this.waits.get(r.system) ?? [];
      list.push({
        startedAt: r.startS,
        waitS: r.waitS,
        features: r.features,
        queue: r.queue,
      });
      this.waits.set(r.system, list);
      let started = this.seenStarted.get(r.system);
      if (!started) this.seenStarted.set(r.system, (started = new Set()));
      started.add(r.jobId);
    }
  }

  private recordHistory(s: SystemSnapshot): void {
    const last = this.lastHistory.get(s.system) ?? 0;
    if (s.readAt - last < this.o.historyEveryMs) return;
    this.lastHistory.set(s.system, s.readAt);
    const e = this.estimateOne(s.system, this.o.defaultJob);
    const row = {
      system: s.system,
      at: s.readAt,
      status: s.status,
      stale: s.stale ? 1 : 0,
      queued: s.queue.queued,
      running: s.queue.running,
      queued_node_hours: s.queue.queuedNodeHours,
      free_nodes: s.queue.freeNodes,
      wait_median_s: e.method === 'none' ? null : e.median,
      wait_bound95_s: e.method === 'none' ? null : e.bound95,
      snapshot: JSON.stringify(s),
    };
    this.write((store) => store.addSnapshot(row));
  }
}
