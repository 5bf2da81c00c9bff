import { z } from 'zod';
import { BrickLevelOfDetail, brickLevelShape, LevelOfDetail, levelShape } from './levelOfDetail';

/** Pixel types a frame may carry. Pixels are always little-endian on the wire. */
export const Dtype = z.enum(['uint8', 'uint16', 'float32']);
export type Dtype = z.infer<typeof Dtype>;

export const BYTES_PER_ELEMENT: Record<Dtype, number> = { uint8: 1, uint16: 2, float32: 4 };

export type Pixels = Uint8Array | Uint16Array | Float32Array;

/** The three orthogonal slice planes, named by the axes they span (z is the rotation axis). */
export const Plane = z.enum(['xy', 'xz', 'yz']);
export type Plane = z.infer<typeof Plane>;
export const PLANES: readonly Plane[] = Plane.options;

/** A stream of a run: one of the slice planes, or the preview volume sent as bricks. */
export const StreamName = z.enum(['xy', 'xz', 'yz', 'volume']);
export type StreamName = z.infer<typeof StreamName>;

/**
 * Which reconstruction a frame belongs to: the whole field of view, the zoomed region, or a
 * rotation-centre sweep (one slice reconstructed at several candidate centres, as a montage).
 */
export const View = z.enum(['full', 'roi', 'sweep']);
export type View = z.infer<typeof View>;

export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'run id: 1-64 of letters, digits, . _ -');
export type RunId = z.infer<typeof RunId>;

/** Largest edge we accept, in pixels: 4096 covers every detector in use at the APS (2048-6144 wide binned). */
export const MAX_EDGE = 4096;
/** A volume's extent along one axis, voxels. */
const Extent = z
  .number()
  .int('shape entries must be integers')
  .positive('shape entries must be > 0');
/** One edge of a frame's pixel array: the limit is part of the schema, so exported schemas keep it. */
const Dim = Extent.max(MAX_EDGE, `no edge may exceed ${MAX_EDGE}`);

/**
 * Region of the full reconstruction volume, in voxels of the full view, half-open [start, end).
 * Axis order is (x, y, z) with z along the rotation axis.
 */
export const Region = z
  .object({
    x: z.tuple([z.number(), z.number()]),
    y: z.tuple([z.number(), z.number()]),
    z: z.tuple([z.number(), z.number()]),
  })
  .strict();
export type Region = z.infer<typeof Region>;

const Millis = z.number().nonnegative().finite();

/** Most candidate centres one sweep may try. */
export const MAX_SWEEP_CANDIDATES = 25;

/**
 * A rotation-centre sweep's montage: `centres.length` tiles of `tile` [rows, cols] side by side,
 * tile k reconstructed about `centres[k]` (detector pixels from the left edge), with its score
 * (slice entropy, nats: lower is sharper) and the centre the scores suggest.
 */
export const SweepInfo = z
  .object({
    centres: z.array(z.number().finite()).min(1).max(MAX_SWEEP_CANDIDATES),
    scores: z.array(z.number().finite()).min(1).max(MAX_SWEEP_CANDIDATES),
    suggested: z.number().finite(),
    tile: z.tuple([Dim, Dim]),
    /** What the scores measure, for the plot's axis. */
    metric: z.string().min(1).max(80),
  })
  .strict();
export type SweepInfo = z.infer<typeof SweepInfo>;

/** What every frame header carries, slice or brick. */
const frameCommon = {
  run: RunId,
  /** Per (run, view, stream), increasing by one per published frame, from 0. */
  seq: z.number().int().nonnegative(),
  dtype: Dtype,
  /** Physical edge of one voxel in micrometres, (x, y, z). */
  voxelSize: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  /** The volume this slice cuts or this brick belongs to, (x, y, z) voxels. */
  volumeShape: z.tuple([Extent, Extent, Extent]).optional(),
  /** For view `roi`: the region of the full volume this reconstruction covers. */
  region: Region.optional(),
  /**
   * Unit of the pixel values, e.g. `1/mm` for a linear attenuation coefficient; absent: unitless
   * or unknown (shown as such).
   */
  unit: z.string().min(1).max(16).optional(),
  /** What the values are, in words: `linear attenuation coefficient`. */
  description: z.string().min(1).max(120).optional(),
  /** Data range of the reconstruction, for a stable window/level across frames. */
  range: z.tuple([z.number(), z.number()]).optional(),
  /** Unix epoch milliseconds: newest projection used, end of reconstruction, sent by the producer. */
  acquiredAt: Millis,
  reconstructedAt: Millis,
  publishedAt: Millis,
  /**
   * Unix epoch milliseconds by the gateway's clock: when it accepted the frame. Stamped by the
   * gateway on every frame it forwards (a producer's value is replaced), so latencies measured
   * from it never mix two hosts' clocks; `publishedAt` stays the producer's.
   */
  acceptedAt: Millis.optional(),
};

