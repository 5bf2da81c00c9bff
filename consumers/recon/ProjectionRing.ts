import type { Projection } from '../detector/ProjectionSource';

/** The projections one reconstruction uses: ring slots and their angles, newest last. */
export interface ProjectionWindow {
  slots: number[];
  angles: number[];
  /** Acquisition time of the newest projection, epoch ms. */
  newestAt: number;
  /** Index (count since start) of the newest projection. */
  newestIndex: number;
  /** Angular range covered, radians (π once a half turn is in). */
  coverage: number;
}

/**
 * The most recent projections, in a fixed number of slots reused oldest first. Slot numbers are
 * shared with the filtered stores, so a projection and its filtered rows live at the same index.
 */
export class ProjectionRing {
  private readonly entries: (Projection | undefined)[];
  private next = 0;
  private newest: Projection | null = null;

  constructor(readonly capacity: number) {
    this.entries = new Array<Projection | undefined>(capacity);
  }

  /** Keeps `projection`, overwriting the oldest once full; returns its slot. */
  push(projection: Projection): number {
    const slot = this.next;
    this.entries[slot] = projection;
    this.next = (this.next + 1) % this.capacity;
    this.newest = projection;
    return slot;
  }

  get size(): number {
    return this.entries.reduce((n, e) => n + (e ? 1 : 0), 0);
  }

  get newestIndex(): number {
    return this.newest?.index ?? -1;
  }

  /** Filled slots with their projections, oldest first. */
  *filled(): Generator<[number, Projection]> {
    for (let k = 0; k < this.capacity; k++) {
      const slot = (this.next + k) % this.capacity;
      const entry = this.entries[slot];
      if (entry) yield [slot, entry];
    }
  }

  /** The projections of the last half turn (angle within π of the newest, newest included). */
  window(): ProjectionWindow {
    const slots: number[] = [];
    const angles: number[] = [];
    const newest = this.newest;
    if (!newest) return { slots, angles, newestAt: 0, newestIndex: -1, coverage: 0 };
    let oldest = newest.angle;
    for (const [slot, p] of this.filled()) {
      if (p.angle <= newest.angle - Math.PI + 1e-9 || p.angle > newest.angle) continue;
      slots.push(slot);
      angles.push(p.angle);
      oldest = Math.min(oldest, p.angle);
    }
    return {
      slots,
      angles,
      newestAt: newest.acquiredAt,
      newestIndex: newest.index,
      coverage: newest.angle - oldest,
    };
  }

  get(slot: number): Projection | undefined {
    return this.entries[slot];
  }
}
