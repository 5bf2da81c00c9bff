import type { Lease, Leases } from './Leases';

export interface LeaseKeeperOptions {
  leases: Leases;
  /** The lease, e.g. `facility-pollers`. */
  name: string;
  /** This gateway's instance id. */
  holder: string;
  /** How long a lease lasts without renewal (ms); another gateway takes over at most this late. */
  ttlMs: number;
  /** How often to renew or try to take it (ms); default a third of the time to live. */
  renewMs?: number;
  /** We hold the lease now: start the work. */
  onAcquired: (lease: Lease) => void;
  /** We no longer hold it (lost, expired while the store was unreachable, or released). */
  onLost: () => void;
  /** A store error (the keeper carries on and retries). */
  onError?: (error: Error) => void;
  now?: () => number;
}

/**
 * Keeps trying to hold one lease and runs work only while it does: at most one gateway polls the
 * facilities (or owns a run) at a time. A holder that cannot renew (the store is down) stops its
 * work when its lease would have expired, because another gateway may take the lease then.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private held: Lease | null = null;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();
  private readonly every: number;

  constructor(private readonly o: LeaseKeeperOptions) {
    this.every = o.renewMs ?? Math.max(1, Math.floor(o.ttlMs / 3));
    if (this.every >= o.ttlMs) throw new RangeError('a lease must be renewed well within its ttl');
  }

  /** The lease while we hold it. */
  get lease(): Lease | null {
    return this.held;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.tick = this.step();
    this.timer = setInterval(() => {
      this.tick = this.tick.then(() => this.step());
    }, this.every);
    this.timer.unref();
  }

  /** Stops trying, stops the work and gives the lease up so another gateway takes it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tick;
    if (this.held) {
      this.lose();
      await this.o.leases.release(this.o.name, this.o.holder).catch((e: unknown) => {
        this.o.onError?.(e as Error);
      });
    }
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    const { leases, name, holder, ttlMs } = this.o;
    const now = this.o.now ?? Date.now;
    try {
      const lease = this.held
        ? await leases.renew(name, holder, ttlMs)
        : await leases.acquire(name, holder, ttlMs);
      if (this.stopped) return;
      if (lease && !this.held) {
        this.held = lease;
        this.o.onAcquired(lease);
      } else if (lease) {
        this.held = lease;
      } else if (this.held) {
        this.lose();
      }
    } catch (error) {
      this.o.onError?.(error as Error);
      // Unknown whether the renewal landed: stop before the next attempt would come too late,
      // since once our lease has expired another gateway may hold it.
      if (this.held && now() + this.every >= this.held.expiresAt) this.lose();
    }
  }

  private lose(): void {
    this.held = null;
    this.o.onLost();
  }
}
