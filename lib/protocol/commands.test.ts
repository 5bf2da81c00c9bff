import { describe, expect, it } from 'vitest';
import { Command, CommandReply, CommandUpdate } from './commands';
import { ProducerMetrics } from './producerMetrics';

const region = { x: [10, 74], y: [20, 84], z: [0, 32] };

describe('command messages', () => {
  const valid: unknown[] = [
    { id: 'c1', run: 'run-1', kind: 'zoom', region },
    { id: 'c2', run: 'run-1', kind: 'reset-zoom' },
    { id: 'c3', run: 'run-1', kind: 'pause' },
    { id: 'c4', run: 'run-1', kind: 'resume' },
    { id: 'c5', run: 'run-1', kind: 'capture' },
    { id: 'c6', run: 'run-1', kind: 'set-parameters', values: { rotationCentre: 128.5 } },
    { id: 'c7', run: 'run-1', kind: 'set-parameters', values: { filter: 'hann', paganin: true } },
    { id: 'c8', run: 'run-1', kind: 'set-slices', positions: { xy: 12, yz: 0 } },
  ];
  for (const c of valid) {
    it(`accepts ${JSON.stringify(c)}`, () => expect(Command.safeParse(c).success).toBe(true));
  }
  const invalid: [string, unknown][] = [
    ['an unknown kind', { id: 'c', run: 'run-1', kind: 'explode' }],
    ['a zoom without a region', { id: 'c', run: 'run-1', kind: 'zoom' }],
    ['set-parameters without values', { id: 'c', run: 'run-1', kind: 'set-parameters' }],
    ['set-slices naming no plane', { id: 'c', run: 'run-1', kind: 'set-slices', positions: {} }],
    [
      'a fractional slice position',
      { id: 'c', run: 'run-1', kind: 'set-slices', positions: { xy: 1.5 } },
    ],
    [
      'a slice position of an unknown plane',
      { id: 'c', run: 'run-1', kind: 'set-slices', positions: { zz: 1 } },
    ],
    [
      'a parameter name that is no identifier',
      { id: 'c', run: 'run-1', kind: 'set-parameters', values: { 'rm -rf': 1 } },
    ],
    [
      'a value that is no parameter value',
      { id: 'c', run: 'run-1', kind: 'set-parameters', values: { centre: [1, 2] } },
    ],
    ['the old set-params', { id: 'c', run: 'run-1', kind: 'set-params', filter: 'hann' }],
    ['an extra field', { id: 'c', run: 'run-1', kind: 'pause', force: true }],
    ['an empty id', { id: '', run: 'run-1', kind: 'pause' }],
  ];
  for (const [what, c] of invalid) {
    it(`rejects ${what}`, () => expect(Command.safeParse(c).success).toBe(false));
  }

  it('requires a reason for failed and rejected replies', () => {
    expect(CommandReply.safeParse({ id: 'c', status: 'applied' }).success).toBe(true);
    expect(CommandReply.safeParse({ id: 'c', status: 'failed' }).success).toBe(false);
    expect(
      CommandReply.safeParse({ id: 'c', status: 'rejected', reason: 'bad region' }).success,
    ).toBe(true);
  });

  it('only reports final outcomes as updates', () => {
    const reply = { id: 'c', status: 'accepted' };
    expect(CommandUpdate.safeParse({ run: 'run-1', reply }).success).toBe(false);
    expect(
      CommandUpdate.safeParse({ run: 'run-1', reply: { ...reply, status: 'applied' } }).success,
    ).toBe(true);
  });

  it('validates producer metrics', () => {
    const sample = {
      run: 'run-1',
      at: 1,
      projectionsPerSecond: 30,
      slicesPerSecond: 12,
      bricksPerSecond: 20,
      voxelAngleUpdatesPerSecond: 1e8,
      coverageDeg: 180,
      cycleMs: 250,
      lagMs: 80,
      paused: false,
    };
    expect(ProducerMetrics.safeParse(sample).success).toBe(true);
    expect(ProducerMetrics.safeParse({ ...sample, coverageDeg: 400 }).success).toBe(false);
    expect(ProducerMetrics.safeParse({ ...sample, slicesPerSecond: Number.NaN }).success).toBe(
      false,
    );
  });
});
