/**
 * Scenario 12 of ../shared/RELIABILITY.md: property tests of the frame codec (lib/protocol/frame.ts)
 * with fast-check, ≥ 10,000 runs per property under a fixed seed (LOUPE_PROPERTY_SEED to explore
 * others): encode → wire → decode is the identity; any header and any payload give a frame or a
 * FrameError, never another throw; a decoded frame always has exactly shape × dtype bytes.
 * Counterexamples found once are kept in s12-regressions.json and replayed first.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BYTES_PER_ELEMENT,
  decodeFrame,
  type Dtype,
  elementCount,
  encodeFrame,
  FrameError,
  type FrameHeaderInput,
  MAX_EDGE,
  type Pixels,
} from '@/lib/protocol';

const SEED = Number(process.env.LOUPE_PROPERTY_SEED ?? 424_242);
const RUNS = Number(process.env.LOUPE_PROPERTY_RUNS ?? 10_000);

interface Regression {
  property: string;
  seed: number;
  path: string;
}
const REGRESSIONS = (
  JSON.parse(readFileSync(new URL('./s12-regressions.json', import.meta.url), 'utf8')) as {
    cases: Regression[];
  }
).cases;

/** Runs a property: its stored counterexamples first, then RUNS runs from the fixed seed. */
function check<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void): void {
  const property = fc.property(arbitrary, predicate);
  for (const r of REGRESSIONS.filter((c) => c.property === name))
    fc.assert(property, { seed: r.seed, path: r.path, numRuns: 1 });
  const result = fc.check(property, { seed: SEED, numRuns: RUNS });
  if (result.failed)
    throw new Error(
      `property "${name}" failed; store {"property": ${JSON.stringify(name)}, "seed": ${result.seed}, "path": ${JSON.stringify(result.counterexamplePath)}} in s12-regressions.json\n` +
        fc.defaultReportMessage(result),
    );
  expect(result.numRuns).toBe(RUNS);
}

const dtype = fc.constantFrom<Dtype>('uint8', 'uint16', 'float32');
const millis = fc.double({ min: 0, max: 4e12, noNaN: true, noDefaultInfinity: true });
const positive = fc.double({ min: 1e-6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const runId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);

/** A valid header with small dimensions (pixels are generated for each run). */
const validHeader = fc
  .record({
    run: runId,
    plane: fc.constantFrom('xy', 'xz', 'yz', 'volume' as const),
    view: fc.constantFrom('full', 'roi' as const),
    seq: fc.nat(),
    dtype,
    dims: fc.tuple(
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 24 }),
    ),
    voxelSize: fc.tuple(positive, positive, positive),
    acquiredAt: millis,
    reconstructedAt: millis,
    publishedAt: millis,
    position: fc.option(fc.nat({ max: 4096 }), { nil: undefined }),
    range: fc.option(
      fc.tuple(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      ),
      { nil: undefined },
    ),
  })
  .map(({ plane, dims: [a, b, c], position, range, ...rest }): FrameHeaderInput =>
    plane === 'volume'
      ? {
          ...rest,
          stream: plane,
          shape: [a, b, c],
          brickOffset: [0, 0, 0],
          ...(range !== undefined && { range }),
        }
      : {
          ...rest,
          stream: plane,
          shape: [a, b],
          ...(position !== undefined && { position }),
          ...(range !== undefined && { range }),
        },
  );

function pixelsFor(d: Dtype, count: number, seed: number): Pixels {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  if (d === 'uint8') return Uint8Array.from({ length: count }, () => next() & 0xff);
  if (d === 'uint16') return Uint16Array.from({ length: count }, () => next() & 0xffff);
  // Any bit pattern, NaNs and infinities included: pixels are bytes, never interpreted.
  return new Float32Array(Uint32Array.from({ length: count }, () => next()).buffer);
}

/** As Socket.IO hands a binary attachment over: a Buffer, at an arbitrary offset in a larger one. */
function onTheWire(payload: Uint8Array, offset: number): Buffer {
  const wire = Buffer.alloc(payload.byteLength + offset + 3);
  wire.set(payload, offset);
  return wire.subarray(offset, offset + payload.byteLength);
}

