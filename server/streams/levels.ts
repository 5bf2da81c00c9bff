import {
  type BrickLevelOfDetail,
  brickLevelShape,
  BYTES_PER_ELEMENT,
  type Dtype,
  encodeFrame,
  type LevelOfDetail,
  levelShape,
  type Pixels,
  toPixels,
} from '@/lib/protocol';
import type { StoredFrame } from './RunRegistry';

/** What one viewer needs of a slice: a level, and the full-resolution region it covers. */
export interface LevelRequest {
  level: number;
  /** [row, col] of the region's top-left, full-resolution pixels. */
  origin: [number, number];
  /** [rows, cols] of the region, full-resolution pixels. */
  extent: [number, number];
}

/**
 * Area average of a region of a row-major slice in blocks of `factor` × `factor`, keeping the dtype:
 * integers are rounded half up, float32 is averaged in float64. Blocks on the region's last row and
 * column average only the pixels that exist, so an odd edge is never padded with zeros.
 */
export function reduceArea(
  pixels: Pixels,
  cols: number,
  factor: number,
  origin: readonly [number, number],
  extent: readonly [number, number],
): Pixels {
  const [outRows, outCols] = [Math.ceil(extent[0] / factor), Math.ceil(extent[1] / factor)];
  const sums = new Float64Array(outCols);
  const out = emptyLike(pixels, outRows * outCols);
  const integer = !(pixels instanceof Float32Array);
  const [r0, c0] = origin;
  for (let or = 0; or < outRows; or++) {
    sums.fill(0);
    const rowStart = or * factor;
    const rowEnd = Math.min(rowStart + factor, extent[0]);
    for (let r = rowStart; r < rowEnd; r++) {
      const base = (r0 + r) * cols + c0;
      for (let c = 0; c < extent[1]; c++) {
        const o = (c / factor) | 0;
        sums[o] = sums[o]! + pixels[base + c]!;
      }
    }
    const blockRows = rowEnd - rowStart;
    for (let oc = 0; oc < outCols; oc++) {
      const blockCols = Math.min(factor, extent[1] - oc * factor);
      const mean = sums[oc]! / (blockRows * blockCols);
      out[or * outCols + oc] = integer ? Math.floor(mean + 0.5) : mean;
    }
  }
  return out;
}

/**
 * Mean of `factor`³ blocks of a brick of `shape` [depth, rows, cols] (cols fastest), keeping the
 * dtype as reduceArea does; blocks on an odd edge average only the voxels that exist.
 */
export function reduceVolume(
  voxels: Pixels,
  shape: readonly [number, number, number],
  factor: number,
): Pixels {
  const [d, h, w] = shape;
  const [od, oh, ow] = brickLevelShape(shape, Math.log2(factor));
  const sums = new Float64Array(oh * ow);
  const counts = new Uint32Array(oh * ow);
  const out = emptyLike(voxels, od * oh * ow);
  const integer = !(voxels instanceof Float32Array);
  for (let oz = 0; oz < od; oz++) {
    sums.fill(0);
    counts.fill(0);
    for (let z = oz * factor; z < Math.min((oz + 1) * factor, d); z++)
      for (let y = 0; y < h; y++) {
        const row = ((y / factor) | 0) * ow;
        const base = (z * h + y) * w;
        for (let x = 0; x < w; x++) {
          const o = row + ((x / factor) | 0);
          sums[o] = sums[o]! + voxels[base + x]!;
          counts[o] = counts[o]! + 1;
        }
      }
    for (let i = 0; i < oh * ow; i++) {
      const mean = sums[i]! / counts[i]!;
      out[oz * oh * ow + i] = integer ? Math.floor(mean + 0.5) : mean;
    }
  }
  return out;
}

function emptyLike(pixels: Pixels, length: number): Pixels {
  if (pixels instanceof Uint8Array) return new Uint8Array(length);
  if (pixels instanceof Uint16Array) return new Uint16Array(length);
  return new Float32Array(length);
}

