import type { StoredFrame } from './RunRegistry';

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

interface Slot {
  inFlight: number;
  pending: StoredFrame | null;
  /** When the oldest unacknowledged frame was sent (ms), for stall detection. */
  oldestSentAt: number[];
}

/**
 * Flow control for one viewer: per slot (a slice stream, or one brick position of a volume stream)
 * at most MAX_IN_FLIGHT frames unacknowledged; a newer frame replaces an unsent older one, so a slow
 * viewer sees fewer frames but never older ones, and memory per viewer is bounded by the slot count.
 */
export class ViewerChannel {
  readonly counters: ChannelCounters = { delivered: 0, replaced: 0, acknowledged: 0 };
  private readonly slots = new Map<string, Slot>();
  private closed = false;

  constructor(
    private readonly send: SendFrame,
    private readonly now: () => number = Date.now,
  ) {}

  offer(frame: StoredFrame): void {
    if (this.closed) return;
    const id = slotId(frame);
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { inFlight: 0, pending: null, oldestSentAt: [] };
      this.slots.set(id, slot);
    }
    if (slot.inFlight < MAX_IN_FLIGHT) {
      this.transmit(slot, frame);
    } else {
      if (slot.pending) this.counters.replaced++;
      slot.pending = frame;
    }
  }

  /** Milliseconds the oldest unacknowledged frame has waited, 0 when nothing is outstanding. */
  stalledFor(): number {
    let oldest = Infinity;
    for (const slot of this.slots.values()) {
      const first = slot.oldestSentAt[0];
      if (first !== undefined && first < oldest) oldest = first;
    }
    return oldest === Infinity ? 0 : this.now() - oldest;
  }

  /** Bytes held for this viewer but not yet handed to the socket. */
  pendingBytes(): number {
    let sum = 0;
    for (const slot of this.slots.values()) sum += slot.pending?.payload.byteLength ?? 0;
    return sum;
  }

  /** Drops every slot of a run (on unsubscribe); pending frames there count as replaced. */
  forgetRun(run: string): void {
    for (const [id, slot] of this.slots) {
      if (!id.startsWith(`${run}|`)) continue;
      if (slot.pending) this.counters.replaced++;
      this.slots.delete(id);
    }
  }

  close(): void {
    this.closed = true;
    this.slots.clear();
  }

  private transmit(slot: Slot, frame: StoredFrame): void {
    slot.inFlight++;
    slot.oldestSentAt.push(this.now());
    this.counters.delivered++;
    let acknowledged = false;
    this.send(frame, () => {
      if (acknowledged || this.closed) return;
      acknowledged = true;
      this.counters.acknowledged++;
      slot.inFlight--;
      slot.oldestSentAt.shift();
      const next = slot.pending;
      if (next) {
        slot.pending = null;
        this.transmit(slot, next);
      }
    });
  }
}

function slotId(frame: StoredFrame): string {
  const { header } = frame;
  const brick = header.stream === 'volume' ? `@${(header.brickOffset ?? [0, 0, 0]).join(',')}` : '';
  return `${header.run}|${frame.key}${brick}`;
}
