import { type Kysely, sql } from 'kysely';
import type { Database } from './Database';

/** A lease as its holder sees it after acquiring or renewing it. */
export interface Lease {
  name: string;
  holder: string;
  /** Epoch ms; the holder must renew before then or stop the work. */
  expiresAt: number;
  /**
   * Increases every time the lease changes hands (renewals keep it): work done under the lease can
   * carry it so that a late write from a previous holder is recognisable.
   */
  fence: number;
}

/**
 * Named leases in the shared store, for work one gateway at a time may do: facility polling, the
 * ownership of a run. Each operation is one statement, atomic in SQLite and PostgreSQL alike
 * (INSERT … ON CONFLICT DO UPDATE … WHERE, UPDATE/DELETE … WHERE holder), so two gateways racing
 * for a lease never both get it. Expiry is judged by the caller's clock: gateways' clocks must
 * agree to well within a lease's time to live (NTP keeps them within milliseconds).
 */
export class Leases {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes the lease for `ttlMs` if it is free, expired, or already ours (then it is renewed).
   * Returns the lease, or null when someone else holds it.
   */
  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const now = this.now();
    const row = await this.db
      .insertInto('leases')
      .values({ name, holder, expires_at: now + ttlMs, fence: 1 })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({
            holder: (eb) => eb.ref('excluded.holder'),
            expires_at: (eb) => eb.ref('excluded.expires_at'),
            fence: sql<number>`CASE WHEN leases.holder = excluded.holder THEN leases.fence
              ELSE leases.fence + 1 END`,
          })
          .where((eb) =>
            eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', now)]),
          ),
      )
      .returning(['name', 'holder', 'expires_at', 'fence'])
      .executeTakeFirst();
    return row ? toLease(row) : null;
  }

  /**
   * Extends a lease we still hold. Null when it has expired or passed to someone else: the holder
   * has lost it and must stop the work (acquire again to start over, with a new fence).
   */
  async renew(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const now = this.now();
    const row = await this.db
      .updateTable('leases')
      .set({ expires_at: now + ttlMs })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('expires_at', '>', now)
      .returning(['name', 'holder', 'expires_at', 'fence'])
      .executeTakeFirst();
    return row ? toLease(row) : null;
  }

  /**
   * Gives the lease up so another gateway may take it at once; true if we held it. The row stays
   * (expired), so the next holder's fence still counts up from ours.
   */
  async release(name: string, holder: string): Promise<boolean> {
    const result = await this.db
      .updateTable('leases')
      .set({ expires_at: 0 })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The lease's current holder, or null when nobody holds it (never taken or expired). */
  async holder(name: string): Promise<Lease | null> {
    const row = await this.db
      .selectFrom('leases')
      .select(['name', 'holder', 'expires_at', 'fence'])
      .where('name', '=', name)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
    return row ? toLease(row) : null;
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
    throw new RangeError(`a lease's time to live is a positive whole number of ms, not ${ttlMs}`);
}

function toLease(row: { name: string; holder: string; expires_at: number; fence: number }): Lease {
  return { name: row.name, holder: row.holder, expiresAt: row.expires_at, fence: row.fence };
}
