import type { EstimateRequest, QueueDepth, WaitAccuracy, WaitEstimate } from '@/lib/protocol';
import type { StartedJob, SystemReading } from './adapters/FacilityAdapter';
import { estimateWait, type CensoredObservation, type WaitObservation } from './estimateWait';
import type { FacilityStore, StoredWait } from './FacilityStore';
import { aggregateFeatures, queueFeatures, type WaitFeatures } from './queueFeatures';
import { waitAccuracy } from './waitAccuracy';

/** The queues as the sources show them now. */
export interface LiveQueues {
  /** Each answering source's last reading of `system`, in order of precedence. */
  freshReadings(system: string): SystemReading[];
  /** The merged snapshot of `system`, if it is known. */
  snapshot(system: string): { queue: QueueDepth } | undefined;
}

export interface WaitHistoryOptions {
  live: LiveQueues;
  /** Observed waits kept in memory per system. */
  waitWindow: number;
  now: () => number;
  /** Queues one write of the store behind the others (never throws). */
  write(fn: (store: FacilityStore) => Promise<unknown>): void;
}

/** A queued job whose features we no longer see for a week has left the queue some other way. */
const SEEN_TTL_MS = 7 * 86_400_000;

/** The features of a job whose queue we never saw: only its shape is known. */
function shapeOnly(job: { nodes: number; walltimeS: number }): WaitFeatures {
  return aggregateFeatures({ queued: null, queuedNodeHours: null, freeNodes: null }, job);
}

/**
 * Observed waits per system (submit → start, with the queue each job met) and the estimates made
 * from them: queued jobs' features are remembered at first sight, a job seen running becomes an
 * observed wait, stored and kept in a window of the newest.
 */
export class WaitHistory {
  private readonly waits = new Map<string, WaitObservation[]>();
  /** Recent accuracy per system, recomputed when a new wait is observed. */
  private readonly accuracy = new Map<string, WaitAccuracy>();
  private readonly seenQueued = new Map<
    string,
    Map<string, { features: WaitFeatures; at: number }>
  >();
  private readonly seenStarted = new Map<string, Set<string>>();

  constructor(private readonly o: WaitHistoryOptions) {}

  /** Takes up the waits stored before (oldest first). */
  load(rows: readonly StoredWait[]): void {
    for (const r of rows) {
      const list = this.waits.get(r.system) ?? [];
      list.push({
        startedAt: r.startS,
        waitS: r.waitS,
        features: r.features,
        queue: r.queue,
      });
      this.waits.set(r.system, list);
      this.started(r.system).add(r.jobId);
    }
  }

  /** Remembers queued jobs' features at first sight; a job seen running becomes an observed wait. */
  learn(r: SystemReading, now: number): void {
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
      // A job first seen already running: only its shape is known, not the queue it met.
      this.storeWait(
        r.system,
        j,
        this.seenQueued.get(r.system)?.get(j.id)?.features ?? shapeOnly(j),
      );
    }
    const seen = this.seenQueued.get(r.system);
    if (seen) for (const [id, v] of seen) if (now - v.at > SEEN_TTL_MS) seen.delete(id);
  }

  /** Remembers the queue a job met when it was queued (e.g. one Loupe just submitted). */
  rememberQueued(system: string, id: string, features: WaitFeatures): void {
    let m = this.seenQueued.get(system);
    if (!m) this.seenQueued.set(system, (m = new Map()));
    m.set(id, { features, at: this.o.now() });
  }

  /** Records an observed wait that no poll saw. Ignored if already known. */
  record(system: string, job: StartedJob): void {
    this.storeWait(
      system,
      job,
      this.seenQueued.get(system)?.get(job.id)?.features ?? shapeOnly(job),
    );
  }

  /** What a job of this shape would meet in the queue of `system` now. */
  featuresFor(system: string, job: { nodes: number; walltime: number }): WaitFeatures {
    const shape = { nodes: job.nodes, walltimeS: job.walltime };
    const r = this.o.live.freshReadings(system).find((x) => x.queueState);
    if (r?.queueState) return queueFeatures({ ...r.queueState, now: this.o.now() / 1000 }, shape);
    const q = this.o.live.snapshot(system)?.queue;
    return aggregateFeatures(q ?? { queued: null, queuedNodeHours: null, freeNodes: null }, shape);
  }

  estimate(
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
    // The first source that lists the queued jobs lists all of them.
    const r = this.o.live.freshReadings(system).find((x) => x.queuedJobs);
    for (const q of r?.queuedJobs ?? []) {
      const f = seen?.get(q.id)?.features;
      if (f && (!queue || q.queue === queue))
        out.push({ features: f, elapsedS: Math.max(0, now - q.submit) });
    }
    return out;
  }

  private accuracyOf(system: string): WaitAccuracy {
    let a = this.accuracy.get(system);
    if (!a) this.accuracy.set(system, (a = waitAccuracy(this.waits.get(system) ?? [])));
    return a;
  }

  private started(system: string): Set<string> {
    let started = this.seenStarted.get(system);
    if (!started) this.seenStarted.set(system, (started = new Set()));
    return started;
  }

  private storeWait(system: string, j: StartedJob, features: WaitFeatures): void {
    const started = this.started(system);
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
    this.o.write((store) => store.addWait(row));
    const list = this.waits.get(system) ?? [];
    list.push({ startedAt: j.start, waitS, features, queue: j.queue });
    list.sort((a, b) => a.startedAt - b.startedAt);
    if (list.length > this.o.waitWindow) list.splice(0, list.length - this.o.waitWindow);
    this.waits.set(system, list);
    this.accuracy.delete(system);
  }
}
