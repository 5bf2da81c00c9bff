import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import { fromArrayBuffer } from 'geotiff';
import h5wasm from 'h5wasm/node';
import { PNG } from 'pngjs';
import { io, type Socket } from 'socket.io-client';
import {
  encodeFrame,
  type GatewayToProducer,
  PLANES,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type ProducerToGateway,
} from '../lib/protocol';
import { testIds } from '../lib/testIds';
import { spread, greyPixels } from './pixels';

// A run of our own whose float32 slices never change and whose every pixel has its own value
// (about its index / N²), so a profile value tells which pixel it came from.
const RUN = 'e2e-measure';
const GATEWAY = `http://127.0.0.1:${Number(process.env.LOUPE_E2E_PORT ?? 3210) + 1000}`;
const N = 96;
// Each plane spans the whole range [0, 1) (a visible gradient) and differs from the others.
const slice = (plane: number) =>
  Float32Array.from({ length: N * N }, (_, i) => (i + plane / 4) / (N * N));
/** The preview volume: one brick of V³ voxels, each value from its index, in [0, 1). */
const V = 16;
const volume = Float32Array.from({ length: V ** 3 }, (_, i) => ((i * 37) % V ** 3) / V ** 3);

let producer: Socket<GatewayToProducer, ProducerToGateway>;

test.beforeAll(async () => {
  const users = JSON.parse(readFileSync('.e2e-data/users.json', 'utf8')) as {
    users: { role: string; token: string }[];
  };
  const token = users.users.find((u) => u.role === 'producer')!.token;
  producer = io(GATEWAY + PRODUCER_NAMESPACE, {
    path: PRODUCER_SOCKET_PATH,
    transports: ['websocket'],
    extraHeaders: { authorization: `Bearer ${token}` },
    auth: { protocolVersion: PROTOCOL_VERSION, token },
  });
  await new Promise<void>((resolve, reject) => {
    producer.once('connect', resolve);
    producer.once('connect_error', reject);
  });
  const reply = await producer.emitWithAck('run:register', { run: RUN, title: 'e2e: measure' });
  if (!reply.ok) throw new Error(reply.error);
  for (const [k, plane] of PLANES.entries()) {
    const now = Date.now();
    const { header, payload } = encodeFrame(
      {
        run: RUN,
        stream: plane,
        // The e2e database outlives a run: continue after what the gateway kept.
        seq: (reply.lastKept[`full/${plane}`] ?? -1) + 1,
        dtype: 'float32',
        shape: [N, N],
        voxelSize: [1.5, 1.5, 1.5],
        range: [0, 1],
        unit: '1/mm',
        position: N / 2,
        volumeShape: [N, N, N],
        acquiredAt: now,
        reconstructedAt: now,
        publishedAt: now,
      },
      slice(k),
    );
    expect(await producer.emitWithAck('frame', header, payload)).toEqual({ ok: true });
  }
});

/** Publishes the preview volume (one brick) while a page is open: a page gets bricks live. */
async function publishVolume() {
  const now = Date.now();
  const seq = Math.floor(now / 1000);
  const { header, payload } = encodeFrame(
    {
      run: RUN,
      stream: 'volume',
      seq,
      dtype: 'float32',
      shape: [V, V, V],
      voxelSize: [9, 9, 9],
      range: [0, 1],
      unit: '1/mm',
      volumeShape: [V, V, V],
      brickOffset: [0, 0, 0],
      acquiredAt: now,
      reconstructedAt: now,
      publishedAt: now,
    },
    volume,
  );
  expect(await producer.emitWithAck('frame', header, payload)).toEqual({ ok: true });
}

test.afterAll(() => {
  producer?.close();
});

/**
 * Opens the run and waits until `plane` shows the gradient. On a shared 2-core machine the first
 * slice can take 15–30 s after load (issue 12 measured it), so this wait is long and the tests too.
 */
async function openRun(page: Page, plane: (typeof PLANES)[number]) {
  test.setTimeout(120_000);
  await page.goto(`/runs/${RUN}`);
  const canvas = page.getByTestId(testIds.sliceCanvas(plane));
  await expect
    .poll(async () => spread((await greyPixels(canvas)).grey), { timeout: 60_000 })
    .toBeGreaterThan(20);
  return canvas;
}

