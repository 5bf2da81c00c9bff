import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import { fromArrayBuffer } from 'geotiff';
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
