/**
 * A seeded batch scheduler for one system: arrivals with heavy-tailed sizes and walltimes, runtimes
 * shorter than requested, ageing priority, EASY backfill, draining before planned windows, random
 * unplanned outages and degraded spells. Times are epoch seconds. The state at time T depends only
 * on the seed, the configuration and the jobs submitted from outside, never on how often anyone
 * looks: scheduling happens at event times only.
 */

export type SimJobState = 'queued' | 'running' | 'completed' | 'failed' | 'canceled';

export interface SimJob {
  id: string;
  project: string;
  queue: string;
  nodes: number;
  /** Requested walltime (s). */
  walltimeS: number;
  /** What it will really run for (s); ≤ walltimeS. */
  runtimeS: number;
  submit: number;
  start: number | null;
  end: number | null;
  state: SimJobState;
  /** Submitted through the IRI job API rather than generated. */
  external: boolean;
  name: string;
}

export interface SimWindow {
  id: string;
  kind: 'planned' | 'unplanned' | 'degraded';
  start: number;
  end: number;
  description: string;
  /** When the facility announced it (epoch s); planned windows are known ahead. */
  announced: number;
}

export interface SchedulerConfig {
  system: string;
  totalNodes: number;
  /** Offered load as a share of capacity; above ~0.9 queues grow long, as they do. */
  load: number;
  /** Largest job as a share of the machine. */
  maxJobShare: number;
  /** Queue name for a job shape (ALCF routes prod jobs by size). */
  queueFor: (nodes: number, walltimeS: number) => string;
  /** Planned windows the facility announces, as a function of the seed's random source. */
  plannedWindows: (from: number, to: number, random: () => number) => SimWindow[];
  /** Mean days between unplanned outages and between degraded spells. */
  outageEveryDays: number;
  degradedEveryDays: number;
}

import { seededRandom } from '@/lib/random/seededRandom';

export { seededRandom };

/** A string's FNV-1a hash, to derive one independent stream per system from one seed. */
export function hashSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const HOUR = 3600;
const DAY = 24 * HOUR;
/** Requested walltimes users pick (h) and how often: many short, a long tail to a day. */
const WALLTIMES_H = [0.5, 1, 2, 3, 6, 12, 24];
const WALLTIME_WEIGHTS = [0.2, 0.25, 0.18, 0.14, 0.11, 0.07, 0.05];
/** Priority points per hour waited, and for using the whole machine (capability jobs first). */
const AGE_POINTS_PER_HOUR = 1;
const SIZE_POINTS = 24;
/** Share of nodes offline during a degraded spell. */
const DEGRADED_NODE_SHARE = 0.15;
/** How far ahead planned windows are generated and announced. */
const PLAN_HORIZON_S = 60 * DAY;
const PROJECTS = ['AstroSim', 'BeamRecon', 'ClimateX', 'FusionEdge', 'MatGen', 'QCDlat', 'TomoAPS'];

export interface SchedulerEvents {
  start(job: SimJob): void;
  end(job: SimJob): void;
}

export class SchedulerModel {
  readonly jobs = new Map<string, SimJob>();
  readonly queue: SimJob[] = [];
  readonly running: SimJob[] = [];
  readonly windows: SimWindow[] = [];
  now: number;
  private readonly random: () => number;
  private readonly meanNodeSeconds: number;
  private nextArrival: number;
  private nextOutage: number;
  private nextDegraded: number;
  private plannedUntil: number;
  private seq = 0;
  private finished: SimJob[] = [];

  constructor(
    readonly config: SchedulerConfig,
    seed: number,
    start: number,
    private readonly listener: SchedulerEvents = { start() {}, end() {} },
  ) {
    this.random = seededRandom(hashSeed(seed, config.system));
    this.now = start;
    this.meanNodeSeconds = this.estimateMeanNodeSeconds();
    this.plannedUntil = start;
    this.extendPlan();
    this.nextArrival = start + this.interarrival();
    this.nextOutage = start + this.exponential(config.outageEveryDays * DAY);
    this.nextDegraded = start + this.exponential(config.degradedEveryDays * DAY);
    this.warmUp();
  }

