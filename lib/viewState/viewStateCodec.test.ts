import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeViewState, defineViewStateParam, encodeViewState } from './viewStateCodec';

describe('view-state URL codec', () => {
  it('round-trips every field, keeping the window to its significant digits', () => {
    const state = {
      view: 'roi' as const,
      positions: { xy: 40, yz: 70 },
      window: { min: 0.0123456, max: 0.125 },
      colormap: 'viridis' as const,
      volumeMode: 'dvr' as const,
      transfer: [
        { x: 0, opacity: 0 },
        { x: 0.25, opacity: 0.5 },
      ],
    };
    const q = encodeViewState(state);
    expect(q.get('w')).toBe('0.0123456,0.125');
    expect(decodeViewState(q.toString())).toEqual({ state, extras: {}, errors: [] });
  });

  it('drops only the invalid fields of a hand-edited link and says why', () => {
    const { state, errors } = decodeViewState('v=sweep&p=xy:-1,zz:3&w=2,1&c=viridis&tf=0:0');
    expect(state).toEqual({ colormap: 'viridis' });
    expect(errors.map((e) => e.split(':')[0])).toEqual(['view', 'positions', 'window', 'transfer']);
  });

  it('carries a parameter another module defines, validated by its schema', () => {
    defineViewStateParam({
      key: 'tm',
      schema: z.array(z.number().int()).max(3),
      format: (v: number[]) => v.join('.'),
      parse: (t) => t.split('.').map(Number),
    });
    const q = encodeViewState({ colormap: 'grey' }, { tm: [1, 2] });
    expect(decodeViewState(q).extras).toEqual({ tm: [1, 2] });
    expect(decodeViewState('tm=1.2.3.4').errors).toHaveLength(1);
    expect(() =>
      defineViewStateParam({ key: 'w', schema: z.string(), format: String, parse: String }),
    ).toThrow(/built in/);
  });
});
