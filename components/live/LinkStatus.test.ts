import { describe, expect, it } from 'vitest';
import type { LinkReport, StreamKey } from '@/lib/protocol';
import { describeLink } from './LinkStatus';

const stream = (key: StreamKey, level: number, framesPerSecond: number) => ({
  key,
  level,
  cropped: false,
  framesPerSecond,
});

describe('describeLink', () => {
  const link = {
    mode: 'auto',
    slow: true,
    streams: [
      stream('full/xy', 1, 4.2),
      stream('full/xz', 1, 3.9),
      stream('full/yz', 1, 4.1),
      // The snapshot's frame of the zoomed-region view, which this tab does not show.
      stream('roi/xy', 0, 0),
      stream('full/volume', 1, 2),
    ],
  } satisfies LinkReport;

  it('describes the streams of the views on screen', () => {
    expect(describeLink(link, ['full/xy', 'full/xz', 'full/yz'])).toBe(
      '½ resolution, 4 Hz — slow link',
    );
  });

  it('without the views on screen, every slice stream counts', () => {
    expect(describeLink(link)).toBe('½ resolution, 0.0 Hz — slow link');
  });
});
