import { readdirSync } from 'node:fs';

export interface ResourceSample {
  at: number;
  rss: number;
  heapUsed: number;
  fds: number;
}

/** Open file descriptors of this process (Linux /proc), or -1 where /proc is absent. */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/**
 * Samples this process's RSS, heap and open descriptors on a timer, for the memory criteria of
 * the fault scenarios (growth, peak, slope). Bounded: keeps at most `maxSamples`, halving the
 * resolution when full.
 */
export class ResourceSampler {
  readonly samples: ResourceSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    everyMs = 250,
    private readonly maxSamples = 4000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): ResourceSample {
    const m = process.memoryUsage();
    const s = { at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, fds: openFds() };
    this.samples.push(s);
    if (this.samples.length > this.maxSamples) {
      const kept = this.samples.filter((_, i) => i % 2 === 0);
      this.samples.splice(0, this.samples.length, ...kept);
    }
    return s;
  }

  /** Samples taken from `from` (ms epoch) on. */
  since(from: number): ResourceSample[] {
    return this.samples.filter((s) => s.at >= from);
  }

  /** Highest RSS from `from` on, bytes. */
  peakRss(from = 0): number {
    return Math.max(...this.since(from).map((s) => s.rss));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Least-squares slope of `value` over time, in units per minute. */
export function slopePerMinute(points: readonly { at: number; value: number }[]): number {
  if (points.length < 2) return 0;
  const t0 = points[0]!.at;
  const xs = points.map((p) => (p.at - t0) / 60_000);
  const ys = points.map((p) => p.value);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
