/**
 * Gradient-boosted regression trees on binned features (squared loss), small enough to retrain
 * often inside a replay. Written here because the maintained JavaScript tree learners (mljs
 * ml-cart / ml-random-forest) search every split value against every row, O(n²) per feature:
 * 6.8 s for ten depth-6 trees on 1000 rows on the shared machine, hours for a year's replay.
 */
export interface BoostOptions {
  rounds?: number;
  depth?: number;
  learningRate?: number;
  /** Fewest rows in a leaf. */
  minLeaf?: number;
  /** Quantile bins per feature. */
  bins?: number;
}

interface Node {
  feature: number;
  /** Rows with bin ≤ threshold go left. */
  threshold: number;
  left: Node | number;
  right: Node | number;
}

export class BoostedTrees {
  private edges: Float64Array[] = [];
  private trees: (Node | number)[] = [];
  private base = 0;
  private readonly o: Required<BoostOptions>;

  constructor(options: BoostOptions = {}) {
    this.o = { rounds: 60, depth: 4, learningRate: 0.1, minLeaf: 30, bins: 32, ...options };
  }

  private bin(feature: number, x: number): number {
    const e = this.edges[feature]!;
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  train(rows: readonly (readonly number[])[], targets: readonly number[]): this {
    const n = rows.length;
    const d = rows[0]?.length ?? 0;
    // Bin edges: distinct quantiles of each feature.
    this.edges = [];
    for (let f = 0; f < d; f++) {
      const v = rows.map((r) => r[f]!).sort((a, b) => a - b);
      const e: number[] = [];
      for (let b = 1; b < this.o.bins; b++) {
        const x = v[Math.floor((b * n) / this.o.bins)]!;
        if (e.length === 0 || x > e[e.length - 1]!) e.push(x);
      }
      this.edges.push(Float64Array.from(e));
    }
    const binned = rows.map((r) => Uint8Array.from(r, (x, f) => this.bin(f, x)));
    this.base = targets.reduce((s, y) => s + y, 0) / Math.max(n, 1);
    const pred = new Float64Array(n).fill(this.base);
    this.trees = [];
    const all = Array.from({ length: n }, (_, i) => i);
    for (let round = 0; round < this.o.rounds; round++) {
      const residual = Float64Array.from(targets, (y, i) => y - pred[i]!);
      const tree = this.grow(binned, residual, all, 0);
      this.trees.push(tree);
      for (let i = 0; i < n; i++) pred[i]! += this.o.learningRate * this.walk(tree, binned[i]!);
    }
    return this;
  }

  private grow(
    binned: readonly Uint8Array[],
    residual: Float64Array,
    idx: readonly number[],
    depth: number,
  ): Node | number {
    let sum = 0;
    for (const i of idx) sum += residual[i]!;
    const leaf = sum / Math.max(idx.length, 1);
    if (depth >= this.o.depth || idx.length < 2 * this.o.minLeaf) return leaf;
    let best = { gain: 1e-12, feature: -1, threshold: 0 };
    const bins = this.o.bins + 1;
    const s = new Float64Array(bins);
    const c = new Float64Array(bins);
    for (let f = 0; f < this.edges.length; f++) {
      s.fill(0);
      c.fill(0);
      for (const i of idx) {
        const b = binned[i]![f]!;
        s[b]! += residual[i]!;
        c[b]!++;
      }
      let ls = 0;
      let lc = 0;
      for (let b = 0; b < bins - 1; b++) {
        ls += s[b]!;
        lc += c[b]!;
        const rc = idx.length - lc;
        if (lc < this.o.minLeaf || rc < this.o.minLeaf) continue;
        const rs = sum - ls;
        // Reduction of the squared error by splitting here.
        const gain = (ls * ls) / lc + (rs * rs) / rc - (sum * sum) / idx.length;
        if (gain > best.gain) best = { gain, feature: f, threshold: b };
      }
    }
    if (best.feature < 0) return leaf;
    const left: number[] = [];
    const right: number[] = [];
    for (const i of idx) (binned[i]![best.feature]! <= best.threshold ? left : right).push(i);
    return {
      feature: best.feature,
      threshold: best.threshold,
      left: this.grow(binned, residual, left, depth + 1),
      right: this.grow(binned, residual, right, depth + 1),
    };
  }

  private walk(tree: Node | number, binned: Uint8Array): number {
    let t = tree;
    while (typeof t !== 'number') t = binned[t.feature]! <= t.threshold ? t.left : t.right;
    return t;
  }

  predict(row: readonly number[]): number {
    const b = Uint8Array.from(row, (x, f) => this.bin(f, x));
    let y = this.base;
    for (const t of this.trees) y += this.o.learningRate * this.walk(t, b);
    return y;
  }
}
