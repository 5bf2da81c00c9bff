import type { QueueState } from '../queueFeatures';

/** Order in which the simulated scheduler considers queued jobs. */
export type QueueOrder = 'fcfs' | 'wfp';

export interface EasyOptions {
  /** Predicted runtime (s) of a job with this requested walltime (s). */
  runtimeOf: (walltimeS: number) => number;
  /**
   * `fcfs`: by submission. `wfp`: Cobalt's default utility on ALCF systems, (waited / walltime)³ ×
   * nodes, evaluated at the prediction instant (large, long-waiting jobs first).
   */
  order?: QueueOrder;
  /** Simulated events before giving up (the job then starts when the last running job ends). */
  maxEvents?: number;
}

interface Sim {
  nodes: number;
  runS: number;
  walltimeS: number;
  submit: number;
  isNew: boolean;
}

/** A job that has outlived its predicted runtime is expected to end halfway to its request. */
function remainingOf(now: number, start: number, walltimeS: number, predictedS: number): number {
  const predictedEnd = start + predictedS;
  if (predictedEnd > now) return predictedEnd - now;
  return Math.max(60, (start + walltimeS - now) / 2);
}

/**
 * EASY backfill, simulated forward from `state` with predicted runtimes: the head of the queue gets
 * a reservation at the earliest instant enough nodes are free; any later job may jump ahead if it
 * fits now and ends (by its predicted runtime) before that reservation or uses only nodes the
 * reservation leaves spare. Jobs not yet submitted are unknown and ignored. Returns the predicted
 * wait (s) of `job`, queued last.
 */
export function simulateEasyWait(
  state: QueueState,
  job: { nodes: number; walltimeS: number },
  options: EasyOptions,
): number {
  const { now, totalNodes } = state;
  const maxEvents = options.maxEvents ?? 5000;
  /** Running jobs as [end time, nodes], kept sorted by end. */
  const ends: { at: number; nodes: number }[] = state.running.map((r) => ({
    at: now + remainingOf(now, r.start, r.walltimeS, options.runtimeOf(r.walltimeS)),
    nodes: Math.min(r.nodes, totalNodes),
  }));
  let free = totalNodes - ends.reduce((s, e) => s + e.nodes, 0);
  const queue: Sim[] = state.queued.map((q) => ({
    nodes: Math.min(q.nodes, totalNodes),
    runS: Math.max(options.runtimeOf(q.walltimeS), 60),
    walltimeS: q.walltimeS,
    submit: q.submit,
    isNew: false,
  }));
  if ((options.order ?? 'fcfs') === 'wfp') {
    const score = (q: Sim) => (Math.max(now - q.submit, 1) / q.walltimeS) ** 3 * q.nodes;
    queue.sort((a, b) => score(b) - score(a));
  }
  queue.push({
    nodes: Math.min(job.nodes, totalNodes),
    runS: Math.max(options.runtimeOf(job.walltimeS), 60),
    walltimeS: job.walltimeS,
    submit: now,
    isNew: true,
  });
  ends.sort((a, b) => a.at - b.at);
  const insertEnd = (at: number, nodes: number) => {
    let i = ends.length;
    while (i > 0 && ends[i - 1]!.at > at) i--;
    ends.splice(i, 0, { at, nodes });
  };

  let t = now;
  for (let events = 0; events < maxEvents; events++) {
    // Start the head of the queue while it fits.
    while (queue.length > 0 && queue[0]!.nodes <= free) {
      const head = queue.shift()!;
      if (head.isNew) return t - now;
      free -= head.nodes;
      insertEnd(t + head.runS, head.nodes);
    }
    if (queue.length === 0) return t - now;
    // Reservation for the head: when enough running jobs will have ended.
    const need = queue[0]!.nodes;
    let avail = free;
    let shadow = Infinity;
    for (const e of ends) {
      avail += e.nodes;
      if (avail >= need) {
        shadow = e.at;
        break;
      }
    }
    let extra = avail - need;
    // Backfill: later jobs that fit now and do not delay the head.
    for (let i = 1; i < queue.length && free > 0; i++) {
      const q = queue[i]!;
      if (q.nodes > free) continue;
      const endsBefore = t + q.runS <= shadow;
      if (!endsBefore && q.nodes > extra) continue;
      if (q.isNew) return t - now;
      queue.splice(i--, 1);
      free -= q.nodes;
      if (!endsBefore) extra -= q.nodes;
      insertEnd(t + q.runS, q.nodes);
    }
    // Advance to the next end.
    const next = ends.shift();
    if (!next) return t - now;
    t = Math.max(t, next.at);
    free += next.nodes;
    while (ends.length > 0 && ends[0]!.at <= t) free += ends.shift()!.nodes;
  }
  return t - now;
}
