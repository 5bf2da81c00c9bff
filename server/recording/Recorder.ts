import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync } from 'node:fs';
import {
  appendFile,
  type FileHandle,
  open,
  readFile,
  rename,
  stat,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DroppedSpan,
  type FrameHeader,
  ProducerMetrics,
  type RecordedProducerMetrics,
  RunId,
  type RecordingMarker,
  type RecordingSummary,
  elementCount,
  slotKey,
  type StreamKey,
} from '@/lib/protocol';
import type { StoredFrame } from '../streams/RunRegistry';
import { lockDirectory } from './directoryLock';
import {
  decodeIndex,
  decodeRecord,
  encodeIndexEntry,
  encodeRecord,
  entryOf,
  type IndexEntry,
  INDEX_ENTRY_BYTES,
  readSegmentHeader,
  type RecordKind,
  segmentHeader,
  STREAM_CODES,
  VIEW_CODES,
} from './segmentFormat';

export interface RecorderOptions {
  /** Directory of the recordings: one folder per run. */
  dir: string;
  /** Retention: bytes kept per run, bytes kept in all, age of the newest frame of a segment (ms). */
  maxBytesPerRun: number;
  maxBytes: number;
  maxAgeMs: number;
  /** A segment is sealed and a new one begun past this size (bytes); default 32 MiB. */
  segmentBytes?: number;
  /** Bytes waiting for the disk at most; past it frames are dropped and the gap recorded. 64 MiB. */
  queueBytes?: number;
  /** How often written data is fsync'ed (ms): a machine crash loses at most about this. 500. */
  flushIntervalMs?: number;
  now?: () => number;
}

/** A recorded frame read back: the header as fanned out, and its pixel bytes. */
export interface RecordedFrame {
  header: FrameHeader;
  payload: Uint8Array;
}

interface Segment {
  base: string;
  /** Path without extension; data at `${base}.lseg`, index at `${base}.lidx` (or `.open.*`). */
  open: boolean;
  firstT: number;
  lastT: number;
  bytes: number;
  frames: number;
  byKey: Map<StreamKey, IndexEntry[]>;
  /** The producer's metrics samples, in time order. */
  metrics: IndexEntry[];
}

interface Writer {
  segment: Segment;
  data: FileHandle;
  index: FileHandle;
  position: number;
  dirty: boolean;
}

interface RunState {
  id: string;
  dir: string;
  segments: Segment[];
  writer: Writer | null;
  markers: RecordingMarker[];
  dropped: DroppedSpan[];
  /** Frames dropped at the queue since the last recorded gap. */
  gap: DroppedSpan | null;
  nextSegment: number;
}

interface QueueItem {
  run: string;
  kind: RecordKind;
  t: number;
  json: Buffer;
  payload: Uint8Array | null;
  seq: number;
  view: number;
  stream: number;
}

/** Most markers kept per run in memory and in a summary: a busy run's commands, not a flood. */
const MAX_MARKERS = 2000;
/** How many bricks back a volume "at t" may look for the bricks in force. */
const MAX_BRICKS_BACK = 512;
/**
 * How many brick records a volume "at t" reads at most: a volume never sent whole (a consumer
 * that refreshes only some bricks) would otherwise be walked back to the start of the recording.
 */
const MAX_BRICK_READS = 4 * MAX_BRICKS_BACK;
/** Records per writev: well under IOV_MAX (1024), three buffers each. */
const BATCH_RECORDS = 256;

/** Bytes read to check a segment's header before loading it (its JSON is a run id and a time). */
const SEGMENT_HEAD_BYTES = 4096;

/** The first `bytes` bytes of a file (fewer if it is shorter). */
async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

interface RecorderEvents {
  error: [error: Error];
  /** A torn segment was truncated at start-up. */
  recovered: [info: { run: string; segment: string; truncatedBytes: number }];
}

