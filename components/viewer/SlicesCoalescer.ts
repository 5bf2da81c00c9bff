import type { Plane } from '@/lib/protocol';

export type SlicePositions = Partial<Record<Plane, number>>;

/**
 * Turns a stream of plane positions (one per pointer move or key repeat while dragging) into
 * few `set-slices` commands: at most one in flight, and when it settles only the newest positions
 * not yet sent go out, at least `minGapMs` after the previous send. Nothing is sent for positions
 * equal to the last sent ones.
 */
export class SlicesCoalescer {
  private sent: SlicePositions = {};
  private pending: SlicePositions | null = null;
  private inFlight = false;
  private lastSentAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly send: (positions: SlicePositions) => Promise<unknown>,
    private readonly minGapMs = 150,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Positions wanted now; supersedes any not yet sent. */
  want(positions: SlicePositions): void {
    this.pending = { ...(this.pending ?? {}), ...positions };
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private changes(): SlicePositions | null {
    if (!this.pending) return null;
    const out: SlicePositions = {};
    for (const [plane, p] of Object.entries(this.pending) as [Plane, number][])
      if (this.sent[plane] !== p) out[plane] = p;
    return Object.keys(out).length > 0 ? out : null;
  }

  private pump(): void {
    if (this.closed || this.inFlight || this.timer) return;
    const next = this.changes();
    if (!next) return void (this.pending = null);
    const wait = this.lastSentAt + this.minGapMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      return;
    }
    this.pending = null;
    this.inFlight = true;
    this.lastSentAt = this.now();
    this.sent = { ...this.sent, ...next };
    void this.send(next)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }
}
