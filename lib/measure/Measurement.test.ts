import { describe, expect, it } from 'vitest';
import { decodeMeasurements, encodeMeasurements, type MeasurementList } from './Measurement';

const list: MeasurementList = [
  {
    id: 'm1',
    kind: 'ruler',
    plane: 'xy',
    view: 'full',
    a: { col: 1.234, row: 2 },
    b: { col: 30, row: 40.5 },
  },
  {
    id: 'm2',
    kind: 'ellipse',
    plane: 'yz',
    view: 'roi',
    a: { col: 0, row: 0 },
    b: { col: 8, row: 9 },
  },
];

describe('measurement list encoding', () => {
  it('round-trips through a URL-safe string, coordinates to 1/100 pixel', () => {
    const text = encodeMeasurements(list);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    const back = decodeMeasurements(text);
    expect(back).toEqual({
      ok: true,
      value: [{ ...list[0], a: { col: 1.23, row: 2 } }, list[1]],
    });
  });
  it('refuses garbage and invalid lists with a reason', () => {
    expect(decodeMeasurements('%%%')).toMatchObject({ ok: false });
    const bad = btoa(JSON.stringify([{ ...list[0], kind: 'laser' }]));
    const r = decodeMeasurements(bad);
    expect(r.ok).toBe(false);
    const tooMany = btoa(
      JSON.stringify(Array.from({ length: 33 }, (_, i) => ({ ...list[0], id: `m${i}` }))),
    );
    expect(decodeMeasurements(tooMany).ok).toBe(false);
  });
});