/**
 * Records every accepted frame of every run into append-only segment files (server/recording/
 * segmentFormat.ts), off the fan-out's path: `record` only queues (O(1), never awaits); one writer
 * drains the queue with positioned writev calls and fsyncs every `flushIntervalMs`. Memory bound:
 * `queueBytes` of queued frames plus the index (24 bytes of disk, ~100 bytes of heap per frame).
 * When the queue is full a frame is dropped, not waited for, and the dropped span is recorded.
 */
export class Recorder extends EventEmitter<RecorderEvents> {
  /** Segments found at start-up that this version cannot read (left on disk as they are). */
  readonly unreadable: { run: string; segment: string; reason: string }[] = [];
  private readonly runs = new Map<string, RunState>();
  private readonly queue: QueueItem[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | null = null;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private lock: { release(): void } | null = null;
  private readonly now: () => number;
  private readonly segmentBytes: number;
  private readonly queueBytes: number;
  readonly figures = { recorded: 0, dropped: 0, bytesWritten: 0 };

  private constructor(private readonly options: RecorderOptions) {
    super();
    this.now = options.now ?? Date.now;
    // At least four segments fit a run's budget, so retention deletes in steps of ≤ a quarter.
    this.segmentBytes = Math.max(
      1 << 16,
      Math.min(options.segmentBytes ?? 32 * 2 ** 20, Math.floor(options.maxBytesPerRun / 4)),
    );
    this.queueBytes = options.queueBytes ?? 64 * 2 ** 20;
  }

  /** Opens the recordings directory, truncating torn segments and sealing those left open. */
  static async open(options: RecorderOptions): Promise<Recorder> {
    const recorder = new Recorder(options);
    mkdirSync(options.dir, { recursive: true });
    recorder.lock = lockDirectory(options.dir);
    try {
      await recorder.recover();
    } catch (error) {
      recorder.lock.release();
      throw error;
    }
    const flush = setInterval(() => void recorder.sync(), options.flushIntervalMs ?? 500);
    const retain = setInterval(() => void recorder.enforceRetention(), 10_000);
    flush.unref();
    retain.unref();
    recorder.timers.push(flush, retain);
    return recorder;
  }

  /** Queues an accepted frame; returns at once. Called from the fan-out's frame event. */
  record(run: string, frame: StoredFrame): void {
    const json = Buffer.from(JSON.stringify(frame.header));
    this.enqueue({
      run,
      kind: 'frame',
      t: frame.header.acceptedAt,
      json,
      payload: frame.payload,
      seq: frame.header.seq,
      view: VIEW_CODES.indexOf(frame.header.view),
      stream: STREAM_CODES.indexOf(frame.header.stream),
    });
  }

  /**
   * Queues the producer's own metrics sample (ProducerMetrics, validated where it entered), so a
   * replay shows the consumer's speed of the time; returns at once. Filed under `receivedAt`, the
   * gateway's clock like every record's time, not the producer's own `at`.
   */
  recordMetrics(run: string, sample: ProducerMetrics, receivedAt: number): void {
    this.enqueue({
      run,
      kind: 'metrics',
      t: receivedAt,
      json: Buffer.from(JSON.stringify(sample)),
      payload: null,
      seq: 0,
      view: 0,
      stream: 0,
    });
  }

  /** Queues a timeline marker (a command, a state change) for `run`. */
  mark(run: string, marker: RecordingMarker): void {
    const state = this.state(run);
    if (!state) return;
    state.markers.push(marker);
    if (state.markers.length > MAX_MARKERS) state.markers.shift();
    this.enqueue({
      run,
      kind: 'marker',
      t: marker.t,
      json: Buffer.from(JSON.stringify(marker)),
      payload: null,
      seq: 0,
      view: 0,
      stream: 0,
    });
  }

  private enqueue(item: QueueItem): void {
    if (this.closed) return;
    const state = this.state(item.run);
    if (!state) return;
    const size = item.json.length + (item.payload?.byteLength ?? 0);
    if (this.queuedBytes + size > this.queueBytes) {
      this.figures.dropped++;
      if (state.gap) {
        state.gap.to = item.t;
        state.gap.frames += item.kind === 'frame' ? 1 : 0;
        state.gap.bytes += size;
      } else {
        state.gap = { reason: 'queue-full', from: item.t, to: item.t, frames: 1, bytes: size };
      }
      return;
    }
    if (state.gap) {
      const gap = state.gap;
      state.gap = null;
      state.dropped.push(gap);
      const json = Buffer.from(JSON.stringify(gap));
      this.queue.push({
        run: item.run,
        kind: 'gap',
        t: gap.to,
        json,
        payload: null,
        seq: 0,
        view: 0,
        stream: 0,
      });
      this.queuedBytes += json.length;
    }
    this.queue.push(item);
    this.queuedBytes += size;
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null;
      if (this.queue.length > 0 && !this.closed) this.pumping = this.pump();
    });
  }

  private state(run: string): RunState | undefined {
    let state = this.runs.get(run);
    if (state) return state;
    // Run ids are validated where they enter; checked again because they become directory names.
    if (!RunId.safeParse(run).success) return undefined;
    const dir = join(this.options.dir, run);
    mkdirSync(dir, { recursive: true });
    state = {
      id: run,
      dir,
      segments: [],
      writer: null,
      markers: [],
      dropped: [],
      gap: null,
      nextSegment: 0,
    };
    this.runs.set(run, state);
    return state;
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH_RECORDS);
        const byRun = new Map<string, QueueItem[]>();
        for (const item of batch) {
          let list = byRun.get(item.run);
          if (!list) byRun.set(item.run, (list = []));
          list.push(item);
        }
        for (const [run, items] of byRun) await this.write(this.runs.get(run)!, items);
        for (const item of batch)
          this.queuedBytes -= item.json.length + (item.payload?.byteLength ?? 0);
      }
    } catch (error) {
      this.emit('error', error as Error);
    }
  }

  private async write(state: RunState, items: QueueItem[]): Promise<void> {
    let start = 0;
    while (start < items.length) {
      const writer = await this.writerFor(state);
      const buffers: Buffer[] = [];
      const entries: IndexEntry[] = [];
      let position = writer.position;
      let end = start;
      // Up to the segment size; a new segment begins with the next record.
      while (
        end < items.length &&
        (end === start || position - writer.position < this.segmentBytes)
      ) {
        const item = items[end]!;
        const parts = encodeRecord(item.kind, item.t, item.json, item.payload);
        const length = parts.reduce((n, b) => n + b.length, 0);
        buffers.push(...parts);
        entries.push({
          t: item.t,
          offset: position,
          length,
          seq: item.seq,
          kind: item.kind,
          view: item.view,
          stream: item.stream,
        });
        position += length;
        end++;
      }
      await writer.data.writev(buffers, writer.position);
      await writer.index.write(Buffer.concat(entries.map(encodeIndexEntry)));
      const written = position - writer.position;
      writer.position = position;
      writer.dirty = true;
      writer.segment.bytes += written + entries.length * INDEX_ENTRY_BYTES;
      this.figures.bytesWritten += written + entries.length * INDEX_ENTRY_BYTES;
      for (const entry of entries) addEntry(writer.segment, entry);
      this.figures.recorded += entries.filter((e) => e.kind === 'frame').length;
      start = end;
      if (writer.position >= this.segmentBytes) {
        await this.seal(state);
        await this.enforceRetention();
      }
    }
  }

  private async writerFor(state: RunState): Promise<Writer> {
    if (state.writer) return state.writer;
    const t = this.now();
    const base = join(state.dir, `${t}-${state.nextSegment++}`);
    const header = segmentHeader(state.id, t);
    const data = await open(`${base}.open.lseg`, 'w');
    const index = await open(`${base}.open.lidx`, 'a');
    await data.write(header, 0, header.length, 0);
    const segment: Segment = {
      base,
      open: true,
      firstT: Infinity,
      lastT: -Infinity,
      bytes: header.length,
      frames: 0,
      byKey: new Map(),
      metrics: [],
    };
    state.segments.push(segment);
    state.writer = { segment, data, index, position: header.length, dirty: true };
    return state.writer;
  }

  private async seal(state: RunState): Promise<void> {
    const writer = state.writer;
    if (!writer) return;
    state.writer = null;
    await writer.data.datasync();
    await writer.index.datasync();
    await writer.data.close();
    await writer.index.close();
    await rename(`${writer.segment.base}.open.lseg`, `${writer.segment.base}.lseg`);
    await rename(`${writer.segment.base}.open.lidx`, `${writer.segment.base}.lidx`);
    writer.segment.open = false;
  }

  /** fsyncs what was written since the last call (the ≤ 1 s a crash of the machine may lose). */
  async sync(): Promise<void> {
    try {
      for (const state of this.runs.values()) {
        const w = state.writer;
        if (!w?.dirty) continue;
        w.dirty = false;
        await w.data.datasync();
        await w.index.datasync();
      }
    } catch (error) {
      this.emit('error', error as Error);
    }
  }

  /** Writes everything queued so far (tests, benchmarks, shutdown). */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Drains the queue, seals every open segment and stops the timers. */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const state of this.runs.values())
      await this.seal(state).catch((e: Error) => this.emit('error', e));
    this.lock?.release();
    this.lock = null;
  }

  /** Deletes the oldest sealed segments past the age and byte limits, and records what went. */
  async enforceRetention(): Promise<void> {
    try {
      const { maxAgeMs, maxBytesPerRun, maxBytes } = this.options;
      const cutoff = this.now() - maxAgeMs;
      for (const state of this.runs.values()) {
        let total = state.segments.reduce((n, s) => n + s.bytes, 0);
        while (
          state.segments[0] &&
          !state.segments[0].open &&
          (state.segments[0].lastT < cutoff || total > maxBytesPerRun)
        ) {
          total -= state.segments[0].bytes;
          await this.drop(state, state.segments[0]);
        }
      }
      for (;;) {
        let total = 0;
        let oldest: { state: RunState; segment: Segment } | null = null;
        for (const state of this.runs.values())
          for (const segment of state.segments) {
            total += segment.bytes;
            if (!segment.open && (!oldest || segment.lastT < oldest.segment.lastT))
              oldest = { state, segment };
          }
        if (total <= maxBytes || !oldest) break;
        await this.drop(oldest.state, oldest.segment);
      }
    } catch (error) {
      this.emit('error', error as Error);
    }
  }

  private async drop(state: RunState, segment: Segment): Promise<void> {
    state.segments.splice(state.segments.indexOf(segment), 1);
    const span: DroppedSpan = {
      reason: 'retention',
      from: Number.isFinite(segment.firstT) ? segment.firstT : 0,
      to: Number.isFinite(segment.lastT) ? segment.lastT : 0,
      frames: segment.frames,
      bytes: segment.bytes,
    };
    state.dropped.push(span);
    await appendFile(join(state.dir, 'dropped.jsonl'), JSON.stringify(span) + '\n');
    await unlink(`${segment.base}.lseg`);
    await unlink(`${segment.base}.lidx`).catch(() => undefined);
  }

  /** Loads every run's segments; a segment left open (a crash) is scanned, truncated after its last intact record, and sealed. */
  private async recover(): Promise<void> {
    mkdirSync(this.options.dir, { recursive: true });
    for (const run of readdirSync(this.options.dir)) {
      if (!RunId.safeParse(run).success) continue;
      const state = this.state(run)!;
      const files = readdirSync(state.dir)
        .filter((f) => f.endsWith('.lseg'))
        .sort(bySegmentOrder);
      for (const file of files) {
        const open = file.endsWith('.open.lseg');
        const base = join(state.dir, file.slice(0, -(open ? '.open.lseg' : '.lseg').length));
        const segment = await this.loadSegment(state.id, base, open);
        if (segment) state.segments.push(segment);
        const n = Number(/-(\d+)$/.exec(base)?.[1] ?? -1);
        if (n >= state.nextSegment) state.nextSegment = n + 1;
      }
      try {
        const text = await readFile(join(state.dir, 'dropped.jsonl'), 'utf8');
        for (const line of text.split('\n'))
          if (line) state.dropped.push(JSON.parse(line) as DroppedSpan);
      } catch {
        // no retention deletions yet
      }
    }
  }

  private async loadSegment(run: string, base: string, open: boolean): Promise<Segment | null> {
    const dataPath = `${base}${open ? '.open' : ''}.lseg`;
    const indexPath = `${base}${open ? '.open' : ''}.lidx`;
    const size = (await stat(dataPath)).size;
    // A segment of a version this gateway does not know (written by a newer one) is left on disk
    // as it is: neither read, nor truncated, nor deleted by retention.
    const head = await readHead(dataPath, SEGMENT_HEAD_BYTES);
    const version = readSegmentHeader(head);
    if ('unsupported' in version) {
      this.unreadable.push({ run, segment: dataPath, reason: version.error });
      return null;
    }
    let entries: IndexEntry[] | null = null;
    if (!open) {
      entries = decodeIndex(await readFile(indexPath).catch(() => Buffer.alloc(0)));
      const last = entries[entries.length - 1];
      // A sealed segment whose index does not end where its data does is re-indexed from the data.
      if (!last || last.offset + last.length !== size) entries = null;
    }
    const segment: Segment = {
      base,
      open: false,
      firstT: Infinity,
      lastT: -Infinity,
      bytes: 0,
      frames: 0,
      byKey: new Map(),
      metrics: [],
    };
    if (!entries) {
      const data = await readFile(dataPath);
      const header = readSegmentHeader(data);
      if ('error' in header) {
        // Not even a header survived: nothing of this segment is readable.
        this.emit('recovered', { run, segment: dataPath, truncatedBytes: size });
        await unlink(dataPath);
        await unlink(indexPath).catch(() => undefined);
        return null;
      }
      entries = [];
      let offset = header.length;
      for (;;) {
        const record = decodeRecord(data, offset);
        if (!record) break;
        entries.push(entryOf(record, offset));
        offset += record.length;
      }
      if (offset < size) {
        await truncate(dataPath, offset);
        this.emit('recovered', { run, segment: dataPath, truncatedBytes: size - offset });
      }
      await writeFile(`${base}.lidx`, Buffer.concat(entries.map(encodeIndexEntry)));
      if (open) {
        await rename(dataPath, `${base}.lseg`);
        await unlink(indexPath).catch(() => undefined);
      }
    }
    const state = this.runs.get(run)!;
    for (const entry of entries) {
      addEntry(segment, entry);
      if (entry.kind === 'frame' || entry.kind === 'metrics') continue;
      const record = await this.readRecord(segment, entry);
      if (entry.kind === 'marker')
        state.markers.push(JSON.parse(record.json.toString('utf8')) as RecordingMarker);
      else state.dropped.push(JSON.parse(record.json.toString('utf8')) as DroppedSpan);
    }
    const last = entries[entries.length - 1];
    segment.bytes = (last ? last.offset + last.length : size) + entries.length * INDEX_ENTRY_BYTES;
    return segment;
  }

  private async readRecord(segment: Segment, entry: IndexEntry) {
    let path = `${segment.base}${segment.open ? '.open' : ''}.lseg`;
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (error) {
      // Sealed while this read began: seal() renames the file before it clears `open`.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !segment.open) throw error;
      path = `${segment.base}.lseg`;
      fh = await open(path, 'r');
    }
    try {
      const buffer = Buffer.allocUnsafe(entry.length);
      await fh.read(buffer, 0, entry.length, entry.offset);
      const record = decodeRecord(buffer, 0);
      if (!record) throw new Error(`record at ${entry.offset} of ${path} is damaged`);
      return record;
    } finally {
      await fh.close();
    }
  }

  private async readFrame(segment: Segment, entry: IndexEntry): Promise<RecordedFrame> {
    const record = await this.readRecord(segment, entry);
    return {
      header: JSON.parse(record.json.toString('utf8')) as FrameHeader,
      payload: record.payload,
    };
  }

  /** What is recorded of `run`, or undefined when nothing ever was. */
  summary(run: string): RecordingSummary | undefined {
    const state = this.runs.get(run);
    if (!state) return undefined;
    const streams = new Map<StreamKey, { frames: number; from: number; to: number }>();
    let frames = 0;
    for (const segment of state.segments) {
      frames += segment.frames;
      for (const [key, list] of segment.byKey) {
        const s = streams.get(key);
        const first = list[0]!.t;
        const last = list[list.length - 1]!.t;
        if (s) {
          s.frames += list.length;
          s.to = last;
        } else streams.set(key, { frames: list.length, from: first, to: last });
      }
    }
    const from = Math.min(...state.segments.map((s) => s.firstT));
    const to = Math.max(...state.segments.map((s) => s.lastT));
    return {
      run,
      ...(Number.isFinite(from) && { from }),
      ...(Number.isFinite(to) && { to }),
      frames,
      bytes: state.segments.reduce((n, s) => n + s.bytes, 0),
      segments: state.segments.length,
      streams: [...streams].map(([key, s]) => ({ key, ...s })),
      markers: [...state.markers],
      dropped: [...state.dropped, ...(state.gap ? [state.gap] : [])],
      retention: {
        maxBytesPerRun: this.options.maxBytesPerRun,
        maxBytes: this.options.maxBytes,
        maxAgeMs: this.options.maxAgeMs,
      },
    };
  }

  /**
   * The frame of `key` in force at `t` (the newest published at or before it); for a volume
   * stream, the bricks in force (the newest per brick position of the volume then current).
   */
  async frameAt(run: string, key: StreamKey, t: number): Promise<RecordedFrame[]> {
    const state = this.runs.get(run);
    if (!state) return [];
    const volume = key.endsWith('/volume');
    const found: RecordedFrame[] = [];
    const seen = new Set<string>();
    let shape: string | null = null;
    // Voxels of the volume the bricks found so far cover, and of the whole volume: once every
    // voxel has its newest brick, older bricks are all replaced ones (a 20-minute run holds
    // tens of thousands of them; reading them all made one seek take minutes).
    let covered = 0;
    let whole = Infinity;
    let reads = 0;
    for (let s = state.segments.length - 1; s >= 0; s--) {
      const segment = state.segments[s]!;
      if (segment.firstT > t) continue;
      const list = segment.byKey.get(key);
      if (!list) continue;
      for (let i = upperBound(list, t) - 1; i >= 0; i--) {
        const frame = await this.readFrame(segment, list[i]!);
        if (!volume) return [frame];
        const volumeShape = frame.header.volumeShape ?? [];
        const thisShape = volumeShape.join();
        if (shape !== null && thisShape !== shape) return found.reverse();
        if (shape === null) {
          shape = thisShape;
          whole = volumeShape.length > 0 ? elementCount(volumeShape) : Infinity;
        }
        const at = slotKey(frame.header);
        if (!seen.has(at)) {
          seen.add(at);
          found.push(frame);
          covered += elementCount(frame.header.shape);
        }
        if (covered >= whole || seen.size >= MAX_BRICKS_BACK || ++reads >= MAX_BRICK_READS)
          return found.reverse();
      }
    }
    return found.reverse();
  }

  /**
   * The producer's metrics sample in force at `t`: the newest taken at or before it, if it is at
   * most `maxAgeMs` older (a consumer that stopped reporting has no figures "of the time").
   */
  async metricsAt(
    run: string,
    t: number,
    maxAgeMs: number,
  ): Promise<RecordedProducerMetrics | null> {
    const state = this.runs.get(run);
    if (!state) return null;
    for (let s = state.segments.length - 1; s >= 0; s--) {
      const segment = state.segments[s]!;
      if (segment.firstT > t) continue;
      const i = upperBound(segment.metrics, t) - 1;
      if (i < 0) continue;
      const entry = segment.metrics[i]!;
      if (t - entry.t > maxAgeMs) return null;
      return await this.readMetrics(segment, entry);
    }
    return null;
  }

  /** The producer's metrics samples taken in [from, to], oldest first, at most `limit`. */
  async metricsRange(
    run: string,
    from: number,
    to: number,
    limit: number,
  ): Promise<{ samples: RecordedProducerMetrics[]; truncated: boolean }> {
    const samples: RecordedProducerMetrics[] = [];
    const segments = this.runs.get(run)?.segments ?? [];
    for (const { segment, entry } of entriesIn(segments, (s) => s.metrics, from, to)) {
      if (samples.length >= limit) return { samples, truncated: true };
      const sample = await this.readMetrics(segment, entry);
      if (sample) samples.push(sample);
    }
    return { samples, truncated: false };
  }

  /** A recorded sample, validated again as it leaves the disk; null if it no longer parses. */
  private async readMetrics(
    segment: Segment,
    entry: IndexEntry,
  ): Promise<RecordedProducerMetrics | null> {
    const record = await this.readRecord(segment, entry);
    try {
      const parsed = ProducerMetrics.safeParse(JSON.parse(record.json.toString('utf8')));
      return parsed.success ? { receivedAt: entry.t, sample: parsed.data } : null;
    } catch {
      return null;
    }
  }

  /** Frames of `key` published in [from, to], oldest first, at most `limit` frames and `maxBytes`. */
  async range(
    run: string,
    key: StreamKey,
    from: number,
    to: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ frames: RecordedFrame[]; truncated: boolean }> {
    const frames: RecordedFrame[] = [];
    let bytes = 0;
    const segments = this.runs.get(run)?.segments ?? [];
    for (const { segment, entry } of entriesIn(segments, (s) => s.byKey.get(key), from, to)) {
      if (frames.length >= limit || bytes + entry.length > maxBytes)
        return { frames, truncated: true };
      bytes += entry.length;
      frames.push(await this.readFrame(segment, entry));
    }
    return { frames, truncated: false };
  }
}