/** A slice of one of the three planes: a 2-D pixel array [rows, cols]. */
export const SliceHeader = z
  .object({
    ...frameCommon,
    stream: Plane,
    view: View.default('full'),
    shape: z.tuple([Dim, Dim], { error: 'a slice has a 2-D shape [rows, cols]' }),
    /** Its index along the plane's normal axis, in voxels of the volume it cuts. */
    position: z.number().int().nonnegative().optional(),
    /** For view `sweep`: the candidates of the montage. */
    sweep: SweepInfo.optional(),
    /**
     * Set by the gateway on a slice it reduced or cropped for one viewer (level of detail); never
     * sent by a producer.
     */
    lod: LevelOfDetail.optional(),
  })
  .strict();
export type SliceHeader = z.infer<typeof SliceHeader>;
export type SliceHeaderInput = z.input<typeof SliceHeader>;

/** A brick of the preview volume: a 3-D voxel array [depth, rows, cols] at `brickOffset`. */
export const BrickHeader = z
  .object({
    ...frameCommon,
    stream: z.literal('volume'),
    /** A sweep is a montage of slices; bricks come from the full view or the zoomed region. */
    view: View.exclude(['sweep']).default('full'),
    shape: z.tuple([Dim, Dim, Dim], {
      error: 'a volume brick has a 3-D shape [depth, rows, cols]',
    }),
    /** Its offset in the volume, (x, y, z) voxels; the origin when absent. */
    brickOffset: z
      .tuple([
        z.number().int().nonnegative(),
        z.number().int().nonnegative(),
        z.number().int().nonnegative(),
      ])
      .optional(),
    /**
     * Set by the gateway on a brick it reduced for one viewer on a slow link; never sent by a
     * producer.
     */
    lod: BrickLevelOfDetail.optional(),
  })
  .strict();
export type BrickHeader = z.infer<typeof BrickHeader>;
export type BrickHeaderInput = z.input<typeof BrickHeader>;

/**
 * The JSON header sent with each frame; the pixels travel beside it as one binary attachment.
 * Sent by a producer on `/producer`, forwarded unchanged to viewers. A slice or a volume brick,
 * told apart by `stream`: the shapes' ranks and edge limits are in the types (and so in the
 * exported JSON Schema); only the relations between fields of a sweep are refinements.
 */
export const FrameHeader = z
  .discriminatedUnion('stream', [SliceHeader, BrickHeader])
  .refine((h) => h.stream === 'volume' || (h.view === 'sweep') === (h.sweep !== undefined), {
    message: 'a sweep frame, and only a sweep frame, carries `sweep`',
  })
  .refine(
    (h) =>
      h.stream === 'volume' ||
      !h.sweep ||
      (h.sweep.scores.length === h.sweep.centres.length &&
        h.shape[0] === h.sweep.tile[0] &&
        h.shape[1] === h.sweep.tile[1] * h.sweep.centres.length),
    { message: 'a sweep montage is its tiles side by side, one score per centre' },
  )
  .refine(
    (h) =>
      h.stream === 'volume' ||
      !h.lod ||
      levelShape(h.lod.extent, h.lod.level).join() === h.shape.join(),
    { message: 'a reduced slice has the shape of its extent at its level' },
  )
  .refine(
    (h) =>
      h.stream !== 'volume' ||
      !h.lod ||
      brickLevelShape(h.lod.extent, h.lod.level).join() === h.shape.join(),
    { message: 'a reduced brick has the shape of its extent at its level' },
  );
export type FrameHeader = z.infer<typeof FrameHeader>;
export type FrameHeaderInput = z.input<typeof FrameHeader>;

/** A slice's level of detail when the gateway reduced or cropped it (a brick's is `header.lod`). */
export function lodOf(header: FrameHeader): LevelOfDetail | undefined {
  return header.stream === 'volume' ? undefined : header.lod;
}

/** The level a frame was reduced to for its viewer: 0 for a producer's frame, slice or brick. */
export function levelOf(header: FrameHeader): number {
  return header.lod?.level ?? 0;
}

/** A decoded frame: its header and its pixels as a typed array of the header's dtype. */
export interface Frame {
  header: FrameHeader;
  pixels: Pixels;
}
export interface SliceFrame extends Frame {
  header: SliceHeader;
}
export interface BrickFrame extends Frame {
  header: BrickHeader;
}

