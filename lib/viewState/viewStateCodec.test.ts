import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { measurementsParam } from '@/lib/measure/measurementsParam';
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
      panZoom: {
        xy: { zoom: 2.5, centerCol: 40.5, centerRow: 61.25 },
        yz: { zoom: 0.5, centerCol: -3, centerRow: 200.1234567890123 },
      },
    };
    const q = encodeViewState(state);
    expect(q.get('w')).toBe('0.0123456,0.125');
    expect(q.get('z')).toBe('xy:2.5:40.5:61.25,yz:0.5:-3:200.1234567890123');
    expect(decodeViewState(q.toString())).toEqual({ state, extras: {}, errors: [] });
  });

  it('drops only the invalid fields of a hand-edited link and says why', () => {
    const { state, errors } = decodeViewState(
      'v=sweep&p=xy:-1,zz:3&w=2,1&c=viridis&tf=0:0&z=xy:1000:1:1',
    );
    expect(state).toEqual({ colormap: 'viridis' });
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'view',
      'positions',
      'window',
      'transfer',
      'panZoom',
    ]);
    expect(decodeViewState('z=xy:2:3').errors).toHaveLength(1);
  });

  it('carries the measurements, and refuses a tampered list', () => {
    const list = [
      {
        id: 'm1',
        kind: 'ruler' as const,
        plane: 'xz' as const,
        view: 'full' as const,
        a: { col: 1.25, row: 2 },
        b: { col: 30, row: 40.5 },
      },
    ];
    const q = encodeViewState({}, { [measurementsParam.key]: list });
    expect(decodeViewState(q).extras).toEqual({ m: list });
    expect(decodeViewState('m=bm90IGpzb24').errors).toHaveLength(1);
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
