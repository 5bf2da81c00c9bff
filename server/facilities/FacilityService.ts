import { EventEmitter } from 'node:events';
import type { Db } from '../db/openDatabase';
import { isStore, openStore, type Store } from '../db/openStore';
import {
  DEFAULT_RECON_JOB,
  type EstimateRequest,
  type FacilityHistoryPoint,
  type FacilityIncident,
  type Recommendation,
  type SiteDecision,
  type SiteDecisionRequest,
  type SystemSnapshot,
  type WaitEstimate,
} from '@/lib/protocol';
import type {
  FacilityAdapter,
  JobState,
  JobSubmission,
  StartedJob,
} from './adapters/FacilityAdapter';
import { SourceError } from './adapters/fetchJson';
import { DEFAULT_PROVIDES, sourceLabel, type ConfiguredSource } from './facilityAdapters';
import { FacilityPoller } from './FacilityPoller';
import { FacilityStore } from './FacilityStore';
import type { RecommendOptions } from './recommend';
import { SiteDecisions } from './SiteDecisions';
import type { JobProfile } from './sites/SitesConfig';
import { SnapshotHistory } from './SnapshotHistory';
import { WaitHistory } from './WaitHistory';

export type { StartedJob } from './adapters/FacilityAdapter';

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

/** 8 nodes for one hour: the default beamline reconstruction job. */
const DEFAULT_JOB = DEFAULT_RECON_JOB;

/**
 * Polls the facility adapters, merges their readings into one snapshot per system, keeps history
 * and observed waits in SQLite, estimates waits and recommends a site. Never throws out of a poll.
 * The parts: FacilityPoller (sources and snapshots), WaitHistory (observed waits, estimates),
 * SnapshotHistory (history rows), SiteDecisions (recommendation, staff's decisions).
 */
export class FacilityService extends EventEmitter<FacilityServiceEvents> {
  /** The store, once open and the observed waits loaded from it. */
  private readonly ready: Promise<FacilityStore>;
  /**
   * Writes of history and observed waits, in order, behind the poll (never awaited by it): a slow
   * or restarting database delays the history, not the snapshots.
   */
  private writes: Promise<void> = Promise.resolve();
  private readonly clock: () => number;
  private readonly jobProfiles: ReadonlyMap<string, JobProfile>;
  private readonly poller: FacilityPoller;
  private readonly waits: WaitHistory;
  private readonly snapshotHistory: SnapshotHistory;
  private readonly siteDecisions: SiteDecisions;
  private running = false;

  constructor(options: FacilityServiceOptions) {
    super();
    // The gateway forwards updates; a failing listener must not take the poller down with it.
    this.on('error', () => {});
    this.clock = options.now ?? Date.now;
    const intervalMs = options.intervalMs ?? 15_000;
    const defaultJob = options.defaultJob ?? DEFAULT_JOB;
    const waitWindow = options.waitWindow ?? 2000;
    this.jobProfiles = options.jobProfiles ?? new Map();
    const write = this.write.bind(this);
    this.poller = new FacilityPoller({
      sources: [
        ...(options.sources ?? []),
        ...(options.adapters ?? []).map((adapter): ConfiguredSource => ({
          adapter,
          label: sourceLabel(adapter.systems[0]?.facility ?? 'NERSC', adapter.source),
          provides: DEFAULT_PROVIDES[adapter.source],
        })),
      ],
      totalNodes: options.totalNodes ?? new Map(),
      intervalMs,
      maxBackoffMs: options.maxBackoffMs ?? intervalMs,
      pollTimeoutMs: options.pollTimeoutMs ?? 5000,
      staleAfterIntervals: options.staleAfterIntervals ?? 4,
      clockRate: options.clockRate ?? 1,
      now: this.clock,
      hooks: {
        readings: (readings, now) => {
          for (const r of readings) this.waits.learn(r, now);
        },
        snapshot: (snapshot) => this.snapshotHistory.record(snapshot),
        update: (systems) => this.emit('update', systems),
        poll: (poll) => this.emit('poll', poll),
        error: (error) => this.emit('error', error),
      },
    });
    this.waits = new WaitHistory({ live: this.poller, waitWindow, now: this.clock, write });
    this.snapshotHistory = new SnapshotHistory({
      everyMs: options.historyEveryMs ?? 60_000,
      estimate: (system) => this.waits.estimate(system, defaultJob),
      write,
    });
    const db = options.db;
    this.ready = (isStore(db) ? Promise.resolve(db) : openStore({ sqlite: db })).then(
      async (store) => {
        const facilityStore = new FacilityStore(store.db);
        this.waits.load(await facilityStore.recentWaits(waitWindow));
        return facilityStore;
      },
    );
    // Awaited by every use; a store that cannot be opened is reported there, not as unhandled.
    this.ready.catch(() => {});
    this.siteDecisions = new SiteDecisions({
      store: this.ready,
      jobProfiles: this.jobProfiles,
      recommend: options.recommend,
      now: this.clock,
    });
  }

