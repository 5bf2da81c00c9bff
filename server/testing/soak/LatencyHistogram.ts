/** Millisecond buckets up to 60 s: bounded memory whatever the run's length. */
const BUCKETS = 60_001;

/** A latency histogram with 1 ms resolution, mergeable across processes (plain number arrays). */
export class LatencyHistogram {
  readonly counts: number[];
  total = 0;

  constructor(counts?: readonly number[]) {
    this.counts = counts ? [...counts] : new Array<number>(BUCKETS).fill(0);
    for (const c of this.counts) this.total += c;
  }

  add(ms: number): void {
    const i = Math.min(BUCKETS - 1, Math.max(0, Math.round(ms)));
    this.counts[i]!++;
    this.total++;
  }

  merge(other: LatencyHistogram | readonly number[]): void {
    const counts = Array.isArray(other) ? other : (other as LatencyHistogram).counts;
    for (let i = 0; i < BUCKETS; i++) {
      const c = counts[i] ?? 0;
      this.counts[i]! += c;
      this.total += c;
    }
  }

  /** The p-th percentile in ms (NaN when empty). */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i;
    }
    return BUCKETS - 1;
  }

  /** Sparse form for IPC: [bucket, count] pairs. */
  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((c, i) => c > 0 && out.push([i, c]));
    return out;
  }

  static fromSparse(pairs: readonly [number, number][]): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [i, c] of pairs) {
      h.counts[i]! += c;
      h.total += c;
    }
    return h;
  }
}
