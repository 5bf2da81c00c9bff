import { describe, expect, it } from 'vitest';
import { isWebm, webmFrameCounts } from './webmFrames';

/** Element: id bytes, size as a 1-byte vint (or unknown, 8 bytes of ones), body. */
function el(id: number[], body: number[], unknown = false): number[] {
  const size = unknown ? [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : [0x80 | body.length];
  return [...id, ...size, ...body];
}
const simpleBlock = (track: number) => el([0xa3], [0x80 | track, 0, 0, 0x80, 1, 2, 3]);

describe('webmFrameCounts', () => {
  it('counts the blocks of each track through live (unknown-size) segments and clusters', () => {
    const file = new Uint8Array([
      ...el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], [0x77, 0x65, 0x62, 0x6d])),
      ...el(
        [0x18, 0x53, 0x80, 0x67],
        [
          ...el([0x16, 0x54, 0xae, 0x6b], el([0xae], el([0xd7], [1]))),
          ...el(
            [0x1f, 0x43, 0xb6, 0x75],
            [...el([0xe7], [0]), ...simpleBlock(1), ...simpleBlock(1)],
            true,
          ),
          ...el(
            [0x1f, 0x43, 0xb6, 0x75],
            [...el([0xe7], [5]), ...simpleBlock(1), ...el([0xa0], el([0xa1], [0x82, 0, 0, 0]))],
            true,
          ),
        ],
        true,
      ),
    ]);
    expect(isWebm(file)).toBe(true);
    expect(Object.fromEntries(webmFrameCounts(file))).toEqual({ 1: 3, 2: 1 });
    // Cut inside the last cluster: the frames before the cut.
    expect(webmFrameCounts(file.subarray(0, file.length - 10)).get(1)).toBe(3);
  });
});
