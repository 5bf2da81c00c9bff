import type { Frame, StreamKey, View } from '@/lib/protocol';
import { VolumeAssembly } from './VolumeAssembly';

/** The newest frame of one stream, with when it arrived here. */
export interface LatestFrame {
  frame: Frame;
  /** performance.now() at arrival, ms: for durations measured in this tab. */
  receivedAt: number;
  /** Date.now() at arrival, ms: comparable (up to clock skew) with the header's wall-clock stamps. */
  receivedWallAt: number;
  /** Increments with every frame of this stream; renderers compare it to what they drew. */
  version: number;
}

/** Arrival times kept per stream for the frames-per-second figure: about 2 s at 60 Hz. */
const ARRIVALS_KEPT = 120;

/**
 * Frames outside React: the newest frame per (run, stream), replaced on arrival, and the preview
 * volume per (run, view) assembled from its bricks. Views read them each animation frame, so a
 * frame that arrives while another is being drawn simply replaces it.
 */
export class FrameStore {
  private readonly latest = new Map<string, LatestFrame>();
  private readonly arrivals = new Map<string, number[]>();
  private readonly volumes = new Map<string, VolumeAssembly>();

  put(frame: Frame, receivedAt: number): void {
    const { header } = frame;
    const id = `${header.run}|${header.view}/${header.stream}`;
    const previous = this.latest.get(id);
    this.latest.set(id, {
      frame,
      receivedAt,
      receivedWallAt: Date.now(),
      version: (previous?.version ?? 0) + 1,
    });
    let times = this.arrivals.get(id);
    if (!times) this.arrivals.set(id, (times = []));
    times.push(receivedAt);
    if (times.length > ARRIVALS_KEPT) times.shift();
    if (header.stream === 'volume' && VolumeAssembly.fits(header)) {
      const vid = `${header.run}|${header.view}`;
      let volume = this.volumes.get(vid);
      if (!volume || !volume.matches(header)) {
        volume = new VolumeAssembly(
          [...header.volumeShape!] as [number, number, number],
          [...header.voxelSize] as [number, number, number],
          header.range ? [...header.range] : defaultRange(header.dtype),
        );
        this.volumes.set(vid, volume);
      }
      volume.add(frame);
    }
  }

  get(run: string, key: StreamKey): LatestFrame | undefined {
    return this.latest.get(`${run}|${key}`);
  }

  /** The preview volume of a run's view being assembled, if any brick arrived. */
  volume(run: string, view: View = 'full'): VolumeAssembly | undefined {
    return this.volumes.get(`${run}|${view}`);
  }

  /** Frames per second received on a stream over the last `windowMs`, at time `now`. */
  rate(run: string, key: StreamKey, now: number, windowMs = 2000): number {
    const times = this.arrivals.get(`${run}|${key}`) ?? [];
    const recent = times.filter((t) => now - t <= windowMs);
    if (recent.length < 2) return recent.length === 1 && windowMs > 0 ? 1000 / windowMs : 0;
    return ((recent.length - 1) * 1000) / (recent[recent.length - 1]! - recent[0]!);
  }

  /** Drops a view's frames of a run (the gateway dropped its `roi` streams: RunSummary.roiEpoch). */
  forgetView(run: string, view: View): void {
    for (const map of [this.latest, this.arrivals, this.volumes]) {
      for (const id of [...map.keys()])
        if (id === `${run}|${view}` || id.startsWith(`${run}|${view}/`)) map.delete(id);
    }
  }

  forgetRun(run: string): void {
    for (const map of [this.latest, this.arrivals, this.volumes]) {
      for (const id of [...map.keys()]) if (id.startsWith(`${run}|`)) map.delete(id);
    }
  }
}

/** Without a stated range, a brick's dtype range: uint8/uint16 full scale, float32 assumed normalised. */
function defaultRange(dtype: Frame['header']['dtype']): [number, number] {
  return dtype === 'uint8' ? [0, 255] : dtype === 'uint16' ? [0, 65535] : [0, 1];
}
