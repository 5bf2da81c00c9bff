import type { ReconFilter } from '@/lib/protocol';
import { reconstructSlice } from '../reconstructSlice';

export interface CentreCandidate {
  centre: number;
  /** Entropy of the slice's histogram, nats: lower is sharper. */
  score: number;
}

export interface CentreSearch {
  candidates: CentreCandidate[];
  /** The suggested centre: the score's minimum, refined between candidates by a parabola. */
  suggested: number;
}

/**
 * Rotation-centre search by reconstruction entropy (Donath et al., J. Opt. Soc. Am. A 23, 1048,
 * 2006): a slice reconstructed about the wrong axis smears every feature into arcs, which spreads
 * its histogram; the right centre gives the most concentrated histogram, the least entropy. All
 * candidates share one histogram range so their entropies compare. The minimum is refined to
 * sub-candidate precision by the parabola through it and its neighbours.
 */
export function findCentre(
  request: {
    sinogram: Float32Array;
    width: number;
    angles: ArrayLike<number>;
    filter?: ReconFilter;
    size?: number;
  },
  centres: readonly number[],
  bins?: number,
): CentreSearch {
  if (centres.length === 0) throw new Error('at least one candidate centre is needed');
  const slices = centres.map((centre) => reconstructSlice({ ...request, centre }));
  const scores = entropyScores(slices, bins);
  const candidates = scores.map((score, k) => ({ centre: centres[k]!, score }));
  return { candidates, suggested: refineMinimum(candidates) };
}

/** What the sweep's scores measure, for people reading the plot. */
export const ENTROPY_METRIC = 'slice entropy (nats, lower is sharper)';

/**
 * Histogram entropy of each slice, all over one shared range so the scores compare (Donath et
 * al. 2006): the right centre concentrates the histogram.
 */
export function entropyScores(
  slices: readonly Float32Array[],
  // About √pixels bins (at most 256): finer bins on a small slice only histogram its noise.
  bins = Math.max(8, Math.min(256, Math.round(Math.sqrt(slices[0]?.length ?? 0)))),
): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of slices)
    for (let i = 0; i < s.length; i++) {
      if (s[i]! < lo) lo = s[i]!;
      if (s[i]! > hi) hi = s[i]!;
    }
  const scale = hi > lo ? bins / (hi - lo) : 0;
  const counts = new Float64Array(bins);
  return slices.map((s) => {
    counts.fill(0);
    for (let i = 0; i < s.length; i++)
      counts[Math.min(bins - 1, Math.floor((s[i]! - lo) * scale))]! += 1;
    let entropy = 0;
    for (const n of counts) if (n > 0) entropy -= (n / s.length) * Math.log(n / s.length);
    return entropy;
  });
}

/** The minimum of scores over centres, refined by the parabola through it and its neighbours. */
export function refineMinimum(candidates: readonly CentreCandidate[]): number {
  const sorted = [...candidates].sort((a, b) => a.centre - b.centre);
  let best = 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.score < sorted[best]!.score) best = i;
  if (best === 0 || best === sorted.length - 1) return sorted[best]!.centre;
  const [a, b, c] = [sorted[best - 1]!, sorted[best]!, sorted[best + 1]!];
  // Vertex of the parabola through three points (unevenly spaced centres allowed).
  const d1 = (b.score - a.score) / (b.centre - a.centre);
  const d2 = (c.score - b.score) / (c.centre - b.centre);
  const curvature = (d2 - d1) / (c.centre - a.centre);
  if (!(curvature > 0)) return b.centre;
  const vertex = (a.centre + b.centre) / 2 - d1 / (2 * curvature);
  return Math.min(c.centre, Math.max(a.centre, vertex));
}