/** Most derived versions kept per frame: a few levels plus a few viewers' zoomed regions. */
const MAX_DERIVED_PER_FRAME = 8;
const derived = new WeakMap<StoredFrame, Map<string, StoredFrame>>();

/** Whether a request is the whole frame at full resolution (sent as is). */
export function isWhole(frame: StoredFrame, request: LevelRequest): boolean {
  const [rows, cols] = frame.header.shape as [number, number];
  return (
    request.level === 0 &&
    request.origin[0] === 0 &&
    request.origin[1] === 0 &&
    request.extent[0] === rows &&
    request.extent[1] === cols
  );
}

/**
 * The version of a slice a viewer asked for, derived on first need and kept with the frame (a
 * WeakMap: it goes when the frame goes), so every viewer that wants the same level or region of the
 * same frame shares one computation. The whole frame at level 0 is the frame itself.
 */
export function deriveLevel(frame: StoredFrame, request: LevelRequest): StoredFrame {
  // A sweep is a montage of tiles whose geometry its header states: it is sent whole.
  const { header } = frame;
  if (header.stream === 'volume' || header.view === 'sweep' || isWhole(frame, request))
    return frame;
  const id = `${request.level}|${request.origin.join(',')}|${request.extent.join(',')}`;
  return derivedOnce(frame, id, () => {
    const [rows, cols] = header.shape;
    const source = toPixels(frame.payload, header.dtype);
    const pixels = reduceArea(source, cols, 2 ** request.level, request.origin, request.extent);
    const lod: LevelOfDetail = {
      level: request.level,
      fullShape: [rows, cols],
      origin: request.origin,
      extent: request.extent,
    };
    return encodeFrame(
      { ...header, shape: levelShape(request.extent, request.level), lod },
      pixels,
    );
  });
}

/**
 * The version `id` of `frame`, made by `make` on first need and kept with the frame (at most
 * MAX_DERIVED_PER_FRAME versions, the oldest dropped first).
 */
function derivedOnce(
  frame: StoredFrame,
  id: string,
  make: () => ReturnType<typeof encodeFrame>,
): StoredFrame {
  let cache = derived.get(frame);
  const hit = cache?.get(id);
  if (hit) return hit;
  const encoded = make();
  const made: StoredFrame = {
    key: frame.key,
    header: { ...encoded.header, acceptedAt: frame.header.acceptedAt },
    payload: encoded.payload,
  };
  if (!cache) derived.set(frame, (cache = new Map()));
  if (cache.size >= MAX_DERIVED_PER_FRAME) cache.delete(cache.keys().next().value!);
  cache.set(id, made);
  return made;
}

/**
 * A brick of the preview volume at `level` for viewers on slow links, derived on first need and
 * shared like deriveLevel's slices; level 0 is the brick itself.
 */
export function deriveBrickLevel(frame: StoredFrame, level: number): StoredFrame {
  const { header } = frame;
  if (header.stream !== 'volume' || level === 0 || header.lod) return frame;
  return derivedOnce(frame, `brick|${level}`, () => {
    const extent = header.shape;
    const voxels = reduceVolume(toPixels(frame.payload, header.dtype), extent, 2 ** level);
    const lod: BrickLevelOfDetail = { level, extent: [...extent] };
    return encodeFrame({ ...header, shape: brickLevelShape(extent, level), lod }, voxels);
  });
}

/** Bytes of a brick at `level`, without deriving it. */
export function brickBytes(frame: StoredFrame, level: number): number {
  if (frame.header.stream !== 'volume' || level === 0) return frame.payload.byteLength;
  const [d, h, w] = brickLevelShape(frame.header.shape, level);
  return d * h * w * BYTES_PER_ELEMENT[frame.header.dtype];
}

/** Bytes of a request's frame, without deriving it. */
export function requestBytes(dtype: Dtype, request: LevelRequest): number {
  const [r, c] = levelShape(request.extent, request.level);
  return r * c * BYTES_PER_ELEMENT[dtype];
}