  /** Status at `now`: down inside a planned or unplanned window, degraded inside a spell. */
  status(): 'up' | 'degraded' | 'down' {
    const active = this.activeWindows();
    if (active.some((w) => w.kind !== 'degraded')) return 'down';
    return active.length ? 'degraded' : 'up';
  }

  /** Windows covering now. */
  activeWindows(): SimWindow[] {
    return this.windows.filter((w) => w.start <= this.now && this.now < w.end);
  }

  /** When the current status began (epoch s). */
  statusSince(): number {
    const active = this.activeWindows();
    if (active.length) return Math.max(...active.map((w) => w.start));
    const ended = this.windows.filter((w) => w.end <= this.now);
    return ended.length ? Math.max(...ended.map((w) => w.end)) : this.now - 30 * DAY;
  }

  /** Planned windows announced by now that have not ended. */
  upcomingPlanned(): SimWindow[] {
    return this.windows
      .filter((w) => w.kind === 'planned' && w.announced <= this.now && w.end > this.now)
      .sort((a, b) => a.start - b.start);
  }

  /** Nodes usable now. */
  availableNodes(): number {
    const status = this.status();
    if (status === 'down') return 0;
    const total = this.config.totalNodes;
    return status === 'degraded' ? Math.floor(total * (1 - DEGRADED_NODE_SHARE)) : total;
  }

  freeNodes(): number {
    const busy = this.running.reduce((s, j) => s + j.nodes, 0);
    return Math.max(this.availableNodes() - busy, 0);
  }

  /** Queues a job from outside (the IRI job API); it starts when the scheduler says so. */
  submit(spec: {
    nodes: number;
    walltimeS: number;
    queue?: string | undefined;
    project?: string | undefined;
    name?: string | undefined;
  }): SimJob {
    const nodes = Math.min(Math.max(1, Math.round(spec.nodes)), this.config.totalNodes);
    const job: SimJob = {
      id: `${this.config.system}-x${++this.seq}`,
      project: spec.project ?? 'Loupe',
      queue: spec.queue ?? this.config.queueFor(nodes, spec.walltimeS),
      nodes,
      walltimeS: spec.walltimeS,
      runtimeS: spec.walltimeS,
      submit: this.now,
      start: null,
      end: null,
      state: 'queued',
      external: true,
      name: spec.name ?? 'loupe-job',
    };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.schedule();
    return job;
  }

  cancel(id: string): SimJob | null {
    const job = this.jobs.get(id);
    if (!job || (job.state !== 'queued' && job.state !== 'running')) return job ?? null;
    this.removeFrom(this.queue, job);
    if (this.removeFrom(this.running, job)) job.end = this.now;
    job.state = 'canceled';
    this.listener.end(job);
    return job;
  }

  /** Adds a window by hand (demos and tests: watch a system enter and leave maintenance). */
  addWindow(window: Omit<SimWindow, 'id'>): SimWindow {
    const w = { ...window, id: `${this.config.system}-w${++this.seq}` };
    this.windows.push(w);
    this.windows.sort((a, b) => a.start - b.start);
    return w;
  }

  /** Moves the clock to `to`, processing every event on the way in time order. */
  advanceTo(to: number): void {
    while (this.now < to) {
      const next = Math.min(to, this.nextEventTime());
      this.now = next;
      this.processEventsAt(next);
      this.schedule();
    }
  }

  private nextEventTime(): number {
    let t = Math.min(this.nextArrival, this.nextOutage, this.nextDegraded, this.plannedUntil - DAY);
    for (const j of this.running) t = Math.min(t, j.start! + j.runtimeS);
    for (const w of this.windows) {
      if (w.start > this.now) t = Math.min(t, w.start);
      if (w.end > this.now) t = Math.min(t, w.end);
    }
    return Math.max(t, this.now + 1e-3);
  }