function addEntry(segment: Segment, entry: IndexEntry): void {
  if (entry.t < segment.firstT) segment.firstT = entry.t;
  if (entry.t > segment.lastT) segment.lastT = entry.t;
  if (entry.kind === 'metrics') segment.metrics.push(entry);
  if (entry.kind !== 'frame') return;
  segment.frames++;
  const key =
    `${VIEW_CODES[entry.view] ?? 'full'}/${STREAM_CODES[entry.stream] ?? 'xy'}` as StreamKey;
  let list = segment.byKey.get(key);
  if (!list) segment.byKey.set(key, (list = []));
  list.push(entry);
}

/** The entries of one list per segment (`pick`) stamped in [from, to], oldest first. */
function* entriesIn(
  segments: readonly Segment[],
  pick: (segment: Segment) => readonly IndexEntry[] | undefined,
  from: number,
  to: number,
): Generator<{ segment: Segment; entry: IndexEntry }> {
  for (const segment of segments) {
    if (segment.lastT < from || segment.firstT > to) continue;
    const list = pick(segment);
    if (!list) continue;
    for (let i = upperBound(list, from - 1e-9); i < list.length && list[i]!.t <= to; i++)
      yield { segment, entry: list[i]! };
  }
}

/** First index whose time is after `t` (entries are in time order: the gateway's clock stamps them). */
function upperBound(list: readonly IndexEntry[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Segments in the order they were begun: `<ms>-<n>` by n within a run's folder. */
function bySegmentOrder(a: string, b: string): number {
  const n = (f: string) => Number(/-(\d+)(\.open)?\.lseg$/.exec(f)?.[1] ?? 0);
  return n(a) - n(b);
}
