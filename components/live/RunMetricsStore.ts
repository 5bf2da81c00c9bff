import type { DisconnectNotice, RunMetrics } from '@/lib/protocol';

/** Samples kept per run: two minutes at the gateway's one sample per second. */
const KEPT = 120;

/**
 * The gateway's run metrics as they arrive, outside React: the newest sample and a bounded
 * history per run, and the notice of a stall disconnect. Charts sample it a few times a second.
 */
export class RunMetricsStore {
  private readonly history = new Map<string, RunMetrics[]>();
  private currentNotice: DisconnectNotice | null = null;
  private readonly noticeListeners = new Set<() => void>();

  /** Why the gateway disconnected this tab, until it reconnects. */
  get notice(): DisconnectNotice | null {
    return this.currentNotice;
  }

  /** Sets (or, with null, clears) the notice and tells whoever shows it. */
  setNotice(notice: DisconnectNotice | null): void {
    if (notice === this.currentNotice) return;
    this.currentNotice = notice;
    for (const listener of this.noticeListeners) listener();
  }

  /** For React's useSyncExternalStore: called whenever the notice changes. */
  subscribeNotice(listener: () => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  put(metrics: RunMetrics): void {
    let list = this.history.get(metrics.run);
    if (!list) this.history.set(metrics.run, (list = []));
    list.push(metrics);
    if (list.length > KEPT) list.shift();
  }

  latest(run: string): RunMetrics | undefined {
    return this.history.get(run)?.at(-1);
  }

  samples(run: string): readonly RunMetrics[] {
    return this.history.get(run) ?? [];
  }

  forgetRun(run: string): void {
    this.history.delete(run);
  }
}