  private processEventsAt(t: number): void {
    if (t >= this.plannedUntil - DAY) this.extendPlan();
    for (const j of [...this.running]) {
      if (j.start! + j.runtimeS <= t) this.finish(j, 'completed', j.start! + j.runtimeS);
    }
    while (this.nextArrival <= t) {
      this.arrive(this.nextArrival);
      this.nextArrival += this.interarrival();
    }
    while (this.nextOutage <= t) {
      const duration = (1 + 5 * this.random()) * HOUR;
      this.addWindow({
        kind: 'unplanned',
        start: this.nextOutage,
        end: this.nextOutage + duration,
        announced: this.nextOutage,
        description: 'Unplanned outage: nodes unreachable, under investigation',
      });
      this.nextOutage += this.exponential(this.config.outageEveryDays * DAY);
    }
    while (this.nextDegraded <= t) {
      const duration = (1 + 3 * this.random()) * HOUR;
      this.addWindow({
        kind: 'degraded',
        start: this.nextDegraded,
        end: this.nextDegraded + duration,
        announced: this.nextDegraded,
        description: 'Degraded: a share of nodes offline, file system slow',
      });
      this.nextDegraded += this.exponential(this.config.degradedEveryDays * DAY);
    }
    // A system going down ends what runs on it.
    if (this.status() === 'down') {
      for (const j of [...this.running]) this.finish(j, 'failed', t);
    }
    // Keep memory bounded: forget finished jobs after a day.
    if (this.finished.length > 5000) {
      const keep = this.finished.filter((j) => (j.end ?? 0) > t - DAY || j.external);
      for (const j of this.finished) if (!keep.includes(j)) this.jobs.delete(j.id);
      this.finished = keep;
    }
  }

  /** Priority: waiting time ages a job up; larger jobs start ahead (capability computing). */
  private priority(j: SimJob): number {
    return (
      ((this.now - j.submit) / HOUR) * AGE_POINTS_PER_HOUR +
      (j.nodes / this.config.totalNodes) * SIZE_POINTS
    );
  }

  /** Start of the next planned or known window that a job started now would run into. */
  private nextBarrier(): number {
    let t = Infinity;
    for (const w of this.windows)
      if (w.kind !== 'degraded' && w.start > this.now) t = Math.min(t, w.start);
    return t;
  }

  /** EASY backfill: the top job gets a reservation; others may jump it only without delaying it. */
  private schedule(): void {
    if (this.queue.length === 0) return;
    const available = this.availableNodes();
    if (available === 0) return;
    let free = this.freeNodes();
    const barrier = this.nextBarrier();
    const ordered = [...this.queue].sort(
      (a, b) => this.priority(b) - this.priority(a) || a.submit - b.submit,
    );
    let shadow: number | null = null;
    let extra = 0;
    for (const j of ordered) {
      if (j.nodes > available) continue;
      // Draining: nothing starts that would still run when a window begins.
      const fitsBeforeBarrier = this.now + j.walltimeS <= barrier;
      if (shadow === null) {
        if (j.nodes <= free && fitsBeforeBarrier) {
          this.begin(j);
          free -= j.nodes;
          continue;
        }
        if (!fitsBeforeBarrier) continue;
        // Reserve for the head job: when will enough nodes be free, by requested walltimes?
        const ends = this.running
          .map((r) => ({ at: r.start! + r.walltimeS, nodes: r.nodes }))
          .sort((a, b) => a.at - b.at);
        let f = free;
        shadow = Infinity;
        for (const e of ends) {
          f += e.nodes;
          if (f >= j.nodes) {
            shadow = e.at;
            extra = f - j.nodes;
            break;
          }
        }
        continue;
      }
      if (j.nodes > free || !fitsBeforeBarrier) continue;
      if (this.now + j.walltimeS <= shadow) {
        this.begin(j);
        free -= j.nodes;
      } else if (j.nodes <= extra) {
        this.begin(j);
        free -= j.nodes;
        extra -= j.nodes;
      }
    }
  }

