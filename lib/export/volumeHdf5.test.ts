import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeVolumeHdf5 } from './volumeHdf5';

const dir = mkdtempSync(join(tmpdir(), 'loupe-h5-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('preview volume as HDF5', () => {
  it('reads back with h5wasm as float32 [z][y][x] with its unit and voxel size', async () => {
    const shape: [number, number, number] = [4, 3, 2];
    // Each voxel's value says where it is, so an axis mix-up shows.
    const values = new Float32Array(24);
    for (let z = 0; z < 2; z++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 4; x++) values[(z * 3 + y) * 4 + x] = x + 10 * y + 100 * z + 0.125;
    const bytes = await encodeVolumeHdf5(h5wasm, join(dir, 'made.h5'), {
      values,
      shape,
      voxelSizeUm: [1.5, 2, 2.5],
      unit: '1/mm',
      description: 'linear attenuation coefficient',
      caption: 'run demo · full preview',
    });
    expect(Array.from(bytes.slice(0, 8))).toEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    const copy = join(dir, 'read.h5');
    writeFileSync(copy, bytes);
    await h5wasm.ready;
    const file = new h5wasm.File(copy, 'r');
    try {
      const data = file.get('volume') as InstanceType<typeof h5wasm.Dataset>;
      expect(data.shape).toEqual([2, 3, 4]);
      expect(data.dtype).toBe('<f');
      const read = data.value as Float32Array;
      expect(read).toBeInstanceOf(Float32Array);
      expect(Array.from(read)).toEqual(Array.from(values));
      expect(data.attrs['units']?.value).toBe('1/mm');
      expect(data.attrs['description']?.value).toBe('linear attenuation coefficient');
      const size = file.get('voxel_size') as InstanceType<typeof h5wasm.Dataset>;
      expect(Array.from(size.value as Float64Array)).toEqual([2.5, 2, 1.5]);
    } finally {
      file.close();
    }
  });

  it('refuses values that do not fill the shape', async () => {
    await expect(
      encodeVolumeHdf5(h5wasm, join(dir, 'bad.h5'), {
        values: new Float32Array(5),
        shape: [2, 2, 2],
        voxelSizeUm: [1, 1, 1],
        unit: '',
        description: '',
        caption: '',
      }),
    ).rejects.toThrow(/not 2×2×2/);
  });
});
