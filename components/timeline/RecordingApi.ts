import {
  decodeFrameStream,
  type Frame,
  ProducerMetricsAnswer,
  type RecordedProducerMetrics,
  recordedAt,
  RecordingAnswer,
  type RecordingSummary,
  type StreamKey,
} from '@/lib/protocol';

/** fetch() with the tab's credentials (LiveClient.api). */
export type ApiFetch = (path: string, init?: RequestInit) => Promise<Response>;

/** Reads a run's recording through the gateway's REST API (docs/recording.md). */
export class RecordingApi {
  constructor(
    private readonly api: ApiFetch,
    readonly run: string,
  ) {}

  private path(rest: string): string {
    return `/api/runs/${encodeURIComponent(this.run)}/${rest}`;
  }

  /** What is recorded; null while nothing is (404) or the recorder is off. */
  async summary(): Promise<RecordingSummary | null> {
    const res = await this.api(this.path('recording'));
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`recording summary: HTTP ${res.status}`);
    return RecordingAnswer.parse(await res.json()).recording;
  }

  /** The frame of `key` in force at `t` (epoch ms); for a volume, the bricks in force. */
  async at(key: StreamKey, t: number): Promise<Frame[]> {
    const q = new URLSearchParams({ stream: key, at: iso(Math.ceil(t)) });
    const res = await this.api(`${this.path('frames')}?${q}`);
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`frames at: HTTP ${res.status}`);
    return decodeFrameStream(new Uint8Array(await res.arrayBuffer()));
  }

  /** The producer's own metrics sample in force at `t`, if it had reported shortly before. */
  async producerMetricsAt(t: number): Promise<RecordedProducerMetrics | null> {
    const q = new URLSearchParams({ at: iso(Math.ceil(t)) });
    const res = await this.api(`${this.path('producer-metrics')}?${q}`);
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`producer metrics: HTTP ${res.status}`);
    return ProducerMetricsAnswer.parse(await res.json()).samples[0] ?? null;
  }

  /** Frames of `key` published in [from, to], oldest first; `truncated`: page on from the last. */
  async range(
    key: StreamKey,
    from: number,
    to: number,
    limit?: number,
  ): Promise<{ frames: Frame[]; truncated: boolean }> {
    const q = new URLSearchParams({
      stream: key,
      from: iso(Math.ceil(from)),
      to: iso(Math.floor(to)),
      ...(limit !== undefined && { limit: String(limit) }),
    });
    const res = await this.api(`${this.path('frames')}?${q}`);
    if (!res.ok) throw new Error(`frames range: HTTP ${res.status}`);
    return {
      frames: decodeFrameStream(new Uint8Array(await res.arrayBuffer())),
      truncated: res.headers.get('x-loupe-truncated') === 'true',
    };
  }

  /** Every frame of `key` in [from, to], paging through truncated answers; at most `max` frames. */
  async all(key: StreamKey, from: number, to: number, max: number): Promise<Frame[]> {
    const out: Frame[] = [];
    let start = from;
    for (;;) {
      const { frames, truncated } = await this.range(
        key,
        start,
        to,
        Math.min(1000, max - out.length),
      );
      out.push(...frames);
      const last = frames.at(-1);
      if (!truncated || !last || out.length >= max) return out;
      // Filed in whole ms (acceptedAt); the next page begins after the last one read.
      start = Math.floor(recordedAt(last.header)) + 1;
    }
  }
}

function iso(t: number): string {
  return new Date(t).toISOString();
}
