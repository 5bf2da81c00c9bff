/**
 * Messages that must pass and messages that must fail, per schema. They go into the JSON Schema
 * document, so every SDK's tests check its validation against the same cases: lib/protocol's
 * own test checks them with zod and with the generated JSON Schema, the Python SDK's with
 * jsonschema. Invalid ones fail in JSON Schema as well (no cross-field rule), each with its reason.
 */
export interface SchemaExamples {
  valid: unknown[];
  invalid: { why: string; value: unknown }[];
}

const slice = {
  run: 'demo',
  stream: 'xy',
  view: 'full',
  seq: 0,
  dtype: 'float32',
  shape: [128, 128],
  voxelSize: [6.5, 6.5, 6.5],
  position: 64,
  volumeShape: [128, 128, 128],
  range: [0, 0.02],
  unit: '1/mm',
  description: 'linear attenuation coefficient',
  acquiredAt: 1764633600000,
  reconstructedAt: 1764633600100,
  publishedAt: 1764633600120,
};

const { position: _position, ...sliceFields } = slice;
const brick = {
  ...sliceFields,
  stream: 'volume',
  seq: 7,
  dtype: 'uint16',
  shape: [32, 32, 32],
  brickOffset: [32, 0, 96],
};

export const PROTOCOL_EXAMPLES = {
  FrameHeader: {
    valid: [
      slice,
      brick,
      { ...slice, view: 'roi', region: { x: [10, 50], y: [20, 60], z: [0, 32] } },
      {
        ...slice,
        shape: [32, 32],
        lod: { level: 2, fullShape: [128, 128], origin: [0, 0], extent: [128, 128] },
      },
    ],
    invalid: [
      {
        why: 'a level of detail beyond ⅛',
        value: {
          ...slice,
          shape: [8, 8],
          lod: { level: 4, fullShape: [128, 128], origin: [0, 0], extent: [128, 128] },
        },
      },
      { why: 'an edge over MAX_EDGE', value: { ...slice, shape: [128, 5000] } },
      { why: 'a slice with a 3-D shape', value: { ...slice, shape: [2, 128, 128] } },
      { why: 'a brick with a 2-D shape', value: { ...brick, shape: [32, 32] } },
      { why: 'a brick offset on a slice', value: { ...slice, brickOffset: [0, 0, 0] } },
      { why: 'a slice position on a brick', value: { ...brick, position: 3 } },
      { why: 'an unknown stream', value: { ...slice, stream: 'xw' } },
      { why: 'an unknown dtype', value: { ...slice, dtype: 'int64' } },
      { why: 'an unknown field', value: { ...slice, colour: 'red' } },
      { why: 'no sequence number', value: { ...slice, seq: undefined } },
      { why: 'a negative sequence number', value: { ...slice, seq: -1 } },
      { why: 'a run id with a slash', value: { ...slice, run: 'a/b' } },
      { why: 'a zero voxel size', value: { ...slice, voxelSize: [0, 6.5, 6.5] } },
      { why: 'an empty unit', value: { ...slice, unit: '' } },
    ],
  },
  RunRegistration: {
    valid: [
      { run: 'demo', title: 'Shepp–Logan phantom' },
      {
        run: 'scan-0042',
        title: 'Battery cathode',
        sample: 'NMC811',
        beamline: '2-BM',
        lastSent: { 'full/xy': 41, 'roi/volume': -1 },
        parameters: [
          {
            name: 'rotationCentre',
            label: 'Rotation centre',
            type: 'number',
            unit: 'px',
            min: 0,
            max: 256,
            step: 0.25,
            default: 128,
          },
        ],
      },
    ],
    invalid: [
      { why: 'no title', value: { run: 'demo' } },
      { why: 'an unknown stream key', value: { run: 'demo', title: 't', lastSent: { 'x/y': 1 } } },
      { why: 'an unknown field', value: { run: 'demo', title: 't', token: 'secret' } },
    ],
  },
  Command: {
    valid: [
      { id: 'c1', run: 'demo', kind: 'pause' },
      { id: 'c2', run: 'demo', kind: 'zoom', region: { x: [0, 32], y: [0, 32], z: [0, 32] } },
      { id: 'c3', run: 'demo', kind: 'set-parameters', values: { filter: 'hann' } },
      { id: 'c4', run: 'demo', kind: 'centre-sweep', count: 9, step: 0.5 },
    ],
    invalid: [
      { why: 'an unknown kind', value: { id: 'c1', run: 'demo', kind: 'explode' } },
      { why: 'no id', value: { run: 'demo', kind: 'pause' } },
      {
        why: 'a sweep of two',
        value: { id: 'c4', run: 'demo', kind: 'centre-sweep', count: 2, step: 1 },
      },
    ],
  },
  CommandReply: {
    valid: [
      { id: 'c1', status: 'applied' },
      { id: 'c2', status: 'accepted' },
      { id: 'c3', status: 'rejected', reason: 'no such region' },
    ],
    invalid: [{ why: 'an unknown status', value: { id: 'c1', status: 'maybe' } }],
  },
  RunStateReport: {
    valid: [{ run: 'demo', state: 'paused', message: 'operator pause' }],
    invalid: [{ why: 'an unknown state', value: { run: 'demo', state: 'sleeping' } }],
  },
  ProducerMetrics: {
    valid: [
      {
        run: 'demo',
        at: 1764633600000,
        projectionsPerSecond: 29,
        slicesPerSecond: 24,
        bricksPerSecond: 8,
        voxelAngleUpdatesPerSecond: 6.1e7,
        coverageDeg: 180,
        cycleMs: 41,
        lagMs: 120,
        paused: false,
      },
    ],
    invalid: [
      {
        why: 'coverage over a full turn',
        value: {
          run: 'demo',
          at: 1764633600000,
          projectionsPerSecond: 29,
          slicesPerSecond: 24,
          bricksPerSecond: 8,
          voxelAngleUpdatesPerSecond: 6.1e7,
          coverageDeg: 400,
          cycleMs: 41,
          lagMs: 120,
          paused: false,
        },
      },
    ],
  },
  ViewerDisplay: {
    valid: [
      { run: 'demo', mode: 'auto', views: [{ key: 'full/xy', width: 600, height: 600 }] },
      {
        run: 'demo',
        mode: 'saver',
        views: [{ key: 'full/xz', width: 600, height: 600, rows: [40, 72], cols: [-8, 24] }],
      },
    ],
    invalid: [
      { why: 'an unknown mode', value: { run: 'demo', mode: 'turbo', views: [] } },
      {
        why: 'a zero-pixel view',
        value: { run: 'demo', mode: 'auto', views: [{ key: 'full/xy', width: 0, height: 600 }] },
      },
    ],
  },
} satisfies Record<string, SchemaExamples>;
