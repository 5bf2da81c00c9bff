import { readFileSync } from 'node:fs';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { fromArrayBuffer } from 'geotiff';
import { io, type Socket } from 'socket.io-client';
import {
  decodeFrameStream,
  encodeFrame,
  type GatewayToProducer,
  PLANES,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type ProducerToGateway,
  recordedAt,
} from '../lib/protocol';
import { webmFrameCounts } from '../lib/export/webmFrames';
import { testIds } from '../lib/testIds';
import { forgeCommand, signInAs } from './auth';
import { changedShare, greyPixels, spread } from './pixels';

const GATEWAY = `http://127.0.0.1:${Number(process.env.LOUPE_E2E_PORT ?? 3210) + 1000}`;

/** The timeline's numbers, from its data attributes. */
async function timelineNumber(timeline: Locator, name: string): Promise<number> {
  return Number(await timeline.getAttribute(`data-${name}`));
}

/** Drags the slider's thumb from the live end to the instant `t`, as a person would. */
async function dragTo(page: Page, timeline: Locator, t: number) {
  const slider = page.getByTestId(testIds.timelineSlider);
  await slider.scrollIntoViewIfNeeded();
  const box = (await slider.boundingBox())!;
  const from = await timelineNumber(timeline, 'window-from');
  const to = await timelineNumber(timeline, 'to');
  // Chromium's range thumb is about 16 px wide: its centre runs from 8 px to width − 8 px.
  const x = (u: number) => box.x + 8 + ((u - from) / (to - from)) * (box.width - 16);
  const y = box.y + box.height / 2;
  await page.mouse.move(x(to), y);
  await page.mouse.down();
  await page.mouse.move((x(to) + x(t)) / 2, y, { steps: 5 });
  await page.mouse.move(x(t), y, { steps: 5 });
  await page.mouse.up();
}

