import type h5wasm from 'h5wasm';

/** The h5wasm module (browser or Node build): passed in, so this file imports neither. */
export type H5wasm = typeof h5wasm;

export interface PreviewVolume {
  /** Voxels, x fastest then y then z, in the value unit. */
  values: Float32Array;
  /** Edge lengths x, y, z in voxels. */
  shape: [number, number, number];
  /** Voxel edge x, y, z in µm. */
  voxelSizeUm: [number, number, number];
  /** The value unit ("1/mm") and what the values are. */
  unit: string;
  description: string;
  /** run, view, time: what a figure needs to be traced back. */
  caption: string;
}

/**
 * The preview volume as an HDF5 file (h5wasm, the HDF Group's library compiled to WebAssembly):
 * `/volume` float32 [z][y][x] (the order h5py, napari and tifffile index), with `units`,
 * `description` and `caption` attributes, and `/voxel_size` [z, y, x] in µm. `path` is a file
 * in h5wasm's file system (MEMFS in the browser, the disk in Node); it is removed afterwards.
 */
export async function encodeVolumeHdf5(
  h5: H5wasm,
  path: string,
  volume: PreviewVolume,
): Promise<Uint8Array> {
  const [x, y, z] = volume.shape;
  if (volume.values.length !== x * y * z)
    throw new Error(`volume has ${volume.values.length} voxels, not ${x}×${y}×${z}`);
  const runtime = await h5.ready;
  const file = new h5.File(path, 'w');
  try {
    const data = file.create_dataset({
      name: 'volume',
      data: volume.values,
      shape: [z, y, x],
      dtype: '<f',
    });
    data.create_attribute('units', volume.unit);
    data.create_attribute('description', volume.description);
    data.create_attribute('caption', volume.caption);
    const [sx, sy, sz] = volume.voxelSizeUm;
    file
      .create_dataset({
        name: 'voxel_size',
        data: new Float64Array([sz, sy, sx]),
        shape: [3],
        dtype: '<d',
      })
      .create_attribute('units', 'um');
  } finally {
    file.close();
  }
  const bytes = runtime.FS.readFile(path);
  runtime.FS.unlink(path);
  return bytes;
}
