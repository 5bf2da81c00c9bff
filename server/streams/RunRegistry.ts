import { EventEmitter } from 'node:events';
import {
  type FrameHeader,
  type ParameterValues,
  parameterValues,
  JOB_ENDED,
  type ProducerMetrics,
  type RunJob,
  type RunParameters,
  type RunMetrics,
  type RunRegistration,
  type RunState,
  type RunSummary,
  slotKey,
  type StreamKey,
  streamKey,
} from '@/lib/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Database, RunsTable } from '../db/Database';

/** A frame as the gateway keeps it: validated header (with the gateway's publication time) and bytes. */
export interface StoredFrame {
  key: StreamKey;
  /** As the producer sent it, plus the gateway's `acceptedAt`. */
  header: FrameHeader & { acceptedAt: number };
  payload: Uint8Array;
}

interface RunRecord {
  /** The consumer's latest note on its state (in memory only: it describes the moment). */
  stateMessage?: string | undefined;
  id: string;
  title: string;
  sample: string | undefined;
  beamline: string | undefined;
  state: RunState;
  producer: string | null;
  /** The producer identity (subject) that last registered the run; persists across restarts. */
  owner: string | null;
  createdAt: number;
  updatedAt: number;
  lastFrameAt: number | undefined;
  framesReceived: number;
  lastSeq: Map<StreamKey, number>;
  lastFrameAtByStream: Map<StreamKey, number>;
  /** Newest slice per slice stream. */
  latestSlices: Map<StreamKey, StoredFrame>;
  /** Newest brick per brick position, per volume stream; cleared when the volume's shape changes. */
  bricks: Map<StreamKey, Map<string, StoredFrame>>;
  /** Recent acceptance times per stream (ms), for the rates in the run's metrics. */
  arrivals: Map<StreamKey, number[]>;
  /** Frames of this run the gateway refused since it started. */
  framesRejected: number;
  /** Frames and registrations for this run refused from producers not entitled to it. */
  pushesRefused: number;
  /** The consumer's latest self-report. */
  producerSample: ProducerMetrics | undefined;
  /** What the consumer declared it can be steered on, and the values in force. */
  parameters: RunParameters | undefined;
  /** The facility job Loupe last submitted for the run, as last reported (in memory only). */
  job?: RunJob | undefined;
  /** Times the run's `roi` streams were dropped (RunSummary.roiEpoch). */
  roiEpoch?: number;
}

/** Window over which stream rates are measured, ms: long enough to be steady at 1 Hz. */
const RATE_WINDOW_MS = 3000;

/** `unauthorized`: the sender is not the run's producer (a push, not a malformed frame). */
export type FrameVerdict =
  { ok: true; frame: StoredFrame } | { ok: false; error: string; unauthorized?: boolean };

interface RegistryEvents {
  frame: [run: string, frame: StoredFrame];
  /** A frame of `run`, sent by its own producer, was refused. */
  rejected: [run: string];
  run: [summary: RunSummary];
  /** A producer (socket id) registered or resumed `run`. */
  registered: [run: string, producer: string];
  /** The run's own producer reported its speed (a validated sample). */
  'producer-metrics': [run: string, sample: ProducerMetrics];
  error: [error: Error];
}

/**
 * Runs the gateway knows, their sequence bookkeeping and the frames a late viewer needs
 * (latest slice per plane, current volume bricks). Runs persist in the store
 * (written behind, never awaited on the frame path); frames do not.
 */
export class RunRegistry extends EventEmitter<RegistryEvents> {
  private readonly runs = new Map<string, RunRecord>();
  private readonly totals = { refusedFrames: 0, refusedPushes: 0 };

  /** Rows written since the last write reached the store, newest version per run. */
  private readonly pending = new Map<string, Selectable<RunsTable>>();
  private draining: Promise<void> | null = null;

  /** Loads the runs the store knows; frames are never stored, so every run starts without any. */
  static async open(db: Kysely<Database>, now: () => number = Date.now): Promise<RunRegistry> {
    return new RunRegistry(db, await db.selectFrom('runs').selectAll().execute(), now);
  }

