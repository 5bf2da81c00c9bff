import type { DisplayedView, LinkMode, StreamKey, ViewerDisplay } from '@/lib/protocol';

/** Reports go at most this often (ms): a pan or a zoom sends a handful per second, the last one always. */
const REPORT_INTERVAL_MS = 250;
export const LINK_MODE_STORAGE_KEY = 'loupe.linkMode';

/**
 * What this tab's slice views show (device pixels, visible region) and the link mode the user
 * chose, sent to the gateway so it can pick each view's level of detail. Throttled with a trailing
 * send, so the gateway always ends up with the latest state.
 */
export class DisplayReporter {
  private readonly views = new Map<string, Map<StreamKey, DisplayedView>>();
  private readonly sentAt = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly last = new Map<string, string>();
  private currentMode: LinkMode = 'auto';
  private readonly listeners = new Set<() => void>();

  constructor(private readonly emit: (display: ViewerDisplay) => void) {
    if (typeof window !== 'undefined') {
      const saved = window.localStorage.getItem(LINK_MODE_STORAGE_KEY);
      if (saved === 'auto' || saved === 'full' || saved === 'saver') this.currentMode = saved;
    }
  }

  get mode(): LinkMode {
    return this.currentMode;
  }

  setMode(mode: LinkMode): void {
    this.currentMode = mode;
    window.localStorage.setItem(LINK_MODE_STORAGE_KEY, mode);
    for (const l of this.listeners) l();
    for (const run of this.views.keys()) this.schedule(run);
  }

  /** For React's useSyncExternalStore. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A view of `run` as drawn now; sent if it changed. */
  /** The streams whose views this tab shows for `run` now. */
  shown(run: string): StreamKey[] {
    return [...(this.views.get(run)?.keys() ?? [])];
  }

  view(run: string, view: DisplayedView): void {
    let views = this.views.get(run);
    if (!views) this.views.set(run, (views = new Map()));
    views.set(view.key, view);
    this.schedule(run);
  }

  /** A view went away (unmounted): the gateway no longer sizes frames for it. */
  drop(run: string, key: StreamKey): void {
    this.views.get(run)?.delete(key);
    this.schedule(run);
  }

  /**
   * Now, before subscribing (after a connect the gateway knows nothing of this tab): the run's
   * snapshot is then sent at the levels and rate this tab's link can take, not all at once whole.
   */
  resend(run: string): void {
    this.last.delete(run);
    this.sentAt.delete(run);
    const t = this.timers.get(run);
    if (t) clearTimeout(t);
    this.timers.delete(run);
    this.schedule(run);
  }

  forget(run: string): void {
    this.views.delete(run);
    this.last.delete(run);
    const t = this.timers.get(run);
    if (t) clearTimeout(t);
    this.timers.delete(run);
  }

  private schedule(run: string): void {
    if (this.timers.has(run)) return;
    const wait = (this.sentAt.get(run) ?? -Infinity) + REPORT_INTERVAL_MS - Date.now();
    const send = () => {
      this.timers.delete(run);
      const display: ViewerDisplay = {
        run,
        mode: this.currentMode,
        views: [...(this.views.get(run)?.values() ?? [])].slice(0, 16),
      };
      const text = JSON.stringify(display);
      if (this.last.get(run) === text) return;
      this.last.set(run, text);
      this.sentAt.set(run, Date.now());
      this.emit(display);
    };
    if (wait <= 0) send();
    else this.timers.set(run, setTimeout(send, wait));
  }
}
