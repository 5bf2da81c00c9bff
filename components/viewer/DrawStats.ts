import type { LatestFrame } from '@/components/live/FrameStore';

/** Draws kept per stream for the rate and latency figures: about 4 s at 30 Hz. */
const KEPT = 120;

/** Where a frame's time went, ms, from the newest projection used to the frame on screen. */
export interface LatencySplit {
  /** Acquisition → end of reconstruction (producer clock). */
  reconstruction: number;
  /** End of reconstruction → publication by the gateway (producer → gateway clocks). */
  publication: number;
  /** Publication → arrival in this tab (gateway → browser clocks; skew shows here). */
  delivery: number;
  /** Arrival → drawn (this tab's clock only). */
  drawing: number;
}

interface Sample extends LatencySplit {
  /** performance.now() when drawn. */
  at: number;
}

/** Draw timings of a run page, written per drawn frame, read by the charts a few times a second. */
export class DrawStats {
  private readonly samples = new Map<string, Sample[]>();
  private readonly drawn = new Map<string, number>();

  /** Records that `latest` of `stream` reached the screen now. */
  recordDraw(stream: string, latest: LatestFrame): void {
    let list = this.samples.get(stream);
    if (!list) this.samples.set(stream, (list = []));
    const h = latest.frame.header;
    const now = performance.now();
    list.push({
      at: now,
      reconstruction: h.reconstructedAt - h.acquiredAt,
      publication: (h.acceptedAt ?? h.publishedAt) - h.reconstructedAt,
      delivery: latest.receivedWallAt - (h.acceptedAt ?? h.publishedAt),
      drawing: now - latest.receivedAt,
    });
    if (list.length > KEPT) list.shift();
    this.drawn.set(stream, latest.version);
  }

  /** Version of the last frame of `stream` recorded as drawn (several views may draw one stream). */
  lastDrawn(stream: string): number {
    return this.drawn.get(stream) ?? -1;
  }

  /** Frames drawn per second on `stream` over the last `windowMs`. */
  fps(stream: string, now: number, windowMs = 3000): number {
    const recent = (this.samples.get(stream) ?? []).filter((s) => now - s.at <= windowMs);
    if (recent.length < 2) return 0;
    return ((recent.length - 1) * 1000) / (recent[recent.length - 1]!.at - recent[0]!.at);
  }

  /** Median publication → drawing latency over recent draws of all streams, ms. */
  medianLatency(now: number, windowMs = 3000): number | null {
    const all = this.recent(now, windowMs).map((s) => s.delivery + s.drawing);
    return median(all);
  }

  /** Median of each latency segment over recent draws of all streams, ms; null before any draw. */
  medianSplit(now: number, windowMs = 3000): LatencySplit | null {
    const recent = this.recent(now, windowMs);
    if (recent.length === 0) return null;
    const m = (k: keyof LatencySplit) => median(recent.map((s) => s[k]))!;
    return {
      reconstruction: m('reconstruction'),
      publication: m('publication'),
      delivery: m('delivery'),
      drawing: m('drawing'),
    };
  }

  private recent(now: number, windowMs: number): Sample[] {
    return [...this.samples.values()].flat().filter((s) => now - s.at <= windowMs);
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}
