import {
  type Frame,
  PLANES,
  type RecordingMarker,
  recordedAt,
  type StreamKey,
  streamKey,
  type View,
} from '@/lib/protocol';
import type { ViewerStore } from '@/stores/viewerStore';
import { createTimelineStore, type Speed, type TimelineStore } from '@/stores/timelineStore';
import type { FrameStore } from '@/components/live/FrameStore';
import { FrameSwitch, RecordedFrames } from './FrameSwitch';
import type { RecordingApi } from './RecordingApi';

/** When the recording filed a held frame (gateway clock), if one is held. */
function recordedAtOf(held: { frame: Frame } | undefined): number | undefined {
  return held && recordedAt(held.frame.header);
}

/** Every stream a run may record; the summary narrows it to those that have frames. */
const ALL_KEYS: readonly StreamKey[] = (['full', 'roi'] as const).flatMap((v) =>
  [...PLANES, 'volume' as const].map((s) => streamKey(v, s)),
);
/** Playback advances this often (ms of wall-clock time): about the live stream's rate. */
const TICK_MS = 100;
/** Most volume bricks one playback step fetches before it reloads the volume in force instead. */
const BRICKS_PER_STEP = 256;
/** A replay jumps over a span without frames longer than this (ms of recording time). */
const GAP_MS = 2000;
/** A run's recording summary (span, markers) is re-read this often while the page is open, ms. */
export const SUMMARY_REFRESH_MS = 2000;

/**
 * Moves the run page between the live stream and its recording: seek to an instant (the frames in
 * force then, fetched with `at=`), step frame by frame, freeze, play at 1×, 4× or 16×, and back to
 * live. It owns the FrameSwitch the viewers read and the timeline store the UI shows; live frames
 * keep arriving in the live store whatever it does. A seek asked while one is loading replaces the
 * one waiting, so dragging never queues more than one request per stream.
 */
export class TimelineController {
  readonly frames: FrameSwitch;
  readonly store: TimelineStore = createTimelineStore();
  private keys: StreamKey[] = [...ALL_KEYS];
  private pending: number | null = null;
  private seeking = false;
  private playToken = 0;
  /** The view the user had before a past moment without a zoomed region made it show the full one. */
  private restoreView: View | null = null;
  private disposed = false;
  /** Whether the run has ended (a replay): there is no live to go back to. */
  finished = false;

  constructor(
    readonly api: RecordingApi,
    live: FrameStore,
    private readonly viewer: ViewerStore,
  ) {
    this.frames = new FrameSwitch(live);
  }

  private get run(): string {
    return this.api.run;
  }

  /** Re-reads the recorded span and markers. */
  async refresh(): Promise<void> {
    try {
      const summary = await this.api.summary();
      if (this.disposed || !summary) return;
      const keys = summary.streams.map((s) => s.key);
      if (keys.length > 0) this.keys = keys;
      this.store.getState().set({
        from: summary.from ?? null,
        to: summary.to ?? null,
        markers: summary.markers,
      });
    } catch (error) {
      this.store.getState().set({ error: (error as Error).message });
    }
  }

  /** The newest live frame's time, read from the live store (called a few times a second). */
  noteLive(): void {
    let edge: number | null = null;
    for (const key of this.keys) {
      const t = recordedAtOf(this.frames.live.get(this.run, key));
      if (t !== undefined && (edge === null || t > edge)) edge = t;
    }
    if (edge !== null && edge !== this.store.getState().liveEdge)
      this.store.getState().set({ liveEdge: edge });
  }

  /** Shows the moment `t`; the last asked wins while one is loading. */
  seek(t: number): Promise<void> {
    this.stopPlaying();
    this.pending = t;
    this.holdWindow();
    this.store.getState().set({ mode: 'past', shownAt: t });
    return this.drainSeeks();
  }

  private async drainSeeks(): Promise<void> {
    if (this.seeking) return;
    this.seeking = true;
    this.store.getState().set({ loading: true });
    try {
      while (this.pending !== null) {
        const t = this.pending;
        this.pending = null;
        const recorded = await this.load(t);
        // Back to live (or a replay started) while this loaded: it is not wanted any more.
        if (this.disposed || this.store.getState().mode !== 'past' || this.pending !== null)
          continue;
        this.show(recorded, t);
      }
    } finally {
      this.seeking = false;
      this.store.getState().set({ loading: false });
    }
  }

