import h5wasm from 'h5wasm/node';
import type { ProjectionDataset } from './ProjectionSource';

type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

/**
 * DXchange (the APS tomography HDF5 layout, read by tomopy and tomocupy):
 * /exchange/data [n][rows][cols], /exchange/data_white and /exchange/data_dark [k][rows][cols],
 * /exchange/theta [n] in degrees (radians if its `units` attribute says so).
 */
export async function readDxchange(
  path: string,
  pixelSizeUm = 1,
): Promise<ProjectionDataset & { close(): void }> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'r');
  try {
    const data = dataset(file, 'exchange/data');
    const shape = data.shape;
    if (!shape || shape.length !== 3)
      throw new Error(`${path}: /exchange/data must be 3-D [projections][rows][columns]`);
    const [count, height, width] = shape as [number, number, number];
    const thetaSet = dataset(file, 'exchange/theta');
    const theta = Float64Array.from(thetaSet.value as ArrayLike<number>);
    if (theta.length !== count)
      throw new Error(
        `${path}: /exchange/theta has ${theta.length} angles for ${count} projections`,
      );
    const units = String(thetaSet.attrs['units']?.value ?? 'deg').toLowerCase();
    const angles = units.startsWith('rad') ? theta : theta.map((d) => (d * Math.PI) / 180);
    const frame = width * height;
    const flat = meanFrame(file, 'exchange/data_white', frame) ?? new Float32Array(frame).fill(1);
    const dark = meanFrame(file, 'exchange/data_dark', frame) ?? new Float32Array(frame);
    return {
      detector: { width, height, pixelSizeUm },
      angles,
      flat,
      dark,
      count,
      projection(i) {
        const v = data.slice([[i, i + 1]]);
        if (v instanceof Uint16Array || v instanceof Float32Array) return v;
        return Float32Array.from(v as ArrayLike<number>);
      },
      close: () => file.close(),
    };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** What was in force when projections were captured, written under /process (DXchange's group for it). */
export interface CaptureMetadata {
  /** The consumer's parameters in force: one scalar dataset each under /process/parameters. */
  parameters: Record<string, number | string | boolean | null | object>;
  /** Projections kept from before the trigger; the rest came after it. */
  preCount: number;
  /** Seconds recorded after the trigger. */
  durationS: number;
}

/**
 * Writes projections as DXchange: uint16 data, float32 white and dark (already averaged), theta in
 * degrees; with `metadata`, the capture's pre-count, duration and parameters under /process.
 */
export async function writeDxchange(
  path: string,
  data: ProjectionDataset,
  metadata?: CaptureMetadata,
): Promise<void> {
  await h5wasm.ready;
  const { width, height } = data.detector;
  const frame = width * height;
  const first = data.count > 0 ? data.projection(0) : new Uint16Array(0);
  const isFloat = first instanceof Float32Array;
  const all = isFloat ? new Float32Array(data.count * frame) : new Uint16Array(data.count * frame);
  for (let i = 0; i < data.count; i++) all.set(data.projection(i), i * frame);
  const file = new h5wasm.File(path, 'w');
  try {
    const exchange = file.create_group('exchange');
    exchange.create_dataset({
      name: 'data',
      data: all,
      shape: [data.count, height, width],
      dtype: isFloat ? '<f' : '<H',
    });
    exchange.create_dataset({
      name: 'data_white',
      data: data.flat,
      shape: [1, height, width],
      dtype: '<f',
    });
    exchange.create_dataset({
      name: 'data_dark',
      data: data.dark,
      shape: [1, height, width],
      dtype: '<f',
    });
    const theta = exchange.create_dataset({
      name: 'theta',
      data: data.angles.map((a) => (a * 180) / Math.PI),
      shape: [data.count],
      dtype: '<d',
    });
    theta.create_attribute('units', 'deg');
    const detector = file
      .create_group('measurement')
      .create_group('instrument')
      .create_group('detector');
    detector
      .create_dataset({
        name: 'pixel_size',
        data: new Float64Array([data.detector.pixelSizeUm]),
        shape: [1],
        dtype: '<d',
      })
      .create_attribute('units', 'um');
    if (metadata) {
      const process = file.create_group('process');
      const capture = process.create_group('capture');
      capture.create_dataset({
        name: 'pre_count',
        data: new Int32Array([metadata.preCount]),
        shape: [1],
        dtype: '<i',
      });
      capture
        .create_dataset({
          name: 'duration',
          data: new Float64Array([metadata.durationS]),
          shape: [1],
          dtype: '<d',
        })
        .create_attribute('units', 's');
      const parameters = process.create_group('parameters');
      for (const [name, value] of Object.entries(metadata.parameters)) {
        if (typeof value === 'number')
          parameters.create_dataset({
            name,
            data: new Float64Array([value]),
            shape: [1],
            dtype: '<d',
          });
        else
          parameters.create_dataset({
            name,
            data: typeof value === 'string' ? value : JSON.stringify(value),
          });
      }
    }
  } finally {
    file.close();
  }
}

function dataset(file: InstanceType<typeof h5wasm.File>, path: string): H5Dataset {
  const entity = file.get(path);
  if (!(entity instanceof h5wasm.Dataset)) throw new Error(`${file.filename}: no dataset /${path}`);
  return entity;
}

/** Mean of a stack of fields [k][rows][cols], or null if the file has none. */
function meanFrame(
  file: InstanceType<typeof h5wasm.File>,
  path: string,
  frame: number,
): Float32Array | null {
  const entity = file.get(path);
  if (!(entity instanceof h5wasm.Dataset)) return null;
  const values = entity.value as ArrayLike<number>;
  const k = Math.max(1, Math.round(values.length / frame));
  if (values.length !== k * frame)
    throw new Error(`${file.filename}: /${path} does not match the projections' size`);
  const mean = new Float32Array(frame);
  for (let j = 0; j < k; j++)
    for (let i = 0; i < frame; i++) mean[i] = mean[i]! + values[j * frame + i]! / k;
  return mean;
}
