import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  encodeFrameStream,
  type FrameHeader,
  type StreamKey,
} from '@/lib/protocol';
import { createViewerStore } from '@/stores/viewerStore';
import { FrameStore } from '@/components/live/FrameStore';
import { RecordingApi } from './RecordingApi';
import { TimelineController } from './TimelineController';

const RUN = 'tl';
/** Published → accepted, ms: more than the 1 ms a step adds, as on a busy machine. */
const LAG = 40;

function frame(view: 'full' | 'roi', stream: 'xy' | 'xz', seq: number, t: number, value: number) {
  return encodeFrame(
    {
      run: RUN,
      stream,
      view,
      seq,
      dtype: 'uint16',
      shape: [2, 2],
      voxelSize: [1, 1, 1],
      ...(view === 'roi' && { region: { x: [0, 2], y: [0, 2], z: [0, 2] } }),
      acquiredAt: t,
      reconstructedAt: t,
      publishedAt: t - LAG,
      // The gateway files a frame by when it accepted it: LAG ms after its producer published it.
      acceptedAt: t,
    },
    new Uint16Array(4).fill(value),
  );
}

/** A recording: full/xy every 100 ms from t=1000 to 2000 (value = seq), roi/xy from t=1500. */
const recorded: { header: FrameHeader; payload: Uint8Array }[] = [];
for (let i = 0; i <= 10; i++) recorded.push(frame('full', 'xy', i, 1000 + 100 * i, i));
for (let i = 0; i <= 5; i++) recorded.push(frame('roi', 'xy', i, 1500 + 100 * i, 100 + i));

/** The two routes of server/recording/recordingRoutes.ts over the frames above. */
const requests: string[] = [];
async function gateway(path: string): Promise<Response> {
  requests.push(path);
  const url = new URL(path, 'http://gw');
  if (url.pathname.endsWith('/recording'))
    return Response.json({
      recording: {
        run: RUN,
        from: 1000,
        to: 2000,
        frames: recorded.length,
        bytes: 1,
        segments: 1,
        streams: [
          { key: 'full/xy', frames: 11, from: 1000, to: 2000 },
          { key: 'roi/xy', frames: 6, from: 1500, to: 2000 },
        ],
        markers: [{ t: 1480, kind: 'zoom', label: 'zoom applied' }],
        dropped: [],
        retention: { maxBytesPerRun: 1, maxBytes: 1, maxAgeMs: 1 },
      },
    });
  const key = url.searchParams.get('stream') as StreamKey;
  const of = recorded.filter((f) => `${f.header.view}/${f.header.stream}` === key);
  const at = url.searchParams.get('at');
  let frames;
  if (at) {
    const t = Date.parse(at);
    frames = of.filter((f) => f.header.acceptedAt! <= t).slice(-1);
    if (frames.length === 0) return new Response('{}', { status: 404 });
  } else {
    const from = Date.parse(url.searchParams.get('from')!);
    const to = Date.parse(url.searchParams.get('to')!);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    frames = of
      .filter((f) => f.header.acceptedAt! >= from && f.header.acceptedAt! <= to)
      .slice(0, limit);
  }
  return new Response(new Blob([encodeFrameStream(frames).slice()]), {
    headers: { 'x-loupe-truncated': 'false' },
  });
}

async function setUp() {
  const live = new FrameStore();
  const viewer = createViewerStore();
  const controller = new TimelineController(new RecordingApi(gateway, RUN), live, viewer);
  await controller.refresh();
  // Live now: the newest frames of both views, then zoomed in.
  const newest = recorded.filter((f) => f.header.acceptedAt === 2000);
  for (const f of newest) live.put(decodeFrame(f.header, f.payload), 0);
  viewer.getState().setView('roi');
  controller.noteLive();
  return { live, viewer, controller };
}

const shownValue = (c: TimelineController, key: StreamKey) =>
  c.frames.get(RUN, key)?.frame.pixels[0];

describe('TimelineController', () => {
  it('shows the frames in force at a past moment, the full view before the zoom, and goes live again', async () => {
    const { viewer, controller } = await setUp();
    expect(shownValue(controller, 'roi/xy')).toBe(105);
    expect(controller.store.getState().liveEdge).toBe(2000);

    await controller.seek(1350);
    expect(controller.store.getState()).toMatchObject({ mode: 'past', frameAt: 1300 });
    expect(shownValue(controller, 'full/xy')).toBe(3);
    // No zoomed region existed yet: the page shows the full view as it was.
    expect(viewer.getState().view).toBe('full');
    expect(controller.frames.get(RUN, 'roi/xy')).toBeUndefined();

    await controller.step(1);
    expect(shownValue(controller, 'full/xy')).toBe(4);
    await controller.step(-1);
    await controller.step(-1);
    expect(shownValue(controller, 'full/xy')).toBe(2);

    controller.goLive();
    expect(controller.store.getState().mode).toBe('live');
    expect(viewer.getState().view).toBe('roi');
    expect(shownValue(controller, 'roi/xy')).toBe(105);
  });

  it('a frame step the gateway fails says so and leaves the moment shown as it was', async () => {
    let failNext = false;
    const flaky = (path: string) =>
      failNext ? Promise.resolve(new Response('{"error":"boom"}', { status: 500 })) : gateway(path);
    const viewer = createViewerStore();
    const controller = new TimelineController(
      new RecordingApi(flaky, RUN),
      new FrameStore(),
      viewer,
    );
    await controller.refresh();
    await controller.seek(1350);
    failNext = true;
    await controller.step(-1);
    expect(controller.store.getState()).toMatchObject({
      mode: 'past',
      frameAt: 1300,
      error: 'frame step: frames at: HTTP 500',
    });
    expect(shownValue(controller, 'full/xy')).toBe(3);
    failNext = false;
    await controller.step(-1);
    expect(controller.store.getState()).toMatchObject({ frameAt: 1200, error: null });
  });

  it('hands out a new version for every frame whichever store it comes from', async () => {
    const { controller } = await setUp();
    const live = controller.frames.get(RUN, 'full/xy')!.version;
    await controller.seek(1000);
    const past = controller.frames.get(RUN, 'full/xy')!.version;
    await controller.seek(1000);
    const again = controller.frames.get(RUN, 'full/xy')!.version;
    controller.goLive();
    const back = controller.frames.get(RUN, 'full/xy')!.version;
    expect(new Set([live, past, again]).size).toBe(3);
    // The live frame is the same object as before: its version is kept, and differs from the past ones.
    expect(back).toBe(live);
  });

  it('a drag of many seeks loads only the first and the last', async () => {
    const { controller } = await setUp();
    requests.length = 0;
    const seeks = [1100, 1200, 1300, 1400, 1450].map((t) => controller.seek(t));
    await Promise.all(seeks);
    const ats = requests
      .filter((r) => r.includes('at='))
      .map((r) => new URL(r, 'http://gw').searchParams.get('at'));
    // One stream per load (no zoom was in force before 1480): the first seek, then the last.
    expect(ats).toHaveLength(2);
    expect(controller.store.getState().frameAt).toBe(1400);
  });

  it('replays at 16× to the end of a finished run', async () => {
    const { controller } = await setUp();
    controller.finished = true;
    controller.play(16);
    for (let i = 0; i < 100 && controller.store.getState().mode === 'playing'; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(controller.store.getState()).toMatchObject({ mode: 'past', shownAt: 2000 });
    expect(shownValue(controller, 'full/xy')).toBe(10);
    expect(shownValue(controller, 'roi/xy')).toBe(105);
  });
});
