import { type GeotiffWriterMetadata, writeArrayBuffer } from 'geotiff';
import type { Pixels } from '@/lib/protocol';

/** Sample types a slice TIFF may hold: 16-bit unsigned for counts, float32 for reconstructions. */
export type TiffSampleType = 'uint16' | 'float32';

/** The natural TIFF type of a frame: integers stay integers (uint8 widens losslessly to 16 bit). */
export function tiffTypeOf(pixels: Pixels): TiffSampleType {
  return pixels instanceof Float32Array ? 'float32' : 'uint16';
}

/** TIFF ASCII fields are 7-bit: µ becomes u, a middle dot a bar, anything else non-ASCII '?'. */
export function tiffAscii(text: string): string {
  return text
    .replace(/µ/g, 'u')
    .replace(/·/g, '|')
    .replace(/[^\x20-\x7e]/g, '?');
}

/**
 * One slice as a single-page greyscale TIFF (uncompressed, one strip), written with geotiff.js,
 * values unchanged: every reader (ImageJ, tifffile, napari) sees the frame's numbers, not its
 * display. `description` goes into ImageDescription (tag 270): run, plane, position, unit.
 * Writing float32 from integer pixels is exact; uint16 from float32 is refused, not rounded.
 */
export function encodeSliceTiff(
  pixels: Pixels,
  rows: number,
  cols: number,
  type: TiffSampleType,
  description: string,
): ArrayBuffer {
  if (pixels.length !== rows * cols)
    throw new Error(`slice has ${pixels.length} pixels, not ${rows}×${cols}`);
  if (type === 'uint16' && pixels instanceof Float32Array)
    throw new Error('a float32 slice is written as float32, not rounded to 16 bit');
  const values = type === 'float32' ? Float32Array.from(pixels) : Uint16Array.from(pixels);
  // geotiff.js writes any tag it knows by name; its type lists only the GeoTIFF ones.
  const metadata: GeotiffWriterMetadata & { ImageDescription: string } = {
    width: cols,
    height: rows,
    BitsPerSample: [type === 'float32' ? 32 : 16],
    SampleFormat: [type === 'float32' ? 3 : 1],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 1,
    ImageDescription: tiffAscii(description),
  };
  return writeArrayBuffer(values, metadata);
}
