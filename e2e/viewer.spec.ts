import { readFileSync } from 'node:fs';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { io, type Socket } from 'socket.io-client';
import {
  encodeFrame,
  type GatewayToProducer,
  parseHeader,
  PLANES,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type ProducerToGateway,
} from '../lib/protocol';
import { testIds } from '../lib/testIds';
import { phantomSlice, phantomValue, voxelCentre } from '../consumers/phantom/sheppLogan3d';
import { changedShare, greyPixels, spread } from './pixels';

// A run of our own with frames that never change, so every pixel change is the viewer's doing.
// The gateway is the e2e server's (playwright.config.ts: UI port + 1000, users in .e2e-data).
const RUN = 'e2e-viewer';
const GATEWAY = `http://127.0.0.1:${Number(process.env.LOUPE_E2E_PORT ?? 3210) + 1000}`;
/** Slice edge and volume edge in voxels; bricks of BRICK³. */
const N = 128;
const V = 64;
const BRICK = 32;

let producer: Socket<GatewayToProducer, ProducerToGateway>;
const seq = new Map<string, number>();

async function publish(
  stream: (typeof PLANES)[number] | 'volume',
  pixels: Uint16Array,
  extra: object,
) {
  const s = seq.get(stream) ?? 0;
  seq.set(stream, s + 1);
  const now = Date.now();
  const { header, payload } = encodeFrame(
    parseHeader({
      run: RUN,
      stream,
      seq: s,
      dtype: 'uint16',
      shape: [N, N],
      voxelSize: [2, 2, 2],
      range: [0, 4095],
      acquiredAt: now,
      reconstructedAt: now,
      publishedAt: now,
      ...extra,
    }),
    pixels,
  );
  const answer = await producer.emitWithAck('frame', header, payload);
  expect(answer).toEqual({ ok: true });
}

function brick(index: number): Uint16Array {
  const per = V / BRICK;
  const [bx, by, bz] = [index % per, Math.floor(index / per) % per, Math.floor(index / per ** 2)];
  const out = new Uint16Array(BRICK ** 3);
  for (let z = 0; z < BRICK; z++)
    for (let y = 0; y < BRICK; y++)
      for (let x = 0; x < BRICK; x++) {
        const d = phantomValue(
          voxelCentre(bx * BRICK + x, V),
          voxelCentre(by * BRICK + y, V),
          voxelCentre(bz * BRICK + z, V),
        );
        out[(z * BRICK + y) * BRICK + x] = Math.round(d * 4000 + 40);
      }
  return out;
}

async function publishBricks(indices: number[]) {
  const per = V / BRICK;
  for (const i of indices) {
    const offset: [number, number, number] = [
      (i % per) * BRICK,
      (Math.floor(i / per) % per) * BRICK,
      Math.floor(i / per ** 2) * BRICK,
    ];
    await publish('volume', brick(i), {
      shape: [BRICK, BRICK, BRICK],
      volumeShape: [V, V, V],
      brickOffset: offset,
      voxelSize: [4, 4, 4],
    });
  }
}

test.beforeAll(async () => {
  const users = JSON.parse(readFileSync('.e2e-data/users.json', 'utf8')) as {
    users: { role: string; token: string }[];
  };
  const token = users.users.find((u) => u.role === 'producer')!.token;
  producer = io(GATEWAY + PRODUCER_NAMESPACE, {
    path: PRODUCER_SOCKET_PATH,
    transports: ['websocket'],
    // The producer engine checks the token at the handshake.
    extraHeaders: { authorization: `Bearer ${token}` },
    auth: { protocolVersion: PROTOCOL_VERSION, token },
  });
  await new Promise<void>((resolve, reject) => {
    producer.once('connect', resolve);
    producer.once('connect_error', reject);
  });
  const reply = await producer.emitWithAck('run:register', {
    run: RUN,
    title: 'e2e: static phantom',
  });
  if (!reply.ok) throw new Error(reply.error);
  // The e2e database outlives a run (and a retried worker): continue after what the gateway kept.
  for (const stream of [...PLANES, 'volume'] as const) {
    seq.set(stream, (reply.lastKept[`full/${stream}`] ?? -1) + 1);
  }
  const position = N / 2 + 10;
  for (const plane of PLANES) {
    const density = phantomSlice(plane, position, N);
    await publish(
      plane,
      Uint16Array.from(density, (d) => Math.round(d * 4000 + 40)),
      { position, volumeShape: [N, N, N] },
    );
  }
});

test.afterAll(() => {
  producer?.close();
});

/** Opens the run; on a loaded two-core machine the first slice can take tens of seconds. */
async function openRun(page: Page) {
  test.setTimeout(120_000);
  await page.goto(`/runs/${RUN}`);
  for (const plane of PLANES) {
    await expect
      .poll(
        async () => spread((await greyPixels(page.getByTestId(testIds.sliceCanvas(plane)))).grey),
        { message: `${plane} draws the phantom`, timeout: 60_000 },
      )
      .toBeGreaterThan(20);
  }
}

/** Mean |r − g| + |g − b|: 0 for grey, large for a colormap. */
async function colourfulness(locator: Locator): Promise<number> {
  const png = PNG.sync.read(await locator.screenshot());
  let sum = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    const [r, g, b] = [png.data[i * 4]!, png.data[i * 4 + 1]!, png.data[i * 4 + 2]!];
    sum += Math.abs(r - g) + Math.abs(g - b);
  }
  return sum / (png.width * png.height);
}

