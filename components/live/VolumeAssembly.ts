import type { Frame, FrameHeader } from '@/lib/protocol';

/** A brick as the renderer uploads it: 8-bit normalised voxels, x fastest, at `offset` (x, y, z). */
export interface AssembledBrick {
  offset: [number, number, number];
  /** Edge lengths (x, y, z) in voxels. */
  size: [number, number, number];
  data: Uint8Array;
}

/** Largest preview volume we assemble: 2²⁷ voxels = 128 MiB at one byte each, e.g. 512³. */
export const MAX_PREVIEW_VOXELS = 1 << 27;
/** Bricks remembered for renderers that fell behind; further behind, they re-upload the whole volume. */
const LOG_KEPT = 1024;

/**
 * The preview volume of one (run, view), filled brick by brick as they arrive. Voxels are kept
 * normalised to 8 bits over the producer's stated range (linear filtering in a 3-D texture needs a
 * filterable format, and a preview needs no more); renderers ask what changed since the version
 * they drew and upload only those bricks.
 */
export class VolumeAssembly {
  readonly data: Uint8Array;
  /** Bricks received in this volume (a brick that overwrites an earlier one counts again). */
  bricksReceived = 0;
  /** Voxels covered at least once, for the "filled" percentage. */
  voxelsFilled = 0;
  /** Increments with each brick; 0 means empty. */
  version = 0;
  /** Brick positions filled, and whether the latest brick there was reduced for a slow link. */
  private readonly covered = new Map<string, boolean>();
  private readonly log: { version: number; brick: AssembledBrick }[] = [];

  constructor(
    readonly shape: [number, number, number],
    readonly voxelSize: [number, number, number],
    /** Data range that maps to 0…255. */
    readonly range: [number, number],
  ) {
    this.data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  }

  static fits(header: FrameHeader): boolean {
    const s = header.volumeShape;
    return !!s && s[0] * s[1] * s[2] <= MAX_PREVIEW_VOXELS;
  }

  /** Whether `header` belongs to this volume (same shape); a new shape starts a new volume. */
  matches(header: FrameHeader): boolean {
    return header.volumeShape?.join() === this.shape.join();
  }

  get fraction(): number {
    return this.voxelsFilled / this.data.length;
  }

  /** Brick positions whose latest brick came reduced (a slow link), of those filled. */
  get reducedBricks(): number {
    let n = 0;
    for (const reduced of this.covered.values()) if (reduced) n++;
    return n;
  }

  add(frame: Frame): void {
    const { header, pixels } = frame;
    if (header.stream !== 'volume') return; // a slice is no brick
    // A brick the gateway reduced for this viewer's link covers its full-resolution extent; each
    // of its voxels fills the 2^level-sided block it is the mean of (nearest, as slices do).
    const [, rh, rw] = header.shape;
    const [d, h, w] = header.lod?.extent ?? header.shape;
    const f = 2 ** (header.lod?.level ?? 0);
    const [ox, oy, oz] = header.brickOffset ?? [0, 0, 0];
    const [X, Y, Z] = this.shape;
    // Clip bricks that overhang the volume (a producer's last brick may be padded).
    const wx = Math.min(w, X - ox);
    const hy = Math.min(h, Y - oy);
    const dz = Math.min(d, Z - oz);
    if (wx <= 0 || hy <= 0 || dz <= 0) return;
    const [lo, hi] = this.range;
    const k = 255 / Math.max(hi - lo, Number.EPSILON);
    const brick = new Uint8Array(wx * hy * dz);
    for (let z = 0; z < dz; z++) {
      for (let y = 0; y < hy; y++) {
        const src = (((z / f) | 0) * rh + ((y / f) | 0)) * rw;
        const dst = (z * hy + y) * wx;
        const vol = ((oz + z) * Y + (oy + y)) * X + ox;
        for (let x = 0; x < wx; x++) {
          const v = (pixels[src + ((x / f) | 0)]! - lo) * k;
          const b = v <= 0 || !(v === v) ? 0 : v >= 255 ? 255 : Math.round(v);
          brick[dst + x] = b;
          this.data[vol + x] = b;
        }
      }
    }
    const id = `${ox},${oy},${oz}`;
    if (!this.covered.has(id)) this.voxelsFilled += wx * hy * dz;
    this.covered.set(id, f > 1);
    this.bricksReceived++;
    this.version++;
    this.log.push({
      version: this.version,
      brick: { offset: [ox, oy, oz], size: [wx, hy, dz], data: brick },
    });
    if (this.log.length > LOG_KEPT) this.log.shift();
  }

  /** Bricks added after `version`, oldest first; null when the log no longer reaches that far back. */
  changesSince(version: number): AssembledBrick[] | null {
    if (version >= this.version) return [];
    const first = this.log[0];
    if (!first || first.version > version + 1) return null;
    return this.log.filter((e) => e.version > version).map((e) => e.brick);
  }
}