  /** Starts polling every source now and then on its own schedule. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // The first polls wait for the observed waits, so estimates never start from an empty history.
    this.ready.then(
      () => {
        if (this.running) this.poller.start();
      },
      (error: unknown) =>
        this.emit('error', error instanceof Error ? error : new Error(String(error))),
    );
  }

  stop(): void {
    this.running = false;
    this.poller.stop();
  }

  /** Polls every source once, now (tests and the first paint). */
  async pollOnce(): Promise<SystemSnapshot[]> {
    await this.ready;
    await this.poller.pollAll();
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
    return this.clock();
  }

  snapshots(): SystemSnapshot[] {
    return this.poller.snapshots();
  }

  /** Incidents and planned windows the IRI sources report. */
  incidents(): FacilityIncident[] {
    return this.poller.incidents();
  }

  /** History of one system between `from` and `to` (epoch ms), oldest first. */
  async history(system: string, from: number, to: number): Promise<FacilityHistoryPoint[]> {
    await this.flushed();
    return (await this.ready).history(system, from, to);
  }

  knows(system: string): boolean {
    return this.poller.snapshot(system) !== undefined;
  }

  /** Wait estimates for one job shape on every system (or those requested). */
  estimate(
    request: Pick<EstimateRequest, 'nodes' | 'walltime' | 'queue' | 'systems'>,
  ): WaitEstimate[] {
    const systems = request.systems ?? this.poller.systems();
    return systems.filter((s) => this.knows(s)).map((s) => this.waits.estimate(s, request));
  }

  recommend(request: EstimateRequest): Recommendation {
    const estimates = new Map(this.estimate(request).map((e) => [e.system, e]));
    return this.siteDecisions.recommend(request, this.snapshots(), estimates);
  }

  /** Records staff's choice of site for the next job. */
  recordDecision(
    who: { subject: string; role: SiteDecision['role'] },
    body: SiteDecisionRequest,
  ): Promise<SiteDecision> {
    return this.siteDecisions.record(who, body);
  }

  /** Staff's latest site decision, if made within `maxAgeMs` (wall-clock). */
  latestDecision(maxAgeMs: number): Promise<SiteDecision | null> {
    return this.siteDecisions.latest(maxAgeMs);
  }

  decisions(limit = 100): Promise<SiteDecision[]> {
    return this.siteDecisions.list(limit);
  }

  /** The system's job profile from the sites file (defaults when the file gives none). */
  jobProfile(system: string): JobProfile | undefined {
    return this.jobProfiles.get(system);
  }

  /** Submits a job through the first source of the system that runs jobs (IRI, Slurm). */
  async submitJob(system: string, job: JobSubmission): Promise<JobState> {
    const jobs = this.poller.jobsFor(system);
    const features = this.waits.featuresFor(system, { nodes: job.nodes, walltime: job.walltimeS });
    const state = await jobs.submitJob(system, job);
    this.waits.rememberQueued(system, state.id, features);
    return state;
  }

  async jobStatus(system: string, jobId: string): Promise<JobState> {
    return this.poller.jobsFor(system).jobStatus(system, jobId);
  }

  /** Cancels a job Loupe submitted, where the job API can. */
  async cancelJob(system: string, jobId: string): Promise<void> {
    const jobs = this.poller.jobsFor(system);
    if (!jobs.cancelJob) throw new SourceError(`the job API of ${system} cannot cancel jobs`);
    await jobs.cancelJob(system, jobId);
  }

  /**
   * Records an observed wait (submit → start, epoch s) that no poll saw, e.g. a job Loupe submitted
   * whose start the facility reported. Ignored if already known.
   */
  recordWait(system: string, job: StartedJob): void {
    this.waits.record(system, job);
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
}
