import type { Frame, StreamKey } from '@/lib/protocol';

/** The newest frame of one stream, with when it arrived here (ms, performance clock). */
export interface LatestFrame {
  frame: Frame;
  receivedAt: number;
  /** Increments with every frame of this stream; renderers compare it to what they drew. */
  version: number;
}

/** Arrival times kept per stream for the frames-per-second figure: about 2 s at 60 Hz. */
const ARRIVALS_KEPT = 120;

/**
 * Frames outside React: the newest frame per (run, stream), replaced on arrival. Views read it each
 * animation frame, so a frame that arrives while another is being drawn simply replaces it.
 */
export class FrameStore {
  private readonly latest = new Map<string, LatestFrame>();
  private readonly arrivals = new Map<string, number[]>();

  put(frame: Frame, receivedAt: number): void {
    const id = `${frame.header.run}|${frame.header.view}/${frame.header.stream}`;
    const previous = this.latest.get(id);
    this.latest.set(id, { frame, receivedAt, version: (previous?.version ?? 0) + 1 });
    let times = this.arrivals.get(id);
    if (!times) this.arrivals.set(id, (times = []));
    times.push(receivedAt);
    if (times.length > ARRIVALS_KEPT) times.shift();
  }

  get(run: string, key: StreamKey): LatestFrame | undefined {
    return this.latest.get(`${run}|${key}`);
  }

  /** Frames per second received on a stream over the last `windowMs`, at time `now`. */
  rate(run: string, key: StreamKey, now: number, windowMs = 2000): number {
    const times = this.arrivals.get(`${run}|${key}`) ?? [];
    const recent = times.filter((t) => now - t <= windowMs);
    if (recent.length < 2) return recent.length === 1 && windowMs > 0 ? 1000 / windowMs : 0;
    return ((recent.length - 1) * 1000) / (recent[recent.length - 1]! - recent[0]!);
  }

  forgetRun(run: string): void {
    for (const id of [...this.latest.keys()]) if (id.startsWith(`${run}|`)) this.latest.delete(id);
    for (const id of [...this.arrivals.keys()])
      if (id.startsWith(`${run}|`)) this.arrivals.delete(id);
  }
}