  private begin(j: SimJob): void {
    this.removeFrom(this.queue, j);
    j.start = this.now;
    j.state = 'running';
    this.running.push(j);
    this.listener.start(j);
  }

  private finish(j: SimJob, state: 'completed' | 'failed', at: number): void {
    this.removeFrom(this.running, j);
    j.end = at;
    j.state = state;
    this.finished.push(j);
    this.listener.end(j);
  }

  private removeFrom(list: SimJob[], j: SimJob): boolean {
    const i = list.indexOf(j);
    if (i >= 0) list.splice(i, 1);
    return i >= 0;
  }

  private arrive(at: number): void {
    const { nodes, walltimeS } = this.drawShape();
    // Most jobs end early: runtime is a share of the request drawn towards the low end.
    const share = this.random() < 0.15 ? 1 : Math.max(0.02, this.random() ** 1.5);
    const job: SimJob = {
      id: `${1_000_000 + ++this.seq}`,
      project: PROJECTS[Math.floor(this.random() * PROJECTS.length)]!,
      queue: this.config.queueFor(nodes, walltimeS),
      nodes,
      walltimeS,
      runtimeS: Math.max(60, Math.round(walltimeS * share)),
      submit: at,
      start: null,
      end: null,
      state: 'queued',
      external: false,
      name: `job${this.seq}`,
    };
    this.jobs.set(job.id, job);
    this.queue.push(job);
  }

  /** Sizes: log-uniform from 1 node to maxJobShare of the machine (many small, a few huge). */
  private drawShape(): { nodes: number; walltimeS: number } {
    const maxNodes = Math.max(1, Math.floor(this.config.totalNodes * this.config.maxJobShare));
    const nodes = Math.max(1, Math.floor(Math.exp(this.random() * Math.log(maxNodes + 1))));
    let r = this.random();
    let hours = WALLTIMES_H[WALLTIMES_H.length - 1]!;
    for (let i = 0; i < WALLTIMES_H.length; i++) {
      r -= WALLTIME_WEIGHTS[i]!;
      if (r <= 0) {
        hours = WALLTIMES_H[i]!;
        break;
      }
    }
    return { nodes, walltimeS: hours * HOUR };
  }

  private estimateMeanNodeSeconds(): number {
    const probe = seededRandom(hashSeed(1, this.config.system));
    const saved = this.random;
    let total = 0;
    const n = 4000;
    (this as unknown as { random: () => number }).random = probe;
    for (let i = 0; i < n; i++) {
      const s = this.drawShape();
      total += s.nodes * s.walltimeS * 0.55; // mean runtime share of the draw above
    }
    (this as unknown as { random: () => number }).random = saved;
    return total / n;
  }

  private interarrival(): number {
    const rate = (this.config.load * this.config.totalNodes) / this.meanNodeSeconds;
    return this.exponential(1 / rate);
  }

  private exponential(mean: number): number {
    return -mean * Math.log(1 - this.random());
  }

  private extendPlan(): void {
    const from = this.plannedUntil;
    const to = from + PLAN_HORIZON_S;
    for (const w of this.config.plannedWindows(from, to, this.random)) {
      this.windows.push({ ...w, id: w.id || `${this.config.system}-p${++this.seq}` });
    }
    this.windows.sort((a, b) => a.start - b.start);
    this.plannedUntil = to;
  }

  /** Two simulated days before `start`, so the queue is full when anyone first looks. */
  private warmUp(): void {
    const start = this.now;
    const WARM_S = 2 * DAY;
    // Replay the warm-up as if the clock had started earlier, then shift nothing: arrivals before
    // `start` are generated by running the model from start − WARM_S.
    this.now = start - WARM_S;
    this.nextArrival = this.now + this.interarrival();
    const outage = this.nextOutage;
    const degraded = this.nextDegraded;
    this.nextOutage = Infinity;
    this.nextDegraded = Infinity;
    this.advanceTo(start);
    this.nextOutage = outage;
    this.nextDegraded = degraded;
  }
}
