import { type Kysely, sql } from 'kysely';
import type { FacilityHistoryPoint, SiteDecision, SystemSnapshot } from '@/lib/protocol';
import type {
  Database,
  FacilityDecisionsTable,
  FacilitySnapshotsTable,
  FacilityWaitsTable,
} from '../db/Database';
import type { WaitFeatures } from './queueFeatures';

/** Most history points one query returns: a day at one point a minute is 1440. */
const MAX_HISTORY_POINTS = 5000;

/** An observed wait as the estimator keeps it (start and wait in seconds). */
export interface StoredWait {
  system: string;
  jobId: string;
  queue: string | null;
  startS: number;
  waitS: number;
  features: WaitFeatures;
}

/**
 * The facility service's persistence (tables facility_snapshots, facility_waits and
 * facility_decisions of the store), on SQLite or PostgreSQL alike: the only place facility code
 * reads or writes them.
 */
export class FacilityStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The newest `window` observed waits of each system, oldest first. */
  async recentWaits(window: number): Promise<StoredWait[]> {
    const ranked = this.db
      .selectFrom('facility_waits')
      .select(['system', 'job_id', 'queue', 'start_s', 'wait_s', 'features'])
      .select(sql<number>`ROW_NUMBER() OVER (PARTITION BY system ORDER BY start_s DESC)`.as('n'))
      .as('ranked');
    const rows = await this.db
      .selectFrom(ranked)
      .select(['system', 'job_id', 'queue', 'start_s', 'wait_s', 'features'])
      .where('n', '<=', window)
      .orderBy('start_s')
      .execute();
    return rows.map((r) => ({
      system: r.system,
      jobId: r.job_id,
      queue: r.queue,
      startS: r.start_s,
      waitS: r.wait_s,
      features: JSON.parse(r.features) as WaitFeatures,
    }));
  }

  /** Stores one observed wait; false when it was stored already (by this gateway or another). */
  async addWait(row: FacilityWaitsTable): Promise<boolean> {
    const inserted = await this.db
      .insertInto('facility_waits')
      .values(row)
      .onConflict((oc) => oc.columns(['system', 'job_id']).doNothing())
      .returning('job_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async addSnapshot(row: FacilitySnapshotsTable): Promise<void> {
    await this.db.insertInto('facility_snapshots').values(row).execute();
  }

  /** History of one system between `from` and `to` (epoch ms), oldest first. */
  async history(system: string, from: number, to: number): Promise<FacilityHistoryPoint[]> {
    const rows = await this.db
      .selectFrom('facility_snapshots')
      .select([
        'at',
        'status',
        'stale',
        'queued',
        'running',
        'queued_node_hours',
        'free_nodes',
        'wait_median_s',
        'wait_bound95_s',
      ])
      .where('system', '=', system)
      .where('at', '>=', from)
      .where('at', '<=', to)
      .orderBy('at')
      .limit(MAX_HISTORY_POINTS)
      .execute();
    return rows.map((r) => ({
      at: r.at,
      status: r.status as SystemSnapshot['status'],
      stale: r.stale === 1,
      queued: r.queued,
      running: r.running,
      queuedNodeHours: r.queued_node_hours,
      freeNodes: r.free_nodes,
      waitMedianS: r.wait_median_s,
      waitBound95S: r.wait_bound95_s,
    }));
  }

  /** Records a site decision; resolves with its id. */
  async addDecision(row: Omit<FacilityDecisionsTable, 'id'>): Promise<number> {
    const { id } = await this.db
      .insertInto('facility_decisions')
      .values(row)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(id);
  }

  /** The newest `limit` decisions, newest first. */
  async decisions(limit: number): Promise<SiteDecision[]> {
    const rows = await this.db
      .selectFrom('facility_decisions')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      who: r.who,
      role: r.role as SiteDecision['role'],
      system: r.system,
      recommended: r.recommended,
      override: r.override === 1,
      note: r.note,
      at: r.at,
      job: r.job ? (JSON.parse(r.job) as SiteDecision['job']) : null,
    }));
  }
}