// Issue 14's first "done when". Red in CI once with frame-at empty for 90 s after the drag: each
// seek asked the gateway for the volume in force, and the recorder read every brick recorded
// since the run began (3.4 s at 11 minutes of the demo, growing with the run); it now stops once
// the bricks it found cover the volume. Green since in the full clean-clone suite (1.8 min) and
// before steering.spec (1.7 min), which now allows the demo's slices 60 s to come back.
test('zoom in, drag the timeline back before the zoom and see the full view as it was, L is live again', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await signInAs(page, 'ada');
  await page.goto('/runs/demo');
  const xy = page.getByTestId(testIds.sliceCanvas('xy'));
  // On a shared 2-core machine the first slice can take long after load (issue 12 measured it).
  await expect
    .poll(async () => spread((await greyPixels(xy)).grey), { timeout: 120_000 })
    .toBeGreaterThan(20);
  // Start from the full view, whatever an earlier spec (or a first attempt) left.
  const resetSentAt = Date.now();
  expect((await forgeCommand(page, 'demo', { kind: 'reset-zoom' })).status).toBeLessThan(300);
  const timeline = page.getByTestId(testIds.timeline);
  await page.getByLabel('Timeline span').selectOption({ label: '10 min' });
  await expect(timeline).toHaveAttribute('data-to', /\d/, { timeout: 30_000 });
  // … and applied before the moment frozen below: until the consumer applies it, the recording
  // says the earlier zoom is in force (red once in CI: a busy consumer applied it after the freeze,
  // and the frozen moment was shown zoomed from an older zoom's frames).
  const newestMarker = (name: RegExp) => async () =>
    Math.max(
      -Infinity,
      ...(await page
        .getByRole('listitem', { name })
        .evaluateAll((items) => items.map((i) => Number(i.dataset.t)))),
    );
  await expect
    .poll(newestMarker(/^reset-zoom applied/), { timeout: 90_000 })
    .toBeGreaterThanOrEqual(resetSentAt);
  await expect(page.getByTestId(testIds.viewToggle('full'))).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await page.waitForTimeout(2000);

  // Space freezes: the picture holds (one known frame) while the stream keeps arriving underneath.
  await page.locator('body').press('Space');
  await expect(timeline).toHaveAttribute('data-mode', 'past');
  await expect(timeline).toHaveAttribute('data-frame-at', /\d/, { timeout: 90_000 });
  const frozenAt = await timelineNumber(timeline, 'shown-at');
  const beforeAt = await timelineNumber(timeline, 'frame-at');
  await expect
    .poll(async () => spread((await greyPixels(xy)).grey), { timeout: 90_000 })
    .toBeGreaterThan(20);
  const before = await greyPixels(xy);
  await expect
    .poll(async () => timelineNumber(timeline, 'live-edge'), { timeout: 30_000 })
    .toBeGreaterThan(frozenAt + 500);
  await expect(page.getByTestId(testIds.liveIndicator)).toContainText('behind live');
  expect(await timelineNumber(timeline, 'frame-at')).toBe(beforeAt);
  await page.locator('body').press('Space');
  await expect(timeline).toHaveAttribute('data-mode', 'live');
  await page.waitForTimeout(2000);

  // Zoom into the middle third of the xy slice (shift-drag).
  const box = (await xy.boundingBox())!;
  await page.keyboard.down('Shift');
  await page.mouse.move(box.x + box.width / 3, box.y + box.height / 3);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
  await page.mouse.move(box.x + (2 * box.width) / 3, box.y + (2 * box.height) / 3, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await expect(page.getByTestId(testIds.viewToggle('roi'))).toHaveAttribute('aria-pressed', 'true');
  // This zoom's marker: the newest one after the frozen frame. A retry's timeline also holds the
  // first attempt's zoom (red once in CI: the retry read that one before its own had arrived).
  const newestZoom = newestMarker(/^zoom applied/);
  await expect.poll(newestZoom, { timeout: 30_000 }).toBeGreaterThan(beforeAt);
  const zoomAt = await newestZoom();
  // The zoomed reconstruction differs from the full view on screen.
  await expect
    .poll(async () => changedShare(before.grey, (await greyPixels(xy)).grey), { timeout: 90_000 })
    .toBeGreaterThan(0.2);
  await page.waitForTimeout(3000);

  // Drag back to about the frozen moment, then frame by frame to exactly its frame.
  await dragTo(page, timeline, beforeAt);
  await expect(timeline).toHaveAttribute('data-mode', 'past');
  await expect(timeline).toHaveAttribute('data-frame-at', /\d/, { timeout: 90_000 });
  for (let i = 0; i < 60; i++) {
    const at = await timelineNumber(timeline, 'frame-at');
    if (at === beforeAt) break;
    await page.locator('body').press(at > beforeAt ? ',' : '.');
    await expect(timeline).not.toHaveAttribute('data-frame-at', String(at), { timeout: 30_000 });
  }
  expect(await timelineNumber(timeline, 'frame-at')).toBe(beforeAt);
  expect(beforeAt).toBeLessThan(zoomAt);
  // The full view as it was: the same frame drawn as when it was live. Not bit-identical on
  // screen: 0.024 of the pixels moved by more than 8 grey levels in one run (under 0.02 in two
  // others), while the zoomed view differs in more than 0.2 of them.
  await expect(page.getByTestId(testIds.viewToggle('full'))).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect
    .poll(async () => changedShare(before.grey, (await greyPixels(xy)).grey), { timeout: 90_000 })
    .toBeLessThan(0.06);
  const indicator = page.getByTestId(testIds.liveIndicator);
  await expect(indicator).toHaveAttribute('data-live', 'false');
  expect(Number(await indicator.getAttribute('data-behind-ms'))).toBeGreaterThan(3000);

  // L: live again, zoomed as before.
  await page.locator('body').press('l');
  await expect(timeline).toHaveAttribute('data-mode', 'live');
  await expect(indicator).toHaveAttribute('data-live', 'true');
  await expect(page.getByTestId(testIds.viewToggle('roi'))).toHaveAttribute('aria-pressed', 'true');
  await expect
    .poll(async () => changedShare(before.grey, (await greyPixels(xy)).grey), { timeout: 90_000 })
    .toBeGreaterThan(0.2);
  // Leave the demo in its full view for the specs that follow.
  expect((await forgeCommand(page, 'demo', { kind: 'reset-zoom' })).status).toBeLessThan(300);
});

