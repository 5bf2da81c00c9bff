import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dump, parse, type NpyArray } from 'npyjs';
import type { ProjectionDataset } from './ProjectionSource';

/**
 * A scan as NumPy `.npy` files in one folder, the way tomopy/dxchange users save arrays with
 * `numpy.save`:
 *
 *   projections.npy  uint16 or float32 [projections][rows][columns], C order (row 0 = lowest z)
 *   theta.npy        rotation angle of each projection, radians [projections]; optional: evenly
 *                    spaced over 180° when absent
 *   flat.npy         flat field (beam, no sample) [rows][columns] or [k][rows][columns], averaged;
 *   dark.npy         dark field (no beam), same shapes; both optional for float32 projections that
 *                    are already normalised transmission (flat 1, dark 0), required for raw counts
 */
export const NPY_SCAN_FILES = {
  projections: 'projections.npy',
  theta: 'theta.npy',
  flat: 'flat.npy',
  dark: 'dark.npy',
} as const;

/** Reads a scan folder (or its projections.npy) whole; throws with the reason if it is not one. */
export async function readNpyScan(path: string, pixelSizeUm = 1): Promise<ProjectionDataset> {
  const dir = path.endsWith('.npy') ? join(path, '..') : path;
  const projections = await readNpy(
    path.endsWith('.npy') ? path : join(dir, NPY_SCAN_FILES.projections),
  );
  if (projections.shape.length !== 3)
    throw new Error(
      `${NPY_SCAN_FILES.projections} must be 3-D [projections][rows][columns], got [${projections.shape}]`,
    );
  if (!(projections.data instanceof Uint16Array || projections.data instanceof Float32Array))
    throw new Error(
      `${NPY_SCAN_FILES.projections} must be uint16 or float32, got ${projections.dtype}`,
    );
  const [count, height, width] = projections.shape as [number, number, number];
  const frame = width * height;

  const theta = await readOptional(join(dir, NPY_SCAN_FILES.theta));
  const angles = theta
    ? Float64Array.from(numbers(theta, NPY_SCAN_FILES.theta))
    : Float64Array.from({ length: count }, (_, i) => (i * Math.PI) / count);
  if (angles.length !== count)
    throw new Error(`${NPY_SCAN_FILES.theta} has ${angles.length} angles for ${count} projections`);
  if (angles.some((a) => !Number.isFinite(a)))
    throw new Error(`${NPY_SCAN_FILES.theta} has a non-finite angle`);

  const normalised = projections.data instanceof Float32Array;
  const field = async (name: string, fallback: number | null) => {
    const array = await readOptional(join(dir, name));
    if (array) return meanFrame(array, frame, name);
    if (fallback === null)
      throw new Error(
        `${name} is required for raw uint16 counts (float32 transmission needs none)`,
      );
    return new Float32Array(frame).fill(fallback);
  };
  const flat = await field(NPY_SCAN_FILES.flat, normalised ? 1 : null);
  const dark = await field(NPY_SCAN_FILES.dark, normalised ? 0 : null);
  const data = projections.data;
  return {
    detector: { width, height, pixelSizeUm },
    angles,
    flat,
    dark,
    count,
    projection: (i) => data.slice(i * frame, (i + 1) * frame),
  };
}

/** Writes a scan folder that `readNpyScan` and `numpy.load` read back. */
export async function writeNpyScan(dir: string, data: ProjectionDataset): Promise<void> {
  const { width, height } = data.detector;
  const frame = width * height;
  const first = data.count > 0 ? data.projection(0) : new Uint16Array(0);
  const all =
    first instanceof Float32Array
      ? new Float32Array(data.count * frame)
      : new Uint16Array(data.count * frame);
  for (let i = 0; i < data.count; i++) all.set(data.projection(i), i * frame);
  await mkdir(dir, { recursive: true });
  const save = (name: string, array: Uint16Array | Float32Array | Float64Array, shape: number[]) =>
    writeFile(join(dir, name), new Uint8Array(dump(array, shape)));
  await save(NPY_SCAN_FILES.projections, all, [data.count, height, width]);
  await save(NPY_SCAN_FILES.theta, data.angles, [data.count]);
  await save(NPY_SCAN_FILES.flat, data.flat, [height, width]);
  await save(NPY_SCAN_FILES.dark, data.dark, [height, width]);
}

async function readNpy(path: string): Promise<NpyArray> {
  const bytes = await readFile(path);
  let array: NpyArray;
  try {
    // A fresh ArrayBuffer: the Buffer may sit at any offset of a shared pool.
    array = parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } catch (error) {
    throw new Error(`${path} is not a NumPy .npy file: ${(error as Error).message}`);
  }
  if (array.fortranOrder) throw new Error(`${path} is in Fortran order; save it with C order`);
  const expected = array.shape.reduce((a, b) => a * b, 1);
  const length = numbers(array, path).length;
  if (length !== expected)
    throw new Error(
      `${path} is truncated: ${length} of ${expected} values for shape [${array.shape}]`,
    );
  return array;
}

async function readOptional(path: string): Promise<NpyArray | null> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  return exists ? readNpy(path) : null;
}

/** The mean over frames of a [rows][columns] or [k][rows][columns] field, as float32. */
function meanFrame(array: NpyArray, frame: number, name: string): Float32Array {
  const values = numbers(array, name);
  if (values.length === 0 || values.length % frame !== 0)
    throw new Error(
      `${name} has ${values.length} values, not a whole number of ${frame}-pixel frames`,
    );
  const frames = values.length / frame;
  const mean = new Float32Array(frame);
  for (let k = 0; k < frames; k++)
    for (let i = 0; i < frame; i++) mean[i]! += Number(values[k * frame + i]) / frames;
  return mean;
}

type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** The array's values as numbers; 64-bit integers, strings and complex values are refused. */
function numbers(array: NpyArray, name: string): NumericArray {
  const d = array.data;
  if (
    d instanceof Int8Array ||
    d instanceof Uint8Array ||
    d instanceof Int16Array ||
    d instanceof Uint16Array ||
    d instanceof Int32Array ||
    d instanceof Uint32Array ||
    d instanceof Float32Array ||
    d instanceof Float64Array
  )
    return d;
  throw new Error(`${name}: dtype ${array.dtype} is not a real number type Loupe reads`);
}
