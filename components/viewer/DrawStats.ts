/** Draws kept per plane for the rate and latency figures: about 4 s at 30 Hz. */
const KEPT = 120;

interface Sample {
  /** performance.now() when drawn. */
  at: number;
  /** Publication → drawing, ms, by the wall clock (gateway and browser clocks; skew shows here). */
  latencyMs: number;
}

/** Draw timings of a run page, written per drawn frame, read by the stats bar a few times a second. */
export class DrawStats {
  private readonly samples = new Map<string, Sample[]>();

  recordDraw(plane: string, publishedAt: number): void {
    let list = this.samples.get(plane);
    if (!list) this.samples.set(plane, (list = []));
    list.push({ at: performance.now(), latencyMs: Date.now() - publishedAt });
    if (list.length > KEPT) list.shift();
  }

  /** Frames drawn per second on `plane` over the last `windowMs`. */
  fps(plane: string, now: number, windowMs = 3000): number {
    const recent = (this.samples.get(plane) ?? []).filter((s) => now - s.at <= windowMs);
    if (recent.length < 2) return 0;
    return ((recent.length - 1) * 1000) / (recent[recent.length - 1]!.at - recent[0]!.at);
  }

  /** Median publication → drawing latency over recent draws of all planes, ms. */
  medianLatency(now: number, windowMs = 3000): number | null {
    const all = [...this.samples.values()]
      .flat()
      .filter((s) => now - s.at <= windowMs)
      .map((s) => s.latencyMs);
    if (all.length === 0) return null;
    all.sort((a, b) => a - b);
    return all[Math.floor(all.length / 2)]!;
  }
}