  /**
   * Whether a zoomed region was in force at `t`: the newest zoom marker then is a zoom, not a
   * reset. A recorded ROI frame of an earlier zoom is not "as it was" after a reset. Without any
   * zoom marker (a run older than its markers' memory), whether a ROI frame exists decides.
   */
  private roiInForce(t: number): boolean | null {
    let last: RecordingMarker | null = null;
    for (const m of this.store.getState().markers)
      if (m.kind === 'zoom' && m.t <= t && (!last || m.t >= last.t)) last = m;
    if (!last) return this.store.getState().markers.some((m) => m.kind === 'zoom') ? false : null;
    return last.label.startsWith('zoom ') && last.label.endsWith('applied');
  }

  private keysAt(t: number): StreamKey[] {
    if (this.roiInForce(t) !== false) return this.keys;
    return this.keys.filter((k) => !k.startsWith('roi/'));
  }

  private async load(t: number): Promise<RecordedFrames> {
    const answers = await Promise.all(
      this.keysAt(t).map((key) =>
        this.api.at(key, t).catch((error: Error) => {
          this.store.getState().set({ error: error.message });
          return [] as Frame[];
        }),
      ),
    );
    const recorded = new RecordedFrames();
    const now = performance.now();
    for (const frames of answers) for (const frame of frames) recorded.put(frame, now);
    return recorded;
  }

  private show(recorded: FrameStore, t: number): void {
    this.frames.show(recorded);
    // A moment before the zoom has no zoomed region: show the full view as it was then.
    const viewer = this.viewer.getState();
    if (viewer.view !== 'full' && !recorded.get(this.run, streamKey(viewer.view, 'xy'))) {
      this.restoreView ??= viewer.view;
      viewer.setView('full');
    } else if (this.restoreView && recorded.get(this.run, streamKey(this.restoreView, 'xy'))) {
      viewer.setView(this.restoreView);
      this.restoreView = null;
    }
    this.store.getState().set({
      shownAt: t,
      frameAt: recordedAtOf(recorded.get(this.run, 'full/xy')) ?? null,
      error: null,
    });
  }

  /** The stream frame steps move along: the plane xy of the view shown. */
  private stepKey(): StreamKey {
    const key = streamKey(this.viewer.getState().view, 'xy');
    return this.keys.includes(key) ? key : 'full/xy';
  }

  /** One frame back (−1) or forward (+1) along the xy stream of the view shown. */
  async step(direction: -1 | 1): Promise<void> {
    try {
      await this.stepOnce(direction);
    } catch (error) {
      // A key press that did nothing says why (it was silent: an unhandled rejection).
      this.store.getState().set({ error: `frame step: ${(error as Error).message}` });
    }
  }

  private async stepOnce(direction: -1 | 1): Promise<void> {
    this.stopPlaying();
    const key = this.stepKey();
    const s = this.store.getState();
    const current =
      recordedAtOf(
        (s.mode === 'live' ? this.frames.live : this.frames.current).get(this.run, key),
      ) ??
      s.shownAt ??
      s.liveEdge;
    if (current === null) return;
    if (direction < 0) {
      const [frame] = await this.api.at(key, current - 1);
      if (frame) await this.seek(recordedAt(frame.header));
      return;
    }
    if (s.mode === 'live') return;
    const { frames } = await this.api.range(key, current + 1, current + 3_600_000, 1);
    if (frames[0]) await this.seek(recordedAt(frames[0].header));
    // Past the newest recorded frame of a run still streaming: that is live.
    else if (s.liveEdge !== null && !this.finished) this.goLive();
  }

  /** Space: hold the moment on screen while the stream keeps arriving underneath; again, live. */
  toggleFreeze(): void {
    const s = this.store.getState();
    if (s.mode === 'live') {
      const edge = s.liveEdge;
      if (edge !== null) void this.seek(edge);
    } else this.goLive();
  }

  /** Leaving live: the slider's span stops following the live edge, so a moment stays under the thumb. */
  private holdWindow(): void {
    const s = this.store.getState();
    if (s.mode !== 'live' || s.anchor !== null) return;
    const end = Math.max(s.to ?? -Infinity, s.liveEdge ?? -Infinity);
    if (Number.isFinite(end)) s.set({ anchor: end });
  }