// A finished run of our own: FRAMES frames per plane at 10 Hz, frame k of plane p a gradient
// shifted by k, then the producer reports the run finished.
const RUN = 'e2e-recording';
const N = 64;
const FRAMES = 30;
/** Projections per second the producer reports with frame k: this plus k. */
const PROJECTIONS_PER_S = 500;
// Consecutive frames differ by about a third of the range at every pixel (steps are visible).
const slice = (k: number, p: number) =>
  Float32Array.from({ length: N * N }, (_, i) => ((i + k * 1237 + p * 31) % (N * N)) / (N * N));

let producer: Socket<GatewayToProducer, ProducerToGateway>;
/** When the recording filed the xy frames we sent (acceptedAt: the gateway stamps it). */
let sent: { first: number; last: number };

test.describe('a finished run', () => {
  test.beforeAll(async () => {
    const users = JSON.parse(readFileSync('.e2e-data/users.json', 'utf8')) as {
      users: { role: string; token: string }[];
    };
    const token = users.users.find((u) => u.role === 'producer')!.token;
    // Producers publish but do not read: the recording is read back as a viewer.
    const reader = users.users.find((u) => u.role === 'viewer')!.token;
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
    const reply = await producer.emitWithAck('run:register', {
      run: RUN,
      title: 'e2e: recording',
    });
    if (!reply.ok) throw new Error(reply.error);
    const start = Date.now();
    for (let k = 0; k < FRAMES; k++) {
      // The consumer's own health report, recorded with the frames: a replay shows it.
      producer.emit('run:metrics', {
        run: RUN,
        at: Date.now(),
        projectionsPerSecond: PROJECTIONS_PER_S + k,
        slicesPerSecond: 30,
        bricksPerSecond: 0,
        voxelAngleUpdatesPerSecond: 1e6,
        coverageDeg: 180,
        cycleMs: 33,
        lagMs: 12,
        paused: false,
      });
      for (const [p, plane] of PLANES.entries()) {
        const now = Date.now();
        const { header, payload } = encodeFrame(
          {
            run: RUN,
            stream: plane,
            seq: (reply.lastKept[`full/${plane}`] ?? -1) + 1 + k,
            dtype: 'float32',
            shape: [N, N],
            voxelSize: [2, 2, 2],
            range: [0, 1],
            position: N / 2,
            volumeShape: [N, N, N],
            acquiredAt: now,
            reconstructedAt: now,
            publishedAt: now,
          },
          slice(k, p),
        );
        expect(await producer.emitWithAck('frame', header, payload)).toEqual({ ok: true });
      }
      await new Promise((r) => setTimeout(r, Math.max(0, start + (k + 1) * 100 - Date.now())));
    }
    await producer.timeout(10_000).emitWithAck('run:state', { run: RUN, state: 'finished' });
    // The frames as the gateway recorded them: our span is the newest FRAMES of full/xy.
    const res = await fetch(
      `${GATEWAY}/api/runs/${RUN}/frames?stream=full/xy&from=${new Date(start - 1000).toISOString()}&to=${new Date(Date.now() + 1000).toISOString()}`,
      { headers: { authorization: `Bearer ${reader}` } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-loupe-frames')).toBe(String(FRAMES));
    const body = new Uint8Array(await res.arrayBuffer());
    const frames = decodeFrameStream(body);
    // By the recording's clock (acceptedAt), as the timeline and the clip's span count: a clip
    // ending 50 ms after the last frame's publishedAt missed it once in CI (accepted later).
    sent = { first: recordedAt(frames[0]!.header), last: recordedAt(frames.at(-1)!.header) };
  });

  test.afterAll(() => {
    producer?.close();
  });

  test('stays listed and replays its recording through the same viewers', async ({ page }) => {
    test.setTimeout(400_000);
    await page.goto('/');
    const link = page.getByTestId(testIds.runLink(RUN));
    await expect(link.getByTestId(testIds.runState)).toHaveAttribute('data-state', 'finished');
    await link.click();
    const timeline = page.getByTestId(testIds.timeline);
    const indicator = page.getByTestId(testIds.liveIndicator);
    // Opening it plays the recording at 1× from the start, to its last frame.
    await expect(indicator).toHaveText('replay 1×', { timeout: 30_000 });
    await expect
      .poll(async () => timelineNumber(timeline, 'frame-at'), { timeout: 60_000 })
      .toBe(sent.last);
    await expect(indicator).toHaveText('replay');
    // The producer's health as it reported it then, from the recording.
    const recorded = page.getByTestId(testIds.recordedProducer);
    await expect(recorded).toHaveAttribute('data-state', 'found', { timeout: 30_000 });
    const projections = async () =>
      Number(await recorded.locator('dt:text-is("projections / s") + dd').innerText());
    expect(await projections()).toBeGreaterThanOrEqual(PROJECTIONS_PER_S);
    expect(await projections()).toBeLessThan(PROJECTIONS_PER_S + FRAMES);
    const xy = page.getByTestId(testIds.sliceCanvas('xy'));
    await expect
      .poll(async () => spread((await greyPixels(xy)).grey), { timeout: 90_000 })
      .toBeGreaterThan(20);
    const last = await greyPixels(xy);

    // Frame by frame: back one frame shows another picture; 16× plays to the end again.
    await page.locator('body').press(',');
    await expect.poll(async () => timelineNumber(timeline, 'frame-at')).toBeLessThan(sent.last);
    await expect
      .poll(async () => changedShare(last.grey, (await greyPixels(xy)).grey), { timeout: 90_000 })
      .toBeGreaterThan(0.3);
    await page.getByRole('button', { name: 'Play at 16×' }).click();
    await expect
      .poll(async () => timelineNumber(timeline, 'frame-at'), { timeout: 60_000 })
      .toBe(sent.last);
  });

  test('a clip of one plane: the WebM has one frame per recorded frame, the TIFF stack the raw frames', async ({
    page,
  }) => {
    test.setTimeout(400_000);
    await page.goto(`/runs/${RUN}`);
    const timeline = page.getByTestId(testIds.timeline);
    await expect(timeline).toHaveAttribute('data-from', /\d/, { timeout: 30_000 });
    const from = await timelineNumber(timeline, 'from');
    const clip = page.getByTestId(testIds.clipExport);
    // The whole of our run, in seconds into the recording (an earlier e2e run may come before it).
    await clip
      .getByLabel('Clip start, seconds into the recording')
      .fill(((sent.first - from) / 1000 - 0.05).toFixed(2));
    await clip
      .getByLabel('Clip end, seconds into the recording')
      .fill(((sent.last - from) / 1000 + 0.05).toFixed(2));

    let download = page.waitForEvent('download');
    await clip.getByRole('button', { name: 'Export the clip as a WebM movie' }).click();
    const webm = new Uint8Array(readFileSync(await (await download).path()));
    await expect(clip.getByRole('status')).toHaveAttribute('data-frames', String(FRAMES));
    expect([...webmFrameCounts(webm).values()]).toEqual([FRAMES]);

    download = page.waitForEvent('download');
    await clip
      .getByRole('button', { name: "Export the clip's raw frames as a TIFF stack" })
      .click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(
      new RegExp(`^${RUN}-full-xy-seq\\d+-${FRAMES}f\\.tif$`),
    );
    const bytes = readFileSync(await file.path());
    const tiff = await fromArrayBuffer(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    expect(await tiff.getImageCount()).toBe(FRAMES);
    for (const k of [0, FRAMES - 1]) {
      const [raster] = (await (await tiff.getImage(k)).readRasters()) as unknown as [Float32Array];
      expect(Array.from(raster)).toEqual(Array.from(slice(k, 0)));
    }
  });
});