  constructor(
    private readonly db: Kysely<Database>,
    rows: readonly Selectable<RunsTable>[],
    private readonly now: () => number = Date.now,
  ) {
    super();
    for (const row of rows) {
      const lastSeq = new Map(
        Object.entries(JSON.parse(row.last_seq) as Record<string, number>),
      ) as Map<StreamKey, number>;
      this.runs.set(row.id, {
        id: row.id,
        title: row.title,
        sample: row.sample ?? undefined,
        beamline: row.beamline ?? undefined,
        // Nobody is producing until a consumer dials in again.
        state:
          row.state === 'finished' || row.state === 'failed' || row.state === 'ended'
            ? row.state
            : 'waiting',
        producer: null,
        owner: row.owner,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        lastFrameAt: undefined,
        framesReceived: 0,
        lastSeq,
        lastFrameAtByStream: new Map(),
        latestSlices: new Map(),
        bricks: new Map(),
        arrivals: new Map(),
        framesRejected: 0,
        pushesRefused: 0,
        producerSample: undefined,
        // Declared again when the consumer registers.
        parameters: undefined,
      });
    }
  }

  list(): RunSummary[] {
    return [...this.runs.values()]
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((r) => this.toSummary(r));
  }

  get(id: string): RunSummary | undefined {
    const run = this.runs.get(id);
    return run ? this.toSummary(run) : undefined;
  }

  /**
   * Registers or resumes a run for a producer (socket id) of identity `owner`; returns, per
   * stream, the last sequence kept. Whether `owner` may is policy's call, made before.
   */
  register(
    reg: RunRegistration,
    producer: string,
    owner: string | null = null,
  ): Partial<Record<StreamKey, number>> {
    const t = this.now();
    let run = this.runs.get(reg.run);
    if (!run) {
      run = {
        id: reg.run,
        title: reg.title,
        sample: reg.sample,
        beamline: reg.beamline,
        state: 'streaming',
        producer,
        owner,
        createdAt: t,
        updatedAt: t,
        lastFrameAt: undefined,
        framesReceived: 0,
        lastSeq: new Map(),
        lastFrameAtByStream: new Map(),
        latestSlices: new Map(),
        bricks: new Map(),
        arrivals: new Map(),
        framesRejected: 0,
        pushesRefused: 0,
        producerSample: undefined,
        parameters: undefined,
      };
      this.runs.set(reg.run, run);
    } else {
      run.title = reg.title;
      run.sample = reg.sample ?? run.sample;
      run.beamline = reg.beamline ?? run.beamline;
      run.producer = producer;
      run.owner = owner ?? run.owner;
      // A new job's consumer: how the last job ended is history now (its `job` says so).
      if (run.state === 'ended') run.stateMessage = undefined;
      run.state = 'streaming';
      run.updatedAt = t;
    }
    // A consumer that re-registers declares again (a new job may run other code): its declaration
    // replaces the old one, with the values it says are in force.
    run.parameters = reg.parameters
      ? { declarations: reg.parameters, values: parameterValues(reg.parameters, reg.values) }
      : undefined;
    this.persist(run);
    this.emit('run', this.toSummary(run));
    this.emit('registered', run.id, producer);
    return Object.fromEntries(run.lastSeq) as Partial<Record<StreamKey, number>>;
  }

  /** The parameters `run`'s consumer declared, or none. */
  parametersOf(id: string): RunParameters | undefined {
    return this.runs.get(id)?.parameters;
  }

  /** A `set-parameters` command was applied by the consumer: the values are now in force. */
  parametersApplied(id: string, values: ParameterValues): void {
    const run = this.runs.get(id);
    if (!run?.parameters) return;
    run.parameters = {
      declarations: run.parameters.declarations,
      values: parameterValues(run.parameters.declarations, { ...run.parameters.values, ...values }),
    };
    run.updatedAt = this.now();
    this.emit('run', this.toSummary(run));
  }

