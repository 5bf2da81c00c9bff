import { open, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ProjectionDataset } from './ProjectionSource';

/**
 * Raw projections with a JSON header, for tools without HDF5:
 *
 *   bytes 0–7    "LOUPEPRJ"
 *   bytes 8–11   header length H, uint32 little-endian
 *   12 … 12+H    header, UTF-8 JSON (RawHeader), padded with spaces to a multiple of 4 bytes
 *   then         flat field and dark field, float32 [height][width] each,
 *                then `count` projections of `dtype` [height][width]; all little-endian.
 */
export const RAW_MAGIC = 'LOUPEPRJ';

export const RawHeader = z
  .object({
    version: z.literal(1),
    width: z.number().int().positive().max(8192),
    height: z.number().int().positive().max(8192),
    count: z.number().int().nonnegative(),
    dtype: z.enum(['uint16', 'float32']),
    /** Pixel edge at the sample, µm. */
    pixelSizeUm: z.number().positive(),
    /** Rotation angle per projection, radians. */
    anglesRad: z.array(z.number().finite()),
  })
  .refine((h) => h.anglesRad.length === h.count, {
    message: 'anglesRad needs one angle per projection',
  });
export type RawHeader = z.infer<typeof RawHeader>;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export async function writeRawProjections(path: string, data: ProjectionDataset): Promise<void> {
  if (!LITTLE_ENDIAN) throw new Error('writing raw projections needs a little-endian host');
  const first = data.count > 0 ? data.projection(0) : new Uint16Array(0);
  const header: RawHeader = {
    version: 1,
    width: data.detector.width,
    height: data.detector.height,
    count: data.count,
    dtype: first instanceof Float32Array ? 'float32' : 'uint16',
    pixelSizeUm: data.detector.pixelSizeUm,
    anglesRad: [...data.angles],
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - ((12 + Buffer.byteLength(json)) % 4)) % 4); // keep pixels 4-byte aligned
  const prefix = Buffer.alloc(12);
  prefix.write(RAW_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(Buffer.byteLength(json), 8);
  const parts: Uint8Array[] = [prefix, Buffer.from(json), bytes(data.flat), bytes(data.dark)];
  for (let i = 0; i < data.count; i++) parts.push(bytes(data.projection(i)));
  await writeFile(path, parts);
}

/** Reads a raw projection file whole; throws with the reason if it is not one. */
export async function readRawProjections(path: string): Promise<ProjectionDataset> {
  const file = await open(path, 'r');
  try {
    const prefix = Buffer.alloc(12);
    await file.read(prefix, 0, 12, 0);
    if (prefix.toString('latin1', 0, 8) !== RAW_MAGIC)
      throw new Error(`${path} is not a Loupe raw projection file`);
    const length = prefix.readUInt32LE(8);
    const json = Buffer.alloc(length);
    await file.read(json, 0, length, 12);
    const header = RawHeader.parse(JSON.parse(json.toString('utf8')));
    const frame = header.width * header.height;
    const size = header.dtype === 'uint16' ? 2 : 4;
    const body = Buffer.alloc(frame * 8 + header.count * frame * size);
    const { bytesRead } = await file.read(body, 0, body.length, 12 + length);
    if (bytesRead !== body.length)
      throw new Error(
        `${path} is truncated: ${bytesRead} of ${body.length} bytes after the header`,
      );
    // Copies into fresh, aligned arrays (the Buffer may sit at any offset of its pool).
    const floats = (offset: number) =>
      new Float32Array(
        body.buffer.slice(body.byteOffset + offset, body.byteOffset + offset + frame * 4),
      );
    const start = frame * 8;
    return {
      detector: { width: header.width, height: header.height, pixelSizeUm: header.pixelSizeUm },
      angles: Float64Array.from(header.anglesRad),
      flat: floats(0),
      dark: floats(frame * 4),
      count: header.count,
      projection(i) {
        const from = body.byteOffset + start + i * frame * size;
        const copy = body.buffer.slice(from, from + frame * size);
        return header.dtype === 'uint16' ? new Uint16Array(copy) : new Float32Array(copy);
      },
    };
  } finally {
    await file.close();
  }
}

function bytes(a: Uint16Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
