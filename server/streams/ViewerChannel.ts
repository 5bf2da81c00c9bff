import { type FlowCounters, levelOf, slotKey } from '@/lib/protocol';
import type { StoredFrame } from './RunRegistry';
import type { LinkStamp, ViewerLink } from './ViewerLink';
import { brickBytes, deriveBrickLevel, deriveLevel, isWhole, requestBytes } from './levels';

/** Frames a viewer may have unacknowledged per slot: one drawing, one on the wire. */
export const MAX_IN_FLIGHT = 2;

/** How a frame reaches the viewer: returns after queueing it; calls `done` when the viewer took it. */
export type SendFrame = (frame: StoredFrame, done: () => void) => void;

export interface ChannelCounters {
  /** Frames handed to the socket. */
  delivered: number;
  /** Frames that never left because a newer one of the same slot replaced them. */
  replaced: number;
  /** Frames acknowledged by the viewer. */
  acknowledged: number;
}

type RunCounters = Omit<FlowCounters, 'pending' | 'bufferedBytes'> & {
  deliveredByLevel: [number, number, number, number];
};

interface InFlight {
  at: number;
  bytes: number;
  /** The link estimator's state at sending. */
  stamp: LinkStamp;
}

interface Slot {
  run: string;
  /** Slices go before bricks when the link's budget is short. */
  slice: boolean;
  pending: StoredFrame | null;
  /** Frames sent and not yet acknowledged, oldest first: when sent (ms) and their size. */
  inFlight: InFlight[];
  lastSentAt: number;
}

/** What a channel reports of every frame, for the gateway's metrics (hot path: counters only). */
export interface ChannelObserver {
  sent(frame: StoredFrame): void;
  replaced(frame: StoredFrame): void;
  /** `sentAt`: when the frame was handed to the socket (ms, the channel's clock). */
  acknowledged(frame: StoredFrame, sentAt: number): void;
}

/**
 * Flow control for one viewer: per slot (a slice stream, or one brick position of a volume stream)
 * at most MAX_IN_FLIGHT frames unacknowledged; a newer frame replaces an unsent older one, so a slow
 * viewer sees fewer frames but never older ones, and memory per viewer is bounded by the slot count.
 * Counts, per run, what happened to every frame the run produced while this viewer followed it.
 */
export class ViewerChannel {
  readonly counters: ChannelCounters = { delivered: 0, replaced: 0, acknowledged: 0 };
  private readonly slots = new Map<string, Slot>();
  private readonly runs = new Map<string, RunCounters>();
  private closed = false;

  constructor(
    private readonly send: SendFrame,
    private readonly now: () => number = Date.now,
    private readonly observer?: ChannelObserver,
    /** Levels of detail and the link budget; without it every frame goes whole (flow control only). */
    private readonly link?: ViewerLink,
  ) {}

  /** Starts counting a run's frames for this viewer (on subscribe); a repeated call starts over. */
  follow(run: string): void {
    this.forgetRun(run);
    this.runs.set(run, {
      produced: 0,
      delivered: 0,
      replaced: 0,
      rejected: 0,
      acknowledged: 0,
      deliveredByLevel: [0, 0, 0, 0],
    });
  }

  /** A frame of a followed run: sent now if its slot has room, else it waits, replacing an older one. */
  offer(frame: StoredFrame): void {
    if (this.closed) return;
    const run = frame.header.run;
    const counts = this.runs.get(run);
    if (counts) counts.produced++;
    const id = slotId(frame);
    let slot = this.slots.get(id);
    if (!slot) {
      slot = {
        run,
        slice: frame.header.stream !== 'volume',
        pending: null,
        inFlight: [],
        lastSentAt: -Infinity,
      };
      this.slots.set(id, slot);
    }
    if (slot.slice) this.link?.offered(frame.key, this.now());
    if (slot.pending) this.countReplaced(run, slot.pending);
    slot.pending = frame;
    this.trySend(slot);
  }

  /** The producer sent a frame of `run` that the gateway refused: it counts as produced and rejected. */
  rejected(run: string): void {
    const counts = this.runs.get(run);
    if (!counts || this.closed) return;
    counts.produced++;
    counts.rejected++;
  }

  /** This viewer's counters for `run`, or undefined if it does not follow it. */
  flow(run: string): FlowCounters | undefined {
    const counts = this.runs.get(run);
    if (!counts) return undefined;
    let pending = 0;
    for (const slot of this.slots.values()) if (slot.run === run && slot.pending) pending++;
    return {
      ...counts,
      deliveredByLevel: [...counts.deliveredByLevel],
      pending,
      bufferedBytes: this.bufferedBytes(),
    };
  }

  /** Milliseconds the oldest unacknowledged frame has waited, 0 when nothing is outstanding. */
  stalledFor(): number {
    let oldest = Infinity;
    for (const slot of this.slots.values()) {
      const first = slot.inFlight[0];
      if (first !== undefined && first.at < oldest) oldest = first.at;
    }
    return oldest === Infinity ? 0 : this.now() - oldest;
  }