  producerOf(id: string): string | null {
    return this.runs.get(id)?.producer ?? null;
  }

  /** Who owns a run (the identity that last registered it) and whether it is connected now. */
  ownerOf(id: string): { subject: string; online: boolean } | null {
    const run = this.runs.get(id);
    if (!run?.owner) return null;
    return { subject: run.owner, online: run.producer !== null };
  }

  /**
   * Counts a push refused because its sender may not publish `run` (a frame or registration by
   * another producer identity, or out of its scope): against the run if it exists, and always in
   * the gateway-wide total, so an attack on a run is visible on that run's health panel.
   */
  noteRefusedPush(id: string | null): void {
    this.totals.refusedPushes++;
    const run = id === null ? undefined : this.runs.get(id);
    if (run) run.pushesRefused++;
  }

  /** Gateway-wide counts since start: frames refused for any reason, and refused pushes. */
  counters(): { refusedFrames: number; refusedPushes: number } {
    return { ...this.totals };
  }

  /** The producer's connection closed: its runs wait for it to come back. */
  producerGone(producer: string): void {
    for (const run of this.runs.values()) {
      if (run.producer !== producer) continue;
      run.producer = null;
      if (run.state === 'streaming' || run.state === 'paused') run.state = 'waiting';
      run.updatedAt = this.now();
      this.persist(run);
      this.emit('run', this.toSummary(run));
    }
  }

  setState(id: string, producer: string, state: RunState, message?: string): string | null {
    const run = this.runs.get(id);
    if (!run) return `unknown run ${id}`;
    if (run.producer !== producer) return `run ${id} is not registered by this producer`;
    run.state = state;
    run.stateMessage = message;
    run.updatedAt = this.now();
    this.persist(run);
    this.emit('run', this.toSummary(run));
    return null;
  }

  /**
   * The facility job submitted for `id` changed state (FacilityResubmitter follows it). When it
   * ended, the run is `ended` with the job's outcome as its message — unless its consumer had
   * already reported it `finished` and the job completed — and the region of interest that job
   * reconstructed is dropped — unless another consumer streams the run (the job never took it
   * over). Nothing a producer does can set this; only the job's site can.
   */
  setJob(id: string, job: RunJob, o: { endedMessage?: string; subject?: string } = {}): void {
    const run = this.runs.get(id);
    if (!run) return;
    const previous = run.job;
    run.job = job;
    const ended = JOB_ENDED.has(job.state);
    const wasEnded = previous?.jobId === job.jobId && JOB_ENDED.has(previous.state);
    // A job that ended before its consumer took the run over leaves a run another consumer
    // (`subject`: the job's producer identity) still streams as it is.
    const othersStream =
      run.producer !== null && o.subject !== undefined && run.owner !== o.subject;
    if (ended && !wasEnded && !othersStream) {
      if (!(run.state === 'finished' && job.state === 'completed')) run.state = 'ended';
      run.stateMessage = o.endedMessage?.slice(0, 500);
      this.dropRoi(run);
      this.persist(run);
    }
    run.updatedAt = this.now();
    this.emit('run', this.toSummary(run));
  }

  /**
   * Drops the run's region-of-interest streams (latest slices, bricks, sequence numbers): the
   * job that reconstructed the region is gone, or a new job that knows nothing of it took over.
   * Viewers are told by `roiEpoch` and forget their roi frames and overlays.
   */
  clearRoi(id: string): void {
    const run = this.runs.get(id);
    if (!run || !this.dropRoi(run)) return;
    run.updatedAt = this.now();
    this.persist(run);
    this.emit('run', this.toSummary(run));
  }

