import { encodeFrame, PLANES, type Plane } from '@/lib/protocol';
import { seededRandom } from '@/lib/random/seededRandom';
import { connected, producerClient, type ProducerClient, TOKENS } from './testGateway';

export interface ProducerLoopOptions {
  url: string;
  run: string;
  token?: string;
  /** Frames per second per plane. Default 10 (R of ../shared/RELIABILITY.md). */
  rateHz?: number;
  /** Planes published each tick. Default all three. */
  planes?: readonly Plane[];
  /** Slice edge: rows × cols uint16. Default 256 × 512 = 256 KiB (R's slice size). */
  shape?: readonly [number, number];
  /**
   * Frames per plane the producer may have unacknowledged by the gateway; a tick with this many
   * skips the plane, as the SDKs do. Default 2.
   */
  inFlight?: number;
}

/**
 * A real producer for scenarios: registers a run, then publishes slices of every plane at a fixed
 * rate over Socket.IO with the SDKs' flow control, counting what it sent and what the gateway
 * accepted. Pixels are seeded noise, precomputed, so publishing costs little CPU.
 */
export class ProducerLoop {
  readonly socket: ProducerClient;
  /** Frames sent, acknowledged ok, refused, and ticks skipped for want of acknowledgements. */
  sent = 0;
  accepted = 0;
  refused = 0;
  skipped = 0;
  /** Next sequence number per plane (= frames sent of that plane). */
  readonly seq = new Map<Plane, number>();
  private readonly pending = new Map<Plane, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly slices: Uint16Array[];

  constructor(private readonly options: ProducerLoopOptions) {
    this.socket = producerClient(options.url, options.token ?? TOKENS.producer);
    const [rows, cols] = options.shape ?? [256, 512];
    const random = seededRandom(42);
    this.slices = Array.from({ length: 3 }, () =>
      Uint16Array.from({ length: rows * cols }, () => Math.floor(random() * 65536)),
    );
    for (const plane of this.planes) this.seq.set(plane, 0);
  }

  get planes(): readonly Plane[] {
    return this.options.planes ?? PLANES;
  }

  /** Connects and registers the run. */
  async ready(): Promise<this> {
    await connected(this.socket);
    const reply = await this.socket.emitWithAck('run:register', {
      run: this.options.run,
      title: `fault scenario ${this.options.run}`,
    });
    if (!reply.ok) throw new Error(`registration refused: ${reply.error}`);
    return this;
  }

  /** Publishes one frame of each plane now (bypassing the rate, for deterministic steps). */
  publishAll(): void {
    for (const plane of this.planes) this.publish(plane);
  }

  start(): this {
    if (!this.timer)
      this.timer = setInterval(() => this.publishAll(), 1000 / (this.options.rateHz ?? 10));
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Resolves once every frame sent has been answered by the gateway. */
  async settled(timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (this.accepted + this.refused < this.sent) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`${this.sent - this.accepted - this.refused} frames unanswered`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.stop();
    this.socket.close();
  }

  private publish(plane: Plane): void {
    const waiting = this.pending.get(plane) ?? 0;
    if (waiting >= (this.options.inFlight ?? 2) || !this.socket.connected) {
      this.skipped++;
      return;
    }
    const seq = this.seq.get(plane) ?? 0;
    const [rows, cols] = this.options.shape ?? [256, 512];
    const now = Date.now();
    const { header, payload } = encodeFrame(
      {
        run: this.options.run,
        stream: plane,
        seq,
        dtype: 'uint16',
        shape: [rows, cols],
        voxelSize: [1, 1, 1],
        acquiredAt: now,
        reconstructedAt: now,
        publishedAt: now,
      },
      this.slices[seq % this.slices.length]!,
    );
    this.seq.set(plane, seq + 1);
    this.pending.set(plane, waiting + 1);
    this.sent++;
    this.socket.emit('frame', header, payload, (answer) => {
      this.pending.set(plane, (this.pending.get(plane) ?? 1) - 1);
      if (answer.ok) this.accepted++;
      else this.refused++;
    });
  }
}