  /** Frames sent to this viewer and not yet acknowledged, over all its slots. */
  inFlightCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.inFlight.length;
    return n;
  }

  /** Bytes held for this viewer but not yet handed to the socket. */
  pendingBytes(): number {
    let sum = 0;
    for (const slot of this.slots.values()) sum += slot.pending?.payload.byteLength ?? 0;
    return sum;
  }

  /** Bytes sent and unacknowledged plus bytes pending: what this viewer costs the gateway now. */
  bufferedBytes(): number {
    let sum = 0;
    for (const slot of this.slots.values()) {
      sum += slot.pending?.payload.byteLength ?? 0;
      for (const f of slot.inFlight) sum += f.bytes;
    }
    return sum;
  }

  /** Drops every slot of a run (on unsubscribe); pending frames there count as replaced. */
  forgetRun(run: string): void {
    for (const [id, slot] of this.slots) {
      if (slot.run !== run) continue;
      if (slot.pending) this.countReplaced(run, slot.pending);
      slot.pending = null;
      this.slots.delete(id);
    }
    this.runs.delete(run);
  }

  close(): void {
    this.closed = true;
    this.slots.clear();
  }

  private countReplaced(run: string, frame: StoredFrame): void {
    this.counters.replaced++;
    this.observer?.replaced(frame);
    const counts = this.runs.get(run);
    if (counts) counts.replaced++;
  }

  /** Sends the slot's pending frame if the slot has room and the link's budget allows it. */
  private trySend(slot: Slot): boolean {
    const frame = slot.pending;
    if (!frame || slot.inFlight.length >= MAX_IN_FLIGHT) return false;
    let out = frame;
    if (this.link?.adapting) {
      const now = this.now();
      // A slice: the level and region its view and the link call for. A brick: the level at which
      // its volume refreshes in time on this link (bricks are never cropped).
      const request = slot.slice ? this.link.request(frame, this.sliceSlots(), now) : null;
      const brickLevel = request ? 0 : this.link.brickLevel(frame);
      const bytes = request
        ? requestBytes(frame.header.dtype, request)
        : brickBytes(frame, brickLevel);
      // Over the budget, one frame of each kind may still be in flight: a frame larger than the
      // budget goes alone, and a volume whose bricks outweigh the budget fills in one brick at a
      // time beside the slices instead of waiting for a moment with none of them in flight.
      const [kind, all] = this.inFlightBytes(slot.slice);
      if (kind > 0 && all + bytes > this.link.budgetBytes()) return false;
      try {
        out = request ? deriveLevel(frame, request) : deriveBrickLevel(frame, brickLevel);
      } catch {
        // A frame the gateway cannot reduce goes whole: a level of detail is never worth a crash.
        out = frame;
      }
      if (request)
        this.link.sent(
          frame.key,
          request.level,
          !isWhole(frame, { ...request, level: 0 }),
          now,
          bytes,
        );
      else this.link.sent(frame.key, levelOf(out.header), false, now);
    }
    slot.pending = null;
    this.transmit(slot, out);
    return true;
  }

  /** After an acknowledgement: waiting frames go, slices first, the longest-waiting slot first. */
  private pump(): void {
    const waiting = [...this.slots.values()]
      .filter((s) => s.pending && s.inFlight.length < MAX_IN_FLIGHT)
      .sort((a, b) => Number(b.slice) - Number(a.slice) || a.lastSentAt - b.lastSentAt);
    for (const slot of waiting) this.trySend(slot);
  }

  private sliceSlots(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slot.slice) n++;
    return n;
  }

  /** Bytes in flight of slice slots (`slice`) or of brick slots, and of all slots. */
  private inFlightBytes(slice: boolean): [number, number] {
    let kind = 0;
    let all = 0;
    for (const slot of this.slots.values())
      for (const f of slot.inFlight) {
        all += f.bytes;
        if (slot.slice === slice) kind += f.bytes;
      }
    return [kind, all];
  }

  private transmit(slot: Slot, frame: StoredFrame): void {
    const now = this.now();
    const idle = this.inFlightCount() === 0;
    // App-limited: no other frame waits with room in its slot, so only the budget could hold it.
    let waiting = false;
    for (const s of this.slots.values())
      if (s !== slot && s.pending && s.inFlight.length < MAX_IN_FLIGHT) waiting = true;
    const sent: InFlight = {
      at: now,
      bytes: frame.payload.byteLength,
      stamp: this.link?.estimator.stamp(now, idle, !waiting) ?? {
        delivered: 0,
        deliveredAt: now,
        firstSentAt: now,
        appLimited: !waiting,
      },
    };
    slot.inFlight.push(sent);
    slot.lastSentAt = now;
    this.counters.delivered++;
    this.observer?.sent(frame);
    const counts = this.runs.get(slot.run);
    if (counts) {
      counts.delivered++;
      const level = levelOf(frame.header);
      counts.deliveredByLevel[level] = (counts.deliveredByLevel[level] ?? 0) + 1;
    }
    let acknowledged = false;
    this.send(frame, () => {
      if (acknowledged || this.closed) return;
      acknowledged = true;
      const at = this.now();
      this.counters.acknowledged++;
      this.observer?.acknowledged(frame, sent.at);
      this.link?.estimator.acknowledged(sent.bytes, sent.at, sent.stamp, at);
      const c = this.runs.get(slot.run);
      if (c) c.acknowledged++;
      const i = slot.inFlight.indexOf(sent);
      if (i >= 0) slot.inFlight.splice(i, 1);
      if (this.link?.adapting) this.pump();
      else this.trySend(slot);
    });
  }
}

function slotId(frame: StoredFrame): string {
  return `${frame.header.run}|${slotKey(frame.header)}`;
}
