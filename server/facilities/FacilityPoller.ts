import type { FacilityIncident, SystemSnapshot } from '@/lib/protocol';
import type { FacilityAdapter, JobSubmitter, SystemReading } from './adapters/FacilityAdapter';
import { SourceError } from './adapters/fetchJson';
import type { ConfiguredSource } from './facilityAdapters';
import { mergeSnapshot, type SourceView } from './mergeSnapshot';

/** What the poller tells its owner; none of these may throw into a poll but `update`. */
export interface PollerHooks {
  /** A source answered: its readings, read at `now` (inside the poll: a throw fails the poll). */
  readings(readings: readonly SystemReading[], now: number): void;
  /** One system's snapshot after a poll, whether or not it changed. */
  snapshot(snapshot: SystemSnapshot): void;
  /** Every system's snapshot, after a poll that changed something; a throw goes to `error`. */
  update(systems: SystemSnapshot[]): void;
  /** One poll of one source ended: how long it took (real seconds) and whether it answered. */
  poll(poll: { source: string; seconds: number; ok: boolean }): void;
  error(error: Error): void;
}

export interface FacilityPollerOptions {
  sources: readonly ConfiguredSource[];
  /** Configured node counts, used where no source publishes one. */
  totalNodes: ReadonlyMap<string, number>;
  /** Poll period per source when it answers (real ms). */
  intervalMs: number;
  /** Longest pause between attempts on a failing source (real ms). */
  maxBackoffMs: number;
  /** A poll of one source is abandoned after this long (real ms). */
  pollTimeoutMs: number;
  /** A feed whose own timestamp is older than this many poll intervals is stale. */
  staleAfterIntervals: number;
  /** Milliseconds of `now()` per real millisecond. */
  clockRate: number;
  now: () => number;
  hooks: PollerHooks;
}

interface SourceState extends SourceView {
  adapter: FacilityAdapter;
  readings: Map<string, SystemReading>;
  failures: number;
  timer: NodeJS.Timeout | null;
  authError: boolean;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Polls each facility source on its own schedule (backing off while it fails, never past one
 * deadline per poll) and keeps one merged snapshot per system from their last good readings.
 */
export class FacilityPoller {
  private readonly sources: SourceState[];
  private readonly latest = new Map<string, SystemSnapshot>();
  /** The status each system was last seen in, and since when (epoch ms, service clock). */
  private readonly since = new Map<string, { status: string; at: number }>();
  private running = false;

  constructor(private readonly o: FacilityPollerOptions) {
    this.sources = o.sources.map(({ adapter, label, provides }) => ({
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
    for (const s of this.sources)
      for (const sys of s.adapter.systems) this.latest.set(sys.system, this.merge(sys.system));
  }

  /** Polls every source not yet scheduled now, then on its own schedule. */
  start(): void {
    this.running = true;
    for (const s of this.sources) if (!s.timer) this.schedule(s, 0);
  }

  stop(): void {
    this.running = false;
    for (const s of this.sources) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
    }
  }

  /** Polls every source once, now, and publishes the snapshots. */
  async pollAll(): Promise<void> {
    await Promise.all(this.sources.map((s) => this.poll(s)));
    this.publish();
  }

  snapshots(): SystemSnapshot[] {
    return [...this.latest.values()].sort((a, b) => a.system.localeCompare(b.system));
  }

  snapshot(system: string): SystemSnapshot | undefined {
    return this.latest.get(system);
  }

  systems(): string[] {
    return [...this.latest.keys()];
  }

  /** Each answering source's last reading of `system`, in order of precedence. */
  freshReadings(system: string): SystemReading[] {
    return this.sources.flatMap((s) => {
      const r = s.error === null ? s.readings.get(system) : undefined;
      return r ? [r] : [];
    });
  }

  /** Incidents and planned windows the IRI sources report. */
  incidents(): FacilityIncident[] {
    return this.sources.flatMap((s) => [...s.readings.values()].flatMap((r) => r.incidents ?? []));
  }

  /** The job API of the first source of `system` that runs jobs (IRI, Slurm). */
  jobsFor(system: string): JobSubmitter {
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
      this.o.hooks.readings(readings, now);
    } catch (error) {
      s.failures++;
      s.error = error instanceof SourceError ? error.message : `adapter failed: ${String(error)}`;
      s.authError = error instanceof SourceError && error.auth;
      // Expired credentials: what we knew is no longer ours to show.
      if (s.authError) s.readings.clear();
      if (!(error instanceof SourceError)) this.o.hooks.error(asError(error));
    }
    s.readAt = now;
    this.o.hooks.poll({
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
      this.o.hooks.snapshot(next);
    }
    if (changed) {
      try {
        this.o.hooks.update(this.snapshots());
      } catch (error) {
        this.o.hooks.error(asError(error));
      }
    }
  }

  private merge(system: string): SystemSnapshot {
    const now = this.o.now();
    return mergeSnapshot(
      system,
      this.sources.filter((s) => s.adapter.systems.some((x) => x.system === system)),
      {
        now,
        // The interval is real time; the feed's timestamp and `now` are on the service's clock.
        maxFeedAgeMs: this.o.intervalMs * this.o.staleAfterIntervals * this.o.clockRate,
        configuredNodes: this.o.totalNodes.get(system) ?? null,
        seenSince: (status) => {
          const seen = this.since.get(system);
          if (!seen || seen.status !== status) this.since.set(system, { status, at: now });
          return this.since.get(system)!.at;
        },
      },
    );
  }
}
