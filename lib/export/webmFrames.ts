/** EBML ids (Matroska/WebM) this reader needs. */
const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;
const BLOCK_GROUP = 0xa0;
const BLOCK = 0xa1;
const SIMPLE_BLOCK = 0xa3;
/** Masters read into, not skipped: the frames live in their children. */
const DESCEND = new Set([SEGMENT, CLUSTER, BLOCK_GROUP]);

/** One variable-length integer at `o`: its value (all-ones data bits: unknown size) and length. */
function vint(
  bytes: Uint8Array,
  o: number,
  keepMarker: boolean,
): { value: number; length: number; unknown: boolean } | null {
  const first = bytes[o];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (length > 8 || o + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[o + i]!;
    if (bytes[o + i] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/**
 * Frames (SimpleBlocks and Blocks) per track number of a WebM file, with Segment and Clusters of
 * known size or of unknown size (a live writer's, MediaRecorder's). Reads element headers only; a truncated file
 * counts the frames before the cut.
 */
export function webmFrameCounts(bytes: Uint8Array): Map<number, number> {
  const counts = new Map<number, number>();
  let o = 0;
  while (o < bytes.length) {
    const id = vint(bytes, o, true);
    if (!id) break;
    const size = vint(bytes, o + id.length, false);
    if (!size) break;
    const body = o + id.length + size.length;
    if (DESCEND.has(id.value)) {
      o = body;
      continue;
    }
    if (id.value === SIMPLE_BLOCK || id.value === BLOCK) {
      const track = vint(bytes, body, false);
      if (track) counts.set(track.value, (counts.get(track.value) ?? 0) + 1);
    }
    if (size.unknown) break;
    o = body + size.value;
  }
  return counts;
}

/** Whether the bytes begin as an EBML (WebM/Matroska) file. */
export function isWebm(bytes: Uint8Array): boolean {
  return vint(bytes, 0, true)?.value === EBML;
}
