import type { SystemSnapshot, WaitEstimate } from '@/lib/protocol';
import type { FacilityStore } from './FacilityStore';

export interface SnapshotHistoryOptions {
  /** Shortest gap between two history rows of one system (ms, on the snapshots' clock). */
  everyMs: number;
  /** The wait of the default job on `system` now, stored with its row. */
  estimate(system: string): WaitEstimate;
  /** Queues one write of the store behind the others (never throws). */
  write(fn: (store: FacilityStore) => Promise<unknown>): void;
}

/** Stores each system's snapshot, with the default job's wait, at most once per `everyMs`. */
export class SnapshotHistory {
  private readonly last = new Map<string, number>();

  constructor(private readonly o: SnapshotHistoryOptions) {}

  record(s: SystemSnapshot): void {
    const last = this.last.get(s.system) ?? 0;
    if (s.readAt - last < this.o.everyMs) return;
    this.last.set(s.system, s.readAt);
    const e = this.o.estimate(s.system);
    const row = {
      system: s.system,
      at: s.readAt,
      status: s.status,
      stale: s.stale ? 1 : 0,
      queued: s.queue.queued,
      running: s.queue.running,
      queued_node_hours: s.queue.queuedNodeHours,
      free_nodes: s.queue.freeNodes,
      wait_median_s: e.method === 'none' ? null : e.median,
      wait_bound95_s: e.method === 'none' ? null : e.bound95,
      snapshot: JSON.stringify(s),
    };
    this.o.write((store) => store.addSnapshot(row));
  }
}
