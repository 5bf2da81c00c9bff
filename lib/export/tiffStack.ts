import type { Pixels } from '@/lib/protocol';
import { encodeSliceTiff, type TiffSampleType } from './sliceTiff';

/** Bytes of one value of each TIFF field type (1 BYTE … 12 DOUBLE); 0: unknown to TIFF 6. */
const TYPE_BYTES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8];
const STRIP_OFFSETS = 273;

export interface StackPage {
  pixels: Pixels;
  rows: number;
  cols: number;
  /** ImageDescription of this page: run, plane, position, time. */
  description: string;
}

/**
 * Frames as one multi-page TIFF (a stack ImageJ, tifffile and napari open as N × rows × cols),
 * values unchanged. Each page is written by geotiff.js (encodeSliceTiff), which writes one image
 * per file; the pages are then laid end to end and chained: every offset of page k (its IFD, its
 * out-of-line tag values, its strip) moves by where page k begins, and each IFD points to the
 * next. geotiff.js writes big-endian, IFD at byte 8, so that is all a page needs.
 */
export function encodeTiffStack(pages: readonly StackPage[], type: TiffSampleType): ArrayBuffer {
  if (pages.length === 0) throw new Error('a TIFF stack needs at least one frame');
  const files = pages.map(
    (p) => new Uint8Array(encodeSliceTiff(p.pixels, p.rows, p.cols, type, p.description)),
  );
  // TIFF offsets must be even (word boundaries).
  const bases: number[] = [];
  let total = 0;
  for (const f of files) {
    bases.push(total);
    total += f.length + (f.length & 1);
  }
  if (total > 0xffffffff) throw new Error('a classic TIFF stack holds at most 4 GiB');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (const [k, f] of files.entries()) {
    const base = bases[k]!;
    out.set(f, base);
    const fview = new DataView(f.buffer, f.byteOffset, f.byteLength);
    if (fview.getUint16(0) !== 0x4d4d || fview.getUint32(4) !== 8)
      throw new Error('unexpected TIFF layout from the encoder');
    const ifd = base + 8;
    const entries = view.getUint16(ifd);
    for (let e = 0; e < entries; e++) {
      const at = ifd + 2 + 12 * e;
      const tag = view.getUint16(at);
      const size = (TYPE_BYTES[view.getUint16(at + 2)] ?? 0) * view.getUint32(at + 4);
      if (size > 4) view.setUint32(at + 8, view.getUint32(at + 8) + base);
      else if (tag === STRIP_OFFSETS) view.setUint32(at + 8, view.getUint32(at + 8) + base);
      if (tag === STRIP_OFFSETS && size > 4)
        throw new Error('a page of more than one strip is not expected from the encoder');
    }
    const next = ifd + 2 + 12 * entries;
    view.setUint32(next, k + 1 < files.length ? bases[k + 1]! + 8 : 0);
  }
  // The first page's header points at its IFD (8) already; the other pages' 8-byte headers are
  // left as unreferenced bytes, which TIFF allows.
  return out.buffer;
}
