/**
 * Predicts a job's runtime from its requested walltime, learning from jobs that have ended (users'
 * requests overestimate: on the ALCF Theta 2022 trace the median runtime is 0.8 of the request, a
 * quarter of jobs use under 16%). Per walltime class (powers of two of an hour), the median
 * runtime/request ratio of the class's most recent ends; the class borrows the overall ratio until
 * it has enough ends of its own.
 */
export class RuntimeModel {
  private readonly byClass = new Map<number, number[]>();
  private readonly all: number[] = [];

  constructor(
    private readonly window = 200,
    private readonly minClass = 20,
    private readonly fallback = 0.6,
  ) {}

  private static classOf(walltimeS: number): number {
    return Math.round(Math.log2(Math.max(walltimeS, 60) / 3600));
  }

  /** A job that ended: ratio of its runtime to its request. */
  observe(walltimeS: number, runS: number): void {
    const r = Math.min(Math.max(runS / walltimeS, 0), 1.5);
    const c = RuntimeModel.classOf(walltimeS);
    let list = this.byClass.get(c);
    if (!list) this.byClass.set(c, (list = []));
    list.push(r);
    if (list.length > this.window) list.shift();
    this.all.push(r);
    if (this.all.length > this.window) this.all.shift();
  }

  private static median(a: readonly number[]): number {
    const s = [...a].sort((x, y) => x - y);
    return s[s.length >> 1]!;
  }

  /** The ratio for this request: the class median, else the overall, else the fallback. */
  ratio(walltimeS: number): number {
    const list = this.byClass.get(RuntimeModel.classOf(walltimeS));
    if (list && list.length >= this.minClass) return RuntimeModel.median(list);
    return this.all.length >= this.minClass ? RuntimeModel.median(this.all) : this.fallback;
  }

  /** Predicted runtime (s) of a request, from the ratios as they are now (frozen: cheap per call). */
  snapshot(): (walltimeS: number) => number {
    const cache = new Map<number, number>();
    return (walltimeS) => {
      const c = RuntimeModel.classOf(walltimeS);
      let r = cache.get(c);
      if (r === undefined) cache.set(c, (r = this.ratio(walltimeS)));
      return walltimeS * r;
    };
  }
}
