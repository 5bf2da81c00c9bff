import { z } from 'zod';

/** Coarsest reduction the gateway derives: level 3, every 8×8 block averaged into one pixel. */
export const MAX_LEVEL = 3;

const Edge = z.number().int().positive();
const Offset = z.number().int().nonnegative();

/**
 * On a slice frame the gateway derived for one viewer: which part of the full-resolution slice it
 * covers and how coarsely. Level k averages 2^k × 2^k blocks of full-resolution pixels (area
 * averaging, same dtype; integers rounded half up; the last row and column of blocks average only
 * the pixels that exist). The frame's shape is ceil(extent / 2^k). Absent: the producer's frame,
 * exact and whole.
 */
export const LevelOfDetail = z
  .object({
    level: z.number().int().min(0).max(MAX_LEVEL),
    /** The producer's full-resolution slice, [rows, cols]. */
    fullShape: z.tuple([Edge, Edge]),
    /** Top-left of the covered region, [row, col], in full-resolution pixels. */
    origin: z.tuple([Offset, Offset]),
    /** Size of the covered region, [rows, cols], in full-resolution pixels. */
    extent: z.tuple([Edge, Edge]),
  })
  .strict()
  .refine(
    (l) =>
      l.origin[0] + l.extent[0] <= l.fullShape[0] && l.origin[1] + l.extent[1] <= l.fullShape[1],
    { message: 'the covered region lies inside the full slice' },
  );
export type LevelOfDetail = z.infer<typeof LevelOfDetail>;

/** Pixels of a level's frame for a covered extent: ceil(extent / 2^level) per axis. */
export function levelShape(extent: readonly [number, number], level: number): [number, number] {
  const f = 2 ** level;
  return [Math.ceil(extent[0] / f), Math.ceil(extent[1] / f)];
}

/**
 * On a brick of the preview volume the gateway reduced for one viewer on a slow link: level k
 * averages 2^k × 2^k × 2^k blocks of full-resolution voxels (same rules as a slice's). `extent` is
 * the full-resolution brick, [depth, rows, cols], at the header's `brickOffset`; the brick's shape
 * is ceil(extent / 2^k). Absent: the producer's brick, exact.
 */
export const BrickLevelOfDetail = z
  .object({
    level: z.number().int().min(1).max(MAX_LEVEL),
    extent: z.tuple([Edge, Edge, Edge]),
  })
  .strict();
export type BrickLevelOfDetail = z.infer<typeof BrickLevelOfDetail>;

/** Voxels of a reduced brick: ceil(extent / 2^level) per axis. */
export function brickLevelShape(
  extent: readonly [number, number, number],
  level: number,
): [number, number, number] {
  const f = 2 ** level;
  return [Math.ceil(extent[0] / f), Math.ceil(extent[1] / f), Math.ceil(extent[2] / f)];
}