export function isSliceFrame(frame: Frame): frame is SliceFrame {
  return frame.header.stream !== 'volume';
}

/** Narrows anything holding a frame (a store's entry) to one holding a slice. */
export function holdsSlice<T extends { frame: Frame }>(
  entry: T,
): entry is T & { frame: SliceFrame } {
  return isSliceFrame(entry.frame);
}

/** Raised for every frame that does not decode; `message` says what is wrong, for the sender. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function frameByteLength(header: Pick<FrameHeader, 'dtype' | 'shape'>): number {
  return elementCount(header.shape) * BYTES_PER_ELEMENT[header.dtype];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function dtypeOf(pixels: Pixels): Dtype {
  if (pixels instanceof Uint8Array) return 'uint8';
  if (pixels instanceof Uint16Array) return 'uint16';
  return 'float32';
}

/**
 * Validates a header and turns typed pixels into the bytes to send. The byte view shares memory
 * with `pixels` on little-endian hosts (all current ones); a big-endian host gets a swapped copy.
 */
export function encodeFrame(
  header: FrameHeaderInput,
  pixels: Pixels,
): { header: FrameHeader; payload: Uint8Array } {
  const parsed = parseHeader(header);
  if (dtypeOf(pixels) !== parsed.dtype) {
    throw new FrameError(`pixels are ${dtypeOf(pixels)} but the header says ${parsed.dtype}`);
  }
  const expected = elementCount(parsed.shape);
  if (pixels.length !== expected) {
    throw new FrameError(
      `shape ${parsed.shape.join('×')} needs ${expected} pixels, got ${pixels.length}`,
    );
  }
  let payload = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  if (!LITTLE_ENDIAN && pixels.BYTES_PER_ELEMENT > 1)
    payload = swapBytes(payload, pixels.BYTES_PER_ELEMENT);
  return { header: parsed, payload };
}

/** Validates a header from the wire and reads its pixels; throws FrameError with the reason. */
export function decodeFrame(header: unknown, payload: unknown): Frame {
  const parsed = parseHeader(header);
  return { header: parsed, pixels: toPixels(frameBytes(parsed, payload), parsed.dtype) };
}

/**
 * A frame's attachment as bytes, checked against its (parsed) header: exactly dtype × shape
 * bytes. No pixel is read or copied, so a gateway that only forwards pays nothing per pixel.
 */
export function frameBytes(
  header: Pick<FrameHeader, 'dtype' | 'shape'>,
  payload: unknown,
): Uint8Array {
  const bytes = asBytes(payload);
  const expected = frameByteLength(header);
  if (bytes.byteLength !== expected) {
    throw new FrameError(
      `${header.dtype} ${header.shape.join('×')} needs ${expected} bytes, got ${bytes.byteLength}`,
    );
  }
  return bytes;
}

export function parseHeader(header: unknown): FrameHeader {
  const result = FrameHeader.safeParse(header);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new FrameError(`invalid frame header: ${where}${issue?.message ?? 'malformed'}`);
  }
  return result.data;
}

/** Accepts what Socket.IO hands over for a binary attachment: Buffer, Uint8Array or ArrayBuffer. */
export function asBytes(payload: unknown): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) {
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  }
  throw new FrameError('frame payload must be one binary attachment');
}

/** Typed view over the bytes; copies only when the offset is misaligned or the host big-endian. */
export function toPixels(bytes: Uint8Array, dtype: Dtype): Pixels {
  const size = BYTES_PER_ELEMENT[dtype];
  let source = bytes;
  if (!LITTLE_ENDIAN && size > 1) source = swapBytes(bytes, size);
  // Copy into a fresh array: a Node Buffer's slice() would only re-view the same misaligned bytes.
  else if (source.byteOffset % size !== 0) source = new Uint8Array(source);
  const count = source.byteLength / size;
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(source.buffer, source.byteOffset, count);
    case 'uint16':
      return new Uint16Array(source.buffer, source.byteOffset, count);
    case 'float32':
      return new Float32Array(source.buffer, source.byteOffset, count);
  }
}

function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  }
  return out;
}

/** Bytes a producer frame may take on the wire: the largest slice (4096² float32) plus its header. */
export const MAX_PRODUCER_MESSAGE_BYTES = MAX_EDGE * MAX_EDGE * 4 + 64 * 1024;
/** Viewers send only small control messages; anything larger is refused by the engine. */
export const MAX_VIEWER_MESSAGE_BYTES = 64 * 1024;
