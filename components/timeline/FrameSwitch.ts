import type { StreamKey, View } from '@/lib/protocol';
import { FrameStore, type LatestFrame } from '@/components/live/FrameStore';
import type { VolumeAssembly } from '@/components/live/VolumeAssembly';

/**
 * The frame source the run page's viewers read: the live store, or a store of recorded frames
 * (a moment scrubbed to, a frozen view, a replay). Viewers keep one object and draw whatever it
 * answers, so going back in time or live again needs nothing from them. Live frames keep arriving
 * in the live store meanwhile.
 *
 * Renderers redraw when a frame's `version` changes; two stores count versions independently, so
 * every frame handed out gets a version from one counter here, never reused across sources.
 */
export class FrameSwitch extends FrameStore {
  private source: FrameStore;
  private readonly stamped = new WeakMap<LatestFrame, LatestFrame>();
  private counter = 0;

  constructor(readonly live: FrameStore) {
    super();
    this.source = live;
  }

  /** Shows `recorded`, or the live store again with null. */
  show(recorded: FrameStore | null): void {
    this.source = recorded ?? this.live;
  }

  get showingLive(): boolean {
    return this.source === this.live;
  }

  /** The store shown now. */
  get current(): FrameStore {
    return this.source;
  }

  override put(): void {
    throw new Error('FrameSwitch only reads: put frames into the live or a recorded store');
  }

  override get(run: string, key: StreamKey): LatestFrame | undefined {
    const latest = this.source.get(run, key);
    if (!latest) return undefined;
    let out = this.stamped.get(latest);
    if (!out) {
      out = { ...latest, version: ++this.counter };
      this.stamped.set(latest, out);
    }
    return out;
  }

  override volume(run: string, view: View = 'full'): VolumeAssembly | undefined {
    return this.source.volume(run, view);
  }

  override rate(run: string, key: StreamKey, now: number, windowMs?: number): number {
    return this.source.rate(run, key, now, windowMs);
  }

  override forgetRun(): void {
    // The live store is the live client's to forget; a recorded store is dropped with its timeline.
  }
}

/**
 * A store of recorded frames: arrival is "now" on this tab's clocks for drawing, but the wall-clock
 * arrival is set to the frame's publication, so latency figures show the recording's own split
 * (acquisition → reconstruction → publication) and no fake delivery delay of minutes.
 */
export class RecordedFrames extends FrameStore {
  override get(run: string, key: StreamKey): LatestFrame | undefined {
    const latest = super.get(run, key);
    if (latest && latest.receivedWallAt !== latest.frame.header.publishedAt)
      latest.receivedWallAt = latest.frame.header.publishedAt;
    return latest;
  }
}
