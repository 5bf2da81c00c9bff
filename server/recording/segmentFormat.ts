import { crc32 } from 'node:zlib';

/**
 * On-disk layout of a recording segment, version 2 (docs/recording.md is the reference). Version 2
 * added the `metrics` record kind; version 1 segments (frames, markers, gaps) read unchanged.
 *
 * Segment file `<run>/<first-ms>-<n>.lseg` (`.open.lseg` while it is written):
 *   "LOUPESEG" (8 bytes ASCII) · u32 version · u32 n · n bytes of JSON `{run, createdAt}`
 *   then records, each:
 *   u32 RECORD_MAGIC · u8 kind · 3 bytes zero · u32 jsonLength · u32 payloadLength · f64 t (Unix ms)
 *   · u32 crc32(json ‖ payload) · json (UTF-8) · payload
 * All integers little-endian. A frame record's JSON is the frame's header as fanned out (with
 * `publishedAt`), its payload the raw little-endian pixels; a marker's JSON is the marker, a gap's
 * the dropped span, a metrics record's the producer's own sample (ProducerMetrics); none of these
 * has a payload.
 *
 * Index file beside it (`.lidx`): one INDEX_ENTRY_BYTES entry per record, in order:
 *   f64 t · u32 offset · u32 length · u32 seq · u8 kind · u8 view · u8 stream · u8 zero
 */
export const SEGMENT_MAGIC = 'LOUPESEG';
export const SEGMENT_VERSION = 2;
/** Versions this reader understands: every one so far. */
export const READABLE_SEGMENT_VERSIONS: readonly number[] = [1, 2];
export const RECORD_MAGIC = 0x4c524543; // "CERL" little-endian: 'LREC' read as a number
export const RECORD_HEADER_BYTES = 28;
export const INDEX_ENTRY_BYTES = 24;

/** Record kinds by code; new kinds are appended (and bump SEGMENT_VERSION), never reordered. */
export const RECORD_KINDS = ['frame', 'marker', 'gap', 'metrics'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];
export const VIEW_CODES = ['full', 'roi', 'sweep'] as const;
export const STREAM_CODES = ['xy', 'xz', 'yz', 'volume'] as const;

/** Where one record sits in its segment, and what it is. */
export interface IndexEntry {
  t: number;
  offset: number;
  length: number;
  seq: number;
  kind: RecordKind;
  /** Index in VIEW_CODES / STREAM_CODES (0 for markers, gaps and metrics). */
  view: number;
  stream: number;
}

export function segmentHeader(run: string, createdAt: number): Buffer {
  const json = Buffer.from(JSON.stringify({ run, createdAt }));
  const head = Buffer.alloc(16);
  head.write(SEGMENT_MAGIC, 0, 'latin1');
  head.writeUInt32LE(SEGMENT_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  return Buffer.concat([head, json]);
}

/**
 * Length of a segment's header, or an error saying why the file is no segment this reader can
 * use; `unsupported` marks a whole header of a version it does not know (a newer gateway's).
 */
export function readSegmentHeader(
  data: Buffer,
): { length: number } | { error: string; unsupported?: true } {
  if (data.length < 16 || data.toString('latin1', 0, 8) !== SEGMENT_MAGIC)
    return { error: 'not a Loupe segment (magic)' };
  const version = data.readUInt32LE(8);
  if (!READABLE_SEGMENT_VERSIONS.includes(version))
    return { error: `segment version ${version} is not supported`, unsupported: true };
  const length = 16 + data.readUInt32LE(12);
  if (length > data.length) return { error: 'segment header is torn' };
  return { length };
}

/** The bytes of one record (header, JSON, payload) as a list for writev. */
export function encodeRecord(
  kind: RecordKind,
  t: number,
  json: Buffer,
  payload: Uint8Array | null,
): Buffer[] {
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  head.writeUInt32LE(RECORD_MAGIC, 0);
  head.writeUInt8(RECORD_KINDS.indexOf(kind), 4);
  head.writeUInt32LE(json.length, 8);
  head.writeUInt32LE(payload?.byteLength ?? 0, 12);
  head.writeDoubleLE(t, 16);
  let crc = crc32(json);
  if (payload) crc = crc32(payload, crc);
  head.writeUInt32LE(crc, 24);
  const body = payload ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) : null;
  return body ? [head, json, body] : [head, json];
}

export interface DecodedRecord {
  kind: RecordKind;
  t: number;
  json: Buffer;
  payload: Buffer;
  /** Bytes the record takes, header included. */
  length: number;
}

/**
 * Decodes the record at `offset`, or returns null when the bytes there are not a whole, intact
 * record (torn write, garbage): the caller truncates the segment at that point.
 */
export function decodeRecord(data: Buffer, offset: number): DecodedRecord | null {
  if (offset + RECORD_HEADER_BYTES > data.length) return null;
  if (data.readUInt32LE(offset) !== RECORD_MAGIC) return null;
  const kind = RECORD_KINDS[data.readUInt8(offset + 4)];
  if (!kind) return null;
  const jsonLength = data.readUInt32LE(offset + 8);
  const payloadLength = data.readUInt32LE(offset + 12);
  const length = RECORD_HEADER_BYTES + jsonLength + payloadLength;
  if (offset + length > data.length) return null;
  const jsonStart = offset + RECORD_HEADER_BYTES;
  const json = data.subarray(jsonStart, jsonStart + jsonLength);
  const payload = data.subarray(jsonStart + jsonLength, offset + length);
  if (crc32(payload, crc32(json)) !== data.readUInt32LE(offset + 24)) return null;
  return { kind, t: data.readDoubleLE(offset + 16), json, payload, length };
}

export function encodeIndexEntry(entry: IndexEntry): Buffer {
  const b = Buffer.alloc(INDEX_ENTRY_BYTES);
  b.writeDoubleLE(entry.t, 0);
  b.writeUInt32LE(entry.offset, 8);
  b.writeUInt32LE(entry.length, 12);
  b.writeUInt32LE(entry.seq, 16);
  b.writeUInt8(RECORD_KINDS.indexOf(entry.kind), 20);
  b.writeUInt8(entry.view, 21);
  b.writeUInt8(entry.stream, 22);
  return b;
}

export function decodeIndex(data: Buffer): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (let o = 0; o + INDEX_ENTRY_BYTES <= data.length; o += INDEX_ENTRY_BYTES) {
    const kind = RECORD_KINDS[data.readUInt8(o + 20)];
    if (!kind) break;
    entries.push({
      t: data.readDoubleLE(o),
      offset: data.readUInt32LE(o + 8),
      length: data.readUInt32LE(o + 12),
      seq: data.readUInt32LE(o + 16),
      kind,
      view: data.readUInt8(o + 21),
      stream: data.readUInt8(o + 22),
    });
  }
  return entries;
}

/** The index entry of a decoded record at `offset` (frames carry view, stream and seq in JSON). */
export function entryOf(record: DecodedRecord, offset: number): IndexEntry {
  let seq = 0;
  let view = 0;
  let stream = 0;
  if (record.kind === 'frame') {
    const h = JSON.parse(record.json.toString('utf8')) as {
      seq: number;
      view: (typeof VIEW_CODES)[number];
      stream: (typeof STREAM_CODES)[number];
    };
    seq = h.seq;
    view = VIEW_CODES.indexOf(h.view);
    stream = STREAM_CODES.indexOf(h.stream);
  }
  return { t: record.t, offset, length: record.length, seq, kind: record.kind, view, stream };
}
