import { afterEach, describe, expect, it, vi } from 'vitest';
import { SlicesCoalescer, type SlicePositions } from './SlicesCoalescer';

afterEach(() => vi.useRealTimers());

describe('SlicesCoalescer', () => {
  it('sends the first position at once and only the newest one of a drag after it settles', async () => {
    vi.useFakeTimers();
    const sent: SlicePositions[] = [];
    let settle: () => void = () => undefined;
    const c = new SlicesCoalescer(
      (p) => {
        sent.push(p);
        return new Promise<void>((r) => (settle = r));
      },
      150,
      () => Date.now(),
    );
    c.want({ xy: 10 });
    for (let z = 11; z <= 40; z++) c.want({ xy: z, yz: 5 });
    expect(sent).toEqual([{ xy: 10 }]);
    settle();
    await vi.advanceTimersByTimeAsync(200);
    expect(sent).toEqual([{ xy: 10 }, { xy: 40, yz: 5 }]);
    settle();
    await vi.advanceTimersByTimeAsync(200);
    // Positions already sent are not sent again; a changed plane goes alone.
    c.want({ xy: 40, yz: 5 });
    c.want({ yz: 6 });
    settle();
    await vi.advanceTimersByTimeAsync(200);
    expect(sent).toEqual([{ xy: 10 }, { xy: 40, yz: 5 }, { yz: 6 }]);
    c.close();
  });

  it('keeps going after a failed send, and sends nothing once closed', async () => {
    vi.useFakeTimers();
    const sent: SlicePositions[] = [];
    const c = new SlicesCoalescer((p) => {
      sent.push(p);
      return Promise.reject(new Error('gateway down'));
    }, 100);
    c.want({ xz: 1 });
    c.want({ xz: 2 });
    await vi.advanceTimersByTimeAsync(150);
    expect(sent).toEqual([{ xz: 1 }, { xz: 2 }]);
    c.close();
    c.want({ xz: 3 });
    await vi.advanceTimersByTimeAsync(150);
    expect(sent).toHaveLength(2);
  });
});
