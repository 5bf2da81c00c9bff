import { describe, expect, it } from 'vitest';
import {
  type ParameterDeclaration,
  ParameterDeclarations,
  parameterChangeProblem,
  parameterValues,
} from './parameters';

const declared: ParameterDeclaration[] = [
  { name: 'centre', label: 'Centre', type: 'number', unit: 'px', min: 0, max: 100, default: 50 },
  { name: 'iterations', label: 'Iterations', type: 'integer', min: 1, max: 500, default: 20 },
  {
    name: 'algorithm',
    label: 'Algorithm',
    type: 'enum',
    choices: [
      { value: 'fbp', label: 'FBP' },
      { value: 'sirt', label: 'SIRT' },
    ],
    default: 'fbp',
  },
  { name: 'phase', label: 'Phase retrieval', type: 'boolean', default: false, restarts: true },
  { name: 'reference', label: 'Reference area', type: 'region', default: null },
];

describe('consumer-declared parameters', () => {
  it('accepts a declaration of every type, and rejects duplicates, bad defaults and min > max', () => {
    expect(ParameterDeclarations.safeParse(declared).success).toBe(true);
    const bad: [string, unknown][] = [
      ['a duplicate name', [declared[0], declared[0]]],
      ['a default outside its range', [{ ...declared[0], default: 101 }]],
      ['a default not among its choices', [{ ...declared[2], default: 'art' }]],
      ['a fractional integer default', [{ ...declared[1], default: 2.5 }]],
      ['min above max', [{ ...declared[0], min: 10, max: 5, default: 7 }]],
      ['an unknown type', [{ name: 'x', label: 'X', type: 'colour', default: 'red' }]],
      ['a name that is no identifier', [{ ...declared[3], name: 'Phase retrieval' }]],
      ['an unknown field', [{ ...declared[3], secret: true }]],
    ];
    for (const [what, value] of bad)
      expect(ParameterDeclarations.safeParse(value).success, what).toBe(false);
  });

  it('says why a change does not fit the declaration, and nothing when it does', () => {
    expect(
      parameterChangeProblem(declared, { centre: 12.25, algorithm: 'sirt', phase: true }),
    ).toBeNull();
    expect(
      parameterChangeProblem(declared, { reference: { x: [0, 4], y: [0, 4], z: [0, 4] } }),
    ).toBeNull();
    expect(parameterChangeProblem(declared, { centre: -1 })).toBe('centre -1 px is below 0 px');
    expect(parameterChangeProblem(declared, { iterations: 3.5 })).toBe(
      'iterations takes a whole number',
    );
    expect(parameterChangeProblem(declared, { algorithm: 'art' })).toBe(
      'algorithm takes one of fbp, sirt',
    );
    expect(parameterChangeProblem(declared, { phase: 'yes' })).toBe('phase takes true or false');
    expect(parameterChangeProblem(declared, { reference: 3 })).toBe('reference takes a region');
    expect(parameterChangeProblem(declared, { gamma: 1 })).toMatch(
      /^this run has no parameter gamma \(it has centre,/,
    );
    expect(parameterChangeProblem([], { gamma: 1 })).toBe('this run has no parameter gamma');
    expect(parameterChangeProblem(declared, {})).toBe('set-parameters needs at least one value');
  });

  it('starts from the defaults and keeps only valid reported values', () => {
    expect(parameterValues(declared, { centre: 61, iterations: 0, stray: 1 })).toEqual({
      centre: 61,
      iterations: 20,
      algorithm: 'fbp',
      phase: false,
      reference: null,
    });
  });
});
