import { z } from 'zod';
import { RunSummary } from '@/lib/protocol';

/**
 * Gateway → gateways (through the viewer engine's adapter, `serverSideEmit`): the summaries of the
 * runs this gateway owns now, repeated every lease round and on every state change. Never reaches a
 * browser, so it is not part of the viewer protocol; it is validated on arrival like any message
 * that enters a process.
 */
export const OwnedRuns = z
  .object({
    /** The sending gateway's id (LOUPE_GATEWAY_ID). */
    gateway: z.string().min(1).max(200),
    /** How long these summaries hold unless repeated, ms: the sender's lease length. */
    ttlMs: z.number().int().min(100).max(120_000),
    /** Every run it owns (`complete`), or only the runs that just changed. */
    complete: z.boolean(),
    /** Runs it stopped owning (its producer left): dropped at once rather than after `ttlMs`. */
    released: z.array(z.string().min(1).max(200)).max(1000),
    runs: z.array(RunSummary).max(1000),
  })
  .strict();
export type OwnedRuns = z.infer<typeof OwnedRuns>;

/** Events between the gateways of a cluster (Socket.IO's server-side events of the viewer engine). */
export interface GatewayToGateway {
  /** Payload checked with `OwnedRuns` on arrival. */
  'cluster:runs': (message: unknown) => void;
}

interface Mirrored {
  summary: RunSummary;
  gateway: string;
  /** Local clock, ms: the other gateways' clocks are never compared with this one's. */
  until: number;
}

/**
 * The runs other gateways own, as they last said, each kept for the sender's lease length from its
 * arrival: an owner that dies stops repeating, and its runs leave the list when its lease would
 * have lapsed. Pure (injected clock), so the expiry is tested without waiting.
 */
export class RunMirror {
  private readonly runs = new Map<string, Mirrored>();

  constructor(
    private readonly self: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes one gateway's message (one from this gateway itself is ignored). Resolves with the runs
   * that are new here or whose visible state changed: the owner's own `run:update` of a change
   * may have been lost (the adapter's LISTEN connection down while it was sent), so the gateway
   * passes these on to its viewers, and its viewers catch up within a lease round.
   */
  offer(message: OwnedRuns): RunSummary[] {
    if (message.gateway === this.self) return [];
    const changed = message.runs.filter((r) => {
      const before = this.get(r.id);
      return (
        !before ||
        before.state !== r.state ||
        before.producerConnected !== r.producerConnected ||
        before.stateMessage !== r.stateMessage ||
        before.title !== r.title
      );
    });
    const until = this.now() + message.ttlMs;
    if (message.complete)
      for (const [id, entry] of this.runs)
        if (entry.gateway === message.gateway) this.runs.delete(id);
    for (const id of message.released)
      if (this.runs.get(id)?.gateway === message.gateway) this.runs.delete(id);
    for (const summary of message.runs)
      this.runs.set(summary.id, { summary, gateway: message.gateway, until });
    return changed;
  }

  /** Forgets what `gateway` said (it drained, or this gateway learnt it is gone). */
  forget(gateway: string): void {
    for (const [id, entry] of this.runs) if (entry.gateway === gateway) this.runs.delete(id);
  }

  /** The remote run's summary while its owner's word holds. */
  get(id: string): RunSummary | undefined {
    const entry = this.runs.get(id);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.runs.delete(id);
      return undefined;
    }
    return entry.summary;
  }

  /**
   * `local` (this gateway's registry) with the remote runs: a run whose producer is connected here
   * stays as this gateway knows it; otherwise a live remote owner's summary wins over what this
   * gateway remembers of the run (e.g. `waiting`, from before a failover).
   */
  merge(local: readonly RunSummary[]): RunSummary[] {
    const out = new Map(local.map((r) => [r.id, r]));
    for (const id of [...this.runs.keys()]) {
      const remote = this.get(id);
      if (remote && !out.get(id)?.producerConnected) out.set(id, remote);
    }
    return [...out.values()];
  }
}