  goLive(): void {
    if (this.finished) return;
    this.stopPlaying();
    this.pending = null;
    this.frames.show(null);
    if (this.restoreView) this.viewer.getState().setView(this.restoreView);
    this.restoreView = null;
    this.store
      .getState()
      .set({ mode: 'live', shownAt: null, frameAt: null, error: null, anchor: null });
  }

  /** Plays the recording from the moment shown (from its start when at its end) at `speed`. */
  play(speed: Speed): void {
    const s = this.store.getState();
    const start =
      s.mode === 'live' || s.shownAt === null || (s.to !== null && s.shownAt >= s.to)
        ? (s.from ?? s.shownAt)
        : s.shownAt;
    if (start === null) return;
    this.pending = null;
    this.holdWindow();
    const token = ++this.playToken;
    this.store.getState().set({ mode: 'playing', speed, shownAt: start });
    void this.playLoop(token, start, speed);
  }

  pause(): void {
    if (this.store.getState().mode !== 'playing') return;
    this.stopPlaying();
    this.store.getState().set({ mode: 'past' });
  }

  private stopPlaying(): void {
    this.playToken++;
  }

  private async playLoop(token: number, start: number, speed: Speed): Promise<void> {
    const recorded = await this.load(start);
    if (token !== this.playToken) return;
    this.show(recorded, start);
    // Playback time is origin.t plus wall-clock time since origin.wall, times the speed.
    let origin = { t: start, wall: performance.now() };
    let previous = start;
    while (token === this.playToken && !this.disposed) {
      const tickStart = performance.now();
      const s = this.store.getState();
      const end = this.finished ? s.to : (s.liveEdge ?? s.to);
      const target = Math.min(origin.t + (tickStart - origin.wall) * speed, end ?? Infinity);
      if (target > previous) {
        await this.advance(recorded, previous, target);
        if (token !== this.playToken) return;
        this.show(recorded, target);
        previous = target;
      }
      if (end !== null && target >= end) {
        if (this.finished) this.store.getState().set({ mode: 'past' });
        else this.goLive();
        this.stopPlaying();
        return;
      }
      // Nothing recorded for a while (the run paused, the gateway was down): jump the gap.
      const newest = this.newestShown(recorded);
      if (end !== null && newest !== null && target - newest > GAP_MS) {
        const { frames } = await this.api.range(this.stepKey(), target, end, 1);
        if (token !== this.playToken) return;
        const next = frames[0] && recordedAt(frames[0].header);
        if (next !== undefined && next - target > GAP_MS) {
          origin = { t: next - TICK_MS * speed, wall: performance.now() };
          previous = origin.t;
        }
      }
      await sleep(Math.max(0, TICK_MS - (performance.now() - tickStart)));
    }
  }

  private newestShown(recorded: FrameStore): number | null {
    let newest: number | null = null;
    for (const key of this.keys) {
      const t = recordedAtOf(recorded.get(this.run, key));
      if (t !== undefined && (newest === null || t > newest)) newest = t;
    }
    return newest;
  }

  /** Brings `recorded` from `from` to `to`: each slice stream's frame then, the bricks between. */
  private async advance(recorded: RecordedFrames, from: number, to: number): Promise<void> {
    const now = () => performance.now();
    await Promise.all(
      this.keysAt(to).map(async (key) => {
        try {
          if (key.endsWith('/volume')) {
            const { frames, truncated } = await this.api.range(key, from + 1, to, BRICKS_PER_STEP);
            const bricks = truncated ? await this.api.at(key, to) : frames;
            for (const brick of bricks) recorded.put(brick, now());
            return;
          }
          const [frame] = await this.api.at(key, to);
          const shown = recorded.get(this.run, key)?.frame.header;
          if (
            frame &&
            (shown?.seq !== frame.header.seq || shown.publishedAt !== frame.header.publishedAt)
          )
            recorded.put(frame, now());
        } catch (error) {
          this.store.getState().set({ error: (error as Error).message });
        }
      }),
    );
  }

  dispose(): void {
    this.disposed = true;
    this.stopPlaying();
    this.pending = null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