  private dropRoi(run: RunRecord): boolean {
    const roi = (key: StreamKey) => key.startsWith('roi/');
    const keys = [...run.lastSeq.keys(), ...run.latestSlices.keys(), ...run.bricks.keys()];
    if (!keys.some(roi)) return false;
    for (const map of [
      run.lastSeq,
      run.lastFrameAtByStream,
      run.latestSlices,
      run.bricks,
      run.arrivals,
    ])
      for (const key of [...map.keys()]) if (roi(key)) map.delete(key);
    run.roiEpoch = (run.roiEpoch ?? 0) + 1;
    return true;
  }

  /**
   * Accepts a decoded frame from `producer`: the run must be theirs and the sequence number new.
   * Stamps the gateway's publication time and keeps what a late joiner will need.
   * `beforeFanOut` runs once the frame is accepted and before it is offered to the viewers: the
   * producer's acknowledgement goes there, so its round trip does not include the fan-out.
   */
  accept(
    header: FrameHeader,
    payload: Uint8Array,
    producer: string,
    beforeFanOut?: () => void,
  ): FrameVerdict {
    const run = this.runs.get(header.run);
    if (!run) return { ok: false, error: `unknown run ${header.run}: register it first` };
    if (run.producer !== producer)
      return {
        ok: false,
        error: `run ${header.run} belongs to another producer`,
        unauthorized: true,
      };
    // Levels of detail are the gateway's, per viewer: a producer's slice or brick is always whole.
    if (header.lod) return { ok: false, error: 'lod is set by the gateway, never by a producer' };
    const key = streamKey(header.view, header.stream);
    const last = run.lastSeq.get(key) ?? -1;
    if (header.seq <= last) {
      return {
        ok: false,
        error: `sequence ${header.seq} on ${key} is not after ${last}, the last kept`,
      };
    }
    const t = this.now();
    const frame: StoredFrame = { key, header: { ...header, acceptedAt: t }, payload };
    run.lastSeq.set(key, header.seq);
    run.lastFrameAtByStream.set(key, t);
    run.lastFrameAt = t;
    let times = run.arrivals.get(key);
    if (!times) run.arrivals.set(key, (times = []));
    times.push(t);
    while (times.length > 0 && t - times[0]! > RATE_WINDOW_MS) times.shift();
    run.framesReceived++;
    if (header.stream === 'volume') {
      let bricks = run.bricks.get(key);
      const first = bricks?.values().next().value;
      if (!bricks || (first && !sameShape(first.header.volumeShape, header.volumeShape))) {
        bricks = new Map();
        run.bricks.set(key, bricks);
      }
      bricks.set(slotKey(header), frame);
    } else {
      run.latestSlices.set(key, frame);
    }
    if (run.state === 'waiting' || run.state === 'stalled') {
      run.state = 'streaming';
      this.emit('run', this.toSummary(run));
    }
    beforeFanOut?.();
    this.emit('frame', run.id, frame);
    return { ok: true, frame };
  }

  /**
   * Counts a refused frame against `run` — only when `producer` is the run's own, so nobody can
   * inflate another run's figures.
   */
  noteRejected(id: string, producer: string): void {
    this.totals.refusedFrames++;
    const run = this.runs.get(id);
    if (!run || run.producer !== producer) return;
    run.framesRejected++;
    this.emit('rejected', id);
  }

  /** Keeps the consumer's latest self-report for the run's health panel. */
  setProducerMetrics(sample: ProducerMetrics, producer: string): string | null {
    const run = this.runs.get(sample.run);
    if (!run) return `unknown run ${sample.run}`;
    if (run.producer !== producer) return `run ${sample.run} is not registered by this producer`;
    run.producerSample = sample;
    this.emit('producer-metrics', run.id, sample);
    return null;
  }

