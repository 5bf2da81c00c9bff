import { describe, expect, it } from 'vitest';
import { MAX_MEASUREMENTS } from '@/lib/measure/Measurement';
import { createMeasureStore } from './measureStore';

const line = {
  kind: 'ruler' as const,
  plane: 'xy' as const,
  view: 'full' as const,
  a: { col: 1, row: 1 },
  b: { col: 5, row: 4 },
};

describe('measureStore', () => {
  it('selects what it adds, removes by id and drops the selection with it', () => {
    const s = createMeasureStore();
    const a = s.getState().add(line)!;
    const b = s.getState().add({ ...line, kind: 'ellipse' })!;
    expect(s.getState().selected).toBe(b);
    s.getState().remove(a);
    expect(s.getState().list.map((m) => m.id)).toEqual([b]);
    expect(s.getState().selected).toBe(b);
    s.getState().remove(b);
    expect(s.getState().selected).toBeNull();
  });
  it('keeps ids unique after a decoded list replaces it, and stops at the maximum', () => {
    const s = createMeasureStore();
    s.getState().replace([{ ...line, id: 'm1' }]);
    expect(s.getState().add(line)).not.toBe('m1');
    for (let i = 0; i < MAX_MEASUREMENTS; i++) s.getState().add(line);
    expect(s.getState().list).toHaveLength(MAX_MEASUREMENTS);
    expect(s.getState().add(line)).toBeNull();
  });
});
