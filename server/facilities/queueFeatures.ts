import { simulateEasyWait } from './wait/easyBackfill';

/**
 * What a scheduler's queue looks like at one instant, and the features of a job shape against it
 * that the wait estimator compares. All times are epoch seconds; durations seconds.
 */

export interface RunningJob {
  nodes: number;
  /** When it started (epoch s). */
  start: number;
  /** Requested walltime (s); the job ends by start + walltime at the latest. */
  walltimeS: number;
}

export interface QueuedJob {
  nodes: number;
  /** When it was submitted (epoch s). */
  submit: number;
  walltimeS: number;
}

export interface QueueState {
  /** The instant described (epoch s). */
  now: number;
  totalNodes: number;
  running: readonly RunningJob[];
  /** Waiting jobs in the scheduler's order of priority (first = next to start). */
  queued: readonly QueuedJob[];
}

/** A job shape seen against a queue; null where the source did not publish the input. */
export interface WaitFeatures {
  nodes: number;
  walltimeS: number;
  /** Σ nodes × requested walltime over queued jobs, node-hours. */
  queuedNodeHours: number | null;
  queuedJobs: number | null;
  /** Σ nodes × requested time left over running jobs, node-hours. */
  runningNodeHoursLeft: number | null;
  freeNodes: number | null;
  /** Start predicted by placing the queue in order in a node-time profile, runtimes at 60% of request. */
  simulatedWaitS: number | null;
  /** The same with runtimes at their full request (the pessimistic schedule). */
  simulatedWaitFullS: number | null;
  /**
   * Start predicted by an EASY-backfill simulation with runtimes predicted from recently ended
   * jobs (wait/easyBackfill.ts); absent in observations stored before it existed.
   */
  easyWaitS?: number | null;
}

/**
 * Real jobs end well before their request; 0.6 is about the median runtime/request ratio in the
 * ALCF Theta 2022 trace, and it placed the queue best among the ratios tried (0.6 vs 1.0).
 */
const RUNTIME_SHARE = 0.6;
/** Nothing ends sooner than a minute from now (a job past its request is about to be killed). */
const MIN_REMAINING_S = 60;

/** Free nodes over time: free[i] nodes from times[i] until times[i+1] (the last step lasts forever). */
class Profile {
  times: number[];
  free: number[];

  constructor(now: number, totalNodes: number, ends: { at: number; nodes: number }[]) {
    ends.sort((a, b) => a.at - b.at);
    let free = totalNodes - ends.reduce((sum, e) => sum + e.nodes, 0);
    this.times = [now];
    this.free = [free];
    for (const e of ends) {
      free += e.nodes;
      const last = this.times.length - 1;
      if (this.times[last] === e.at) this.free[last] = free;
      else {
        this.times.push(e.at);
        this.free.push(free);
      }
    }
  }

  /** Earliest time at which `nodes` stay free for `duration` seconds. */
  earliest(nodes: number, duration: number): number {
    const n = this.times.length;
    let i = 0;
    while (i < n) {
      const start = this.times[i]!;
      const end = start + duration;
      let j = i;
      let fits = true;
      while (j < n && this.times[j]! < end) {
        if (this.free[j]! < nodes) {
          fits = false;
          break;
        }
        j++;
      }
      if (fits) return start;
      i = j + 1;
    }
    return this.times[n - 1]!;
  }

  private split(at: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    if (this.times[lo] !== at) {
      this.times.splice(lo, 0, at);
      this.free.splice(lo, 0, this.free[lo - 1] ?? 0);
    }
    return lo;
  }

  allocate(start: number, duration: number, nodes: number): void {
    const a = this.split(start);
    const b = this.split(start + duration);
    for (let i = a; i < b; i++) this.free[i]! -= nodes;
  }
}

/**
 * Conservative backfill: every queued job, in priority order, takes the earliest hole in the
 * node-time profile that fits it; the new job goes last. Returns its predicted wait (s).
 */
export function simulateWait(
  state: QueueState,
  job: { nodes: number; walltimeS: number },
  runtimeShare: number,
): number {
  const { now, totalNodes } = state;
  const ends = state.running.map((r) => ({
    at: Math.max(r.start + r.walltimeS * runtimeShare, now + MIN_REMAINING_S),
    nodes: r.nodes,
  }));
  const profile = new Profile(now, totalNodes, ends);
  for (const q of state.queued) {
    const nodes = Math.min(q.nodes, totalNodes);
    const duration = q.walltimeS * runtimeShare;
    profile.allocate(profile.earliest(nodes, duration), duration, nodes);
  }
  const start = profile.earliest(Math.min(job.nodes, totalNodes), job.walltimeS * runtimeShare);
  return start - now;
}

/**
 * The features of `job` against `state`, every one of them known. `runtimeOf` predicts a runtime
 * from a request for the EASY simulation (by default RUNTIME_SHARE of it; the backtest learns it
 * from the jobs that ended, wait/runtimeModel.ts).
 */
export function queueFeatures(
  state: QueueState,
  job: { nodes: number; walltimeS: number },
  runtimeOf: (walltimeS: number) => number = (w) => w * RUNTIME_SHARE,
): WaitFeatures {
  let queuedNodeSeconds = 0;
  for (const q of state.queued) queuedNodeSeconds += q.nodes * q.walltimeS;
  let runningNodeSecondsLeft = 0;
  let busy = 0;
  for (const r of state.running) {
    busy += r.nodes;
    runningNodeSecondsLeft += r.nodes * Math.max(r.start + r.walltimeS - state.now, 0);
  }
  return {
    nodes: job.nodes,
    walltimeS: job.walltimeS,
    queuedNodeHours: queuedNodeSeconds / 3600,
    queuedJobs: state.queued.length,
    runningNodeHoursLeft: runningNodeSecondsLeft / 3600,
    freeNodes: Math.max(state.totalNodes - busy, 0),
    simulatedWaitS: simulateWait(state, job, RUNTIME_SHARE),
    simulatedWaitFullS: simulateWait(state, job, 1),
    easyWaitS: simulateEasyWait(state, job, { runtimeOf }),
  };
}

/** Features from aggregate queue depth only, for sources that publish no job list. */
export function aggregateFeatures(
  queue: {
    queued: number | null;
    queuedNodeHours: number | null;
    freeNodes: number | null;
  },
  job: { nodes: number; walltimeS: number },
): WaitFeatures {
  return {
    nodes: job.nodes,
    walltimeS: job.walltimeS,
    queuedNodeHours: queue.queuedNodeHours,
    queuedJobs: queue.queued,
    runningNodeHoursLeft: null,
    freeNodes: queue.freeNodes,
    simulatedWaitS: null,
    simulatedWaitFullS: null,
    easyWaitS: null,
  };
}