test('a line drawn on a slice gives a profile of the frame’s own pixels; Delete removes it', async ({
  page,
}) => {
  const xy = await openRun(page, 'xy');

  await page.getByRole('button', { name: 'Line profile' }).click();
  const box = (await xy.boundingBox())!;
  // From (0.2, 0.3) to (0.7, 0.6) of the slice, which fills its square canvas at zoom 1.
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.45, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.6, { steps: 4 });
  await page.mouse.up();

  const item = page.getByRole('listitem', { name: /profile m\d+ on xy/ });
  await expect(item).toBeVisible();
  const download = page.waitForEvent('download');
  await item.getByRole('button', { name: /Download profile/ }).click();
  const csv = readFileSync(await (await download).path(), 'utf8')
    .trim()
    .split('\n');
  expect(csv[0]).toBe('distance_um,col,row,value_1_mm');
  const rows = csv
    .slice(1)
    .map((line) => line.split(',').map(Number) as [number, number, number, number]);
  // One sample per pixel of length: the line is hypot(0.5, 0.3)·N ≈ 56 pixels long.
  expect(rows.length).toBeGreaterThan(50);
  expect(rows.length).toBeLessThan(62);
  const [first, last] = [rows[0]!, rows.at(-1)!];
  expect(Math.abs(first[1] - 0.2 * N)).toBeLessThan(1.5);
  expect(Math.abs(first[2] - 0.3 * N)).toBeLessThan(1.5);
  expect(Math.abs(last[1] - 0.7 * N)).toBeLessThan(1.5);
  expect(Math.abs(last[2] - 0.6 * N)).toBeLessThan(1.5);
  // Distances in µm at 1.5 µm per pixel.
  expect(last[0]).toBeCloseTo(1.5 * Math.hypot(last[1] - first[1], last[2] - first[2]), 6);
  // Every value is exactly the frame's pixel under its sample (nearest sampling).
  const frame = slice(0);
  for (const [, col, row, value] of rows)
    expect(value).toBe(frame[Math.floor(row) * N + Math.floor(col)]);

  // A new measurement is selected; Enter on it toggles that, and Delete removes only a selected one.
  const select = item.getByRole('button', { name: /^profile m\d+ on xy$/ });
  await expect(select).toHaveAttribute('aria-pressed', 'true');
  await select.focus();
  await page.keyboard.press('Enter');
  await expect(select).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('Delete');
  await expect(item).toHaveCount(1);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Delete');
  await expect(item).toHaveCount(0);
});

test('the raw slice exported as TIFF holds the frame’s pixels exactly', async ({ page }) => {
  await openRun(page, 'xz');
  await page.getByRole('radio', { name: 'xz' }).click();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export raw slice as TIFF' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^e2e-measure-full-xz-48-seq\d+\.tif$/);
  const bytes = readFileSync(await file.path());
  const tiff = await fromArrayBuffer(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const image = await tiff.getImage();
  expect([image.getWidth(), image.getHeight(), image.getBitsPerSample()]).toEqual([N, N, 32]);
  const [raster] = (await image.readRasters()) as unknown as [Float32Array];
  expect(Array.from(raster)).toEqual(Array.from(slice(1)));
});

test('the slice exported as PNG is the slice as shown, above a caption, a scale bar and a legend', async ({
  page,
}) => {
  await openRun(page, 'xy');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export slice as PNG' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^e2e-measure-full-xy-48-seq\d+\.png$/);
  const png = PNG.sync.read(readFileSync(await file.path()));
  // 96 pixels enlarged by whole pixels to at least 512 (×6), above a 72-pixel band.
  const factor = Math.ceil(512 / N);
  expect([png.width, png.height]).toEqual([N * factor, N * factor + 72]);
  const rgb = (x: number, y: number): [number, number, number] => {
    const i = (y * png.width + x) * 4;
    return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
  };
  // The image: grey colormap over the producer's window [0, 1], one block of 6×6 per pixel.
  const frame = slice(0);
  for (const [col, row] of [
    [0, 0],
    [10, 20],
    [50, 70],
    [N - 1, N - 1],
  ] as const) {
    const expected = Math.round(frame[row * N + col]! * 255);
    for (const [dx, dy] of [
      [0, 0],
      [factor - 1, factor - 1],
    ] as const) {
      const [r, g, b] = rgb(col * factor + dx, row * factor + dy);
      expect(Math.abs(r - expected), `pixel ${col},${row}`).toBeLessThanOrEqual(1);
      expect([g, b]).toEqual([r, r]);
    }
  }
  // The band: background #0d1117, with caption text, the scale bar and the legend drawn on it.
  const band = N * factor;
  const lit = (x0: number, x1: number, y0: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const [r, g, b] = rgb(x, y);
        if (Math.abs(r - 0x0d) + Math.abs(g - 0x11) + Math.abs(b - 0x17) > 60) n++;
      }
    return n;
  };
  expect(lit(8, png.width - 8, band + 6, band + 22), 'caption').toBeGreaterThan(100);
  expect(lit(8, png.width / 2 - 8, band + 44, band + 48), 'scale bar').toBeGreaterThan(40);
  // The legend runs from window min (black) to max (white) across the right half.
  const legendY = band + 47;
  const left = rgb(Math.ceil(png.width / 2) + 1, legendY);
  const right = rgb(png.width - 10, legendY);
  expect(left[0]).toBeLessThan(20);
  expect(right[0]).toBeGreaterThan(235);
});

test('the preview volume exported as HDF5 reads back with its values, unit and voxel size', async ({
  page,
}) => {
  await openRun(page, 'xy');
  await publishVolume();
  await expect(page.getByTestId(testIds.volumeFill)).toContainText('100 % filled', {
    timeout: 30_000,
  });
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export preview volume as HDF5' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`e2e-measure-full-preview-${V}x${V}x${V}.h5`);
  await h5wasm.ready;
  const h5 = new h5wasm.File(await file.path(), 'r');
  try {
    const data = h5.get('volume') as InstanceType<typeof h5wasm.Dataset>;
    expect(data.shape).toEqual([V, V, V]);
    expect(data.attrs['units']?.value).toBe('1/mm');
    // The preview keeps 256 levels of the producer's range [0, 1]: each voxel within half a level.
    const read = data.value as Float32Array;
    expect(read.length).toBe(volume.length);
    let worst = 0;
    for (let i = 0; i < volume.length; i++)
      worst = Math.max(worst, Math.abs(read[i]! - volume[i]!));
    expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    const size = h5.get('voxel_size') as InstanceType<typeof h5wasm.Dataset>;
    expect(Array.from(size.value as Float64Array)).toEqual([9, 9, 9]);
  } finally {
    h5.close();
  }
});