  /** The run-wide part of a run's metrics (the viewer's own counters are added by the fan-out). */
  metrics(id: string): Omit<RunMetrics, 'viewer' | 'viewers'> | undefined {
    const run = this.runs.get(id);
    if (!run) return undefined;
    const t = this.now();
    return {
      run: run.id,
      at: t,
      streams: [...run.lastSeq].map(([key, lastSeq]) => {
        const recent = (run.arrivals.get(key) ?? []).filter((a) => t - a <= RATE_WINDOW_MS);
        const span = recent.length > 1 ? recent[recent.length - 1]! - recent[0]! : 0;
        return {
          key,
          lastSeq,
          framesPerSecond: span > 0 ? ((recent.length - 1) * 1000) / span : 0,
        };
      }),
      producer: {
        connected: run.producer !== null,
        accepted: run.framesReceived,
        rejected: run.framesRejected,
        refusedPushes: run.pushesRefused,
        ...(run.lastFrameAt !== undefined && { lastFrameAt: run.lastFrameAt }),
        ...(run.producerSample && { sample: run.producerSample }),
      },
    };
  }

  /** What a viewer joining now must receive: the latest slice of every plane and the current volume. */
  snapshot(id: string): StoredFrame[] {
    const run = this.runs.get(id);
    if (!run) return [];
    const bricks = [...run.bricks.values()].flatMap((m) => [...m.values()]);
    return [...run.latestSlices.values(), ...bricks];
  }

  /**
   * Writes every run (sequence numbers move with each frame, and are written only here, every few
   * seconds and at shutdown). Resolves once the store has them; rejects when it cannot be reached,
   * the rows staying queued for the next flush.
   */
  async flush(): Promise<void> {
    for (const run of this.runs.values()) this.persist(run);
    await this.drain();
  }

  /**
   * Write-behind: the frame path never waits for the store. The newest row of each run is queued
   * and written in the background; a failed write stays queued (unless a newer row replaced it)
   * and goes out with the next change or flush, so a store outage delays persistence only.
   */
  private persist(run: RunRecord): void {
    this.pending.set(run.id, {
      id: run.id,
      title: run.title,
      sample: run.sample ?? null,
      beamline: run.beamline ?? null,
      state: run.state,
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      last_seq: JSON.stringify(Object.fromEntries(run.lastSeq)),
      owner: run.owner,
    });
    // One background writer at a time; a write already under way picks this row up when it loops.
    if (!this.draining) this.drain().catch((error: unknown) => this.emit('error', error as Error));
  }

  private drain(): Promise<void> {
    this.draining ??= (async () => {
      try {
        while (this.pending.size > 0) {
          const rows = [...this.pending.values()];
          this.pending.clear();
          try {
            await this.db
              .insertInto('runs')
              .values(rows)
              .onConflict((oc) =>
                oc.column('id').doUpdateSet((eb) => ({
                  title: eb.ref('excluded.title'),
                  sample: eb.ref('excluded.sample'),
                  beamline: eb.ref('excluded.beamline'),
                  state: eb.ref('excluded.state'),
                  updated_at: eb.ref('excluded.updated_at'),
                  last_seq: eb.ref('excluded.last_seq'),
                  owner: eb.ref('excluded.owner'),
                })),
              )
              .execute();
          } catch (error) {
            for (const row of rows) if (!this.pending.has(row.id)) this.pending.set(row.id, row);
            throw error;
          }
        }
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  private toSummary(run: RunRecord): RunSummary {
    return {
      id: run.id,
      title: run.title,
      ...(run.sample !== undefined && { sample: run.sample }),
      ...(run.beamline !== undefined && { beamline: run.beamline }),
      state: run.state,
      producerConnected: run.producer !== null,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      ...(run.lastFrameAt !== undefined && { lastFrameAt: run.lastFrameAt }),
      framesReceived: run.framesReceived,
      streams: [...run.lastSeq].map(([key, lastSeq]) => ({
        key,
        lastSeq,
        lastFrameAt: run.lastFrameAtByStream.get(key) ?? 0,
      })),
      ...(run.parameters && { parameters: run.parameters }),
      ...(run.stateMessage !== undefined && { stateMessage: run.stateMessage }),
      ...(run.job && { job: run.job }),
      ...(run.roiEpoch !== undefined && { roiEpoch: run.roiEpoch }),
    };
  }
}

function sameShape(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return (a ?? []).join() === (b ?? []).join();
}
