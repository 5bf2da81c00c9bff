/**
 * Who owns a run in a cluster of gateways: the gateway its producer is connected to, recorded in the
 * shared store with a lease so that a dead owner's runs free themselves. Small on purpose: the
 * cluster needs only these four operations, and a PostgreSQL implementation (PgOwnershipStore) or a
 * later one on the shared query layer can stand behind it.
 */
export interface RunOwner {
  run: string;
  /** The owning gateway's id. */
  gateway: string;
  /** Where the owning gateway takes connections (its advertised URL). */
  url: string;
  /** When the lease ends unless renewed, epoch ms (the store's clock). */
  expiresAt: number;
}

/** A gateway as the others reach it. */
export interface GatewayAddress {
  id: string;
  url: string;
}

export interface OwnershipStore {
  /**
   * Takes or renews the lease on `run` for `gateway` for `ttlMs`, atomically: it succeeds only when
   * the run has no owner, its lease has expired, or `gateway` already holds it. Resolves with the
   * owner after the attempt (`gateway` itself when it won).
   */
  claim(run: string, gateway: GatewayAddress, ttlMs: number): Promise<RunOwner>;
  /** Renews every lease of `gateway` among `runs`; resolves with those it still holds. */
  renew(runs: readonly string[], gateway: GatewayAddress, ttlMs: number): Promise<string[]>;
  /** Gives the lease up, if `gateway` holds it (a producer left cleanly, or the gateway drains). */
  release(run: string, gatewayId: string): Promise<void>;
  /** The run's live owner, or null when nobody holds an unexpired lease. */
  ownerOf(run: string): Promise<RunOwner | null>;
  /** Whether a gateway of the cluster ever registered `run` (it is in the shared store). */
  knows(run: string): Promise<boolean>;
  close(): Promise<void>;
}