test('moving the window changes the drawn pixels', async ({ page }) => {
  await openRun(page);
  const xy = page.getByTestId(testIds.sliceCanvas('xy'));
  const before = await greyPixels(xy);
  await page.getByTestId(testIds.windowMax).fill('1200');
  await expect
    .poll(async () => changedShare(before.grey, (await greyPixels(xy)).grey))
    .toBeGreaterThan(0.05);
  // Auto-contrast (keyboard) sets a window from the histogram and the image changes again.
  const windowed = await greyPixels(xy);
  // Leave the number field (shortcuts never fire while typing), then press A.
  await page.getByTestId(testIds.windowMax).blur();
  await page.keyboard.press('a');
  await expect
    .poll(async () => changedShare(windowed.grey, (await greyPixels(xy)).grey))
    .toBeGreaterThan(0.02);
  await expect(page.getByTestId(testIds.windowMax)).not.toHaveValue('1200');
});

test('dragging a histogram handle moves the window', async ({ page }) => {
  await openRun(page);
  const handle = page.getByTestId(testIds.histogramHandle('max'));
  const max = Number(await page.getByTestId(testIds.windowMax).inputValue());
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x - 120, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect
    .poll(async () => Number(await page.getByTestId(testIds.windowMax).inputValue()))
    .toBeLessThan(max);
});

test('switching the colormap changes the drawn pixels', async ({ page }) => {
  await openRun(page);
  const xy = page.getByTestId(testIds.sliceCanvas('xy'));
  expect(await colourfulness(xy)).toBeLessThan(2);
  const grey = await greyPixels(xy);
  await page.getByTestId(testIds.colormap('viridis')).click();
  await expect.poll(() => colourfulness(xy)).toBeGreaterThan(20);
  await page.locator('body').press('5'); // inverted grey
  await expect
    .poll(async () => changedShare(grey.grey, (await greyPixels(xy)).grey))
    .toBeGreaterThan(0.3);
});

test('clicking a point in one plane moves the crosshair in the other two', async ({ page }) => {
  await openRun(page);
  const others = ['xz', 'yz'] as const;
  const before = await Promise.all(
    others.map((p) => greyPixels(page.getByTestId(testIds.sliceCanvas(p)))),
  );
  const xy = page.getByTestId(testIds.sliceCanvas('xy'));
  const box = (await xy.boundingBox())!;
  // A quarter across and three fifths down the xy slice: voxel x = N/4, y = 3N/5.
  await xy.click({ position: { x: box.width * 0.25, y: box.height * 0.6 } });
  const x = Math.floor(0.25 * N);
  const y = Math.floor(0.6 * N);
  await expect(page.getByTestId(testIds.selectedPoint)).toContainText(
    `x ${x} y ${y} z ${N / 2 + 10}`,
  );
  for (const [i, plane] of others.entries()) {
    const after = await greyPixels(page.getByTestId(testIds.sliceCanvas(plane)));
    // The crosshair's vertical line sits at the picked x (xz) or y (yz): find the column that changed most.
    const columns = new Float64Array(after.width);
    for (let r = 0; r < after.height; r++)
      for (let c = 0; c < after.width; c++)
        columns[c]! += Math.abs(
          after.grey[r * after.width + c]! - before[i]!.grey[r * after.width + c]!,
        );
    const peak = columns.indexOf(Math.max(...columns));
    const expected = (((plane === 'xz' ? x : y) + 0.5) / N) * after.width;
    expect(Math.abs(peak - expected), `${plane} crosshair column`).toBeLessThan(after.width * 0.02);
  }
});

test('the volume canvas is not blank and fills in as bricks arrive', async ({ page }) => {
  await openRun(page);
  const canvas = page.getByTestId(testIds.volumeCanvas);
  const fill = page.getByTestId(testIds.volumeFill);
  // Half the bricks (the lower half in z), then the rest.
  await publishBricks([0, 1, 2, 3]);
  await expect(fill).toContainText('50 % filled');
  await expect.poll(async () => spread((await greyPixels(canvas)).grey)).toBeGreaterThan(8);
  const half = await greyPixels(canvas);
  await publishBricks([4, 5, 6, 7]);
  await expect(fill).toContainText('100 % filled');
  await expect
    .poll(async () => changedShare(half.grey, (await greyPixels(canvas)).grey))
    .toBeGreaterThan(0.02);
  // Each mode draws something different.
  const mip = await greyPixels(canvas);
  await page.getByTestId(testIds.volumeMode('iso')).click();
  await expect
    .poll(async () => changedShare(mip.grey, (await greyPixels(canvas)).grey))
    .toBeGreaterThan(0.02);
});

test('the run metrics show this viewer’s flow counters adding up', async ({ page }) => {
  await openRun(page);
  // The charts render while they are on screen only: scroll to them, as a person would.
  await page.getByTestId(testIds.runMetrics).scrollIntoViewIfNeeded();
  await expect(page.getByTestId(testIds.flowCounters)).toContainText(
    /produced \d+ = delivered \d+ \+ replaced \d+ \+ rejected \d+ \+ pending \d+ ✓/,
  );
});