const bytesOf = (p: Pixels) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

/** Anything a peer can put in a header's place: JSON values, near-valid headers, odd objects. */
const anyHeader = fc.oneof(
  fc.jsonValue(),
  fc.anything(),
  validHeader.chain((h) =>
    fc
      .record({
        key: fc.constantFrom(...Object.keys(h), 'shape', 'dtype', '__proto__', 'extra'),
        value: fc.jsonValue(),
      })
      .map(({ key, value }) => ({ ...h, [key]: value })),
  ),
  fc.record({
    run: fc.string(),
    stream: fc.string(),
    seq: fc.double(),
    dtype: fc.string(),
    shape: fc.array(fc.double(), { maxLength: 5 }),
    voxelSize: fc.array(fc.double(), { maxLength: 4 }),
    acquiredAt: fc.double(),
    reconstructedAt: fc.double(),
    publishedAt: fc.double(),
  }),
);
const anyPayload = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.uint8Array({ maxLength: 64 }).map((b) => b.buffer),
  fc.uint8Array({ maxLength: 64 }).map((b) => new DataView(b.buffer)),
  fc.anything(),
);

describe('s12 frame decoder properties', () => {
  it(`encode → wire → decode is the identity (${RUNS} runs, seed ${SEED})`, () => {
    check(
      'round-trip',
      fc.tuple(validHeader, fc.nat(), fc.nat({ max: 7 })),
      ([input, seed, offset]) => {
        const pixels = pixelsFor(input.dtype, elementCount(input.shape), seed);
        const { header, payload } = encodeFrame(input, pixels);
        // The header travels as JSON, the pixels as one binary attachment.
        const decoded = decodeFrame(JSON.parse(JSON.stringify(header)), onTheWire(payload, offset));
        expect(JSON.stringify(decoded.header)).toBe(JSON.stringify(header));
        expect(decoded.pixels.constructor).toBe(pixels.constructor);
        expect(bytesOf(decoded.pixels).equals(bytesOf(pixels))).toBe(true);
      },
    );
  });

  it(`any header and any payload give a frame or a FrameError, never another throw (${RUNS} runs)`, () => {
    let refused = 0;
    check('typed-error', fc.tuple(anyHeader, anyPayload), ([header, payload]) => {
      try {
        const frame = decodeFrame(header, payload);
        expect(frame.pixels.byteLength).toBe(
          elementCount(frame.header.shape) * BYTES_PER_ELEMENT[frame.header.dtype],
        );
      } catch (error) {
        refused++;
        if (!(error instanceof FrameError)) throw new Error(`not a FrameError: ${String(error)}`);
        expect(error.message.length).toBeGreaterThan(0);
      }
    });
    expect(refused).toBeGreaterThan(RUNS / 2);
  });

  it(`a frame decodes exactly when its payload has shape × dtype bytes, and no edge exceeds ${MAX_EDGE} (${RUNS} runs)`, () => {
    check(
      'dims-length',
      fc.tuple(
        validHeader,
        fc.integer({ min: -8, max: 8 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 3 * MAX_EDGE }),
      ),
      ([input, delta, oversize, edge]) => {
        const header = oversize
          ? { ...input, shape: input.shape.map((d, i) => (i === 0 ? edge : d)) }
          : input;
        const expected = elementCount(header.shape) * BYTES_PER_ELEMENT[header.dtype];
        const length = Math.max(0, Math.min(expected + delta, 1 << 20));
        const payload = new Uint8Array(length);
        const tooBig = header.shape.some((d) => d > MAX_EDGE);
        let ok: boolean;
        try {
          const frame = decodeFrame(header, payload);
          ok = true;
          expect(frame.pixels.length).toBe(elementCount(frame.header.shape));
          expect(frame.pixels.byteLength).toBe(length);
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          ok = false;
        }
        expect(ok).toBe(!tooBig && length === expected);
      },
    );
  });
});
