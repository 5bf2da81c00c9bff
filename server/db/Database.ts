import type { Generated } from 'kysely';

/**
 * The gateway's store, one table per interface, as the migrations in server/db/migrations/ create
 * it. Times are epoch milliseconds unless a column says `_s` (epoch seconds); JSON columns hold
 * text, so both dialects store them the same way. Integers that may pass 2^31 are BIGINT in
 * PostgreSQL and come back as numbers (openStore installs the parser).
 */
export interface Database {
  runs: RunsTable;
  commands: CommandsTable;
  idempotency: IdempotencyTable;
  share_links: ShareLinksTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  facility_snapshots: FacilitySnapshotsTable;
  facility_waits: FacilityWaitsTable;
  facility_decisions: FacilityDecisionsTable;
  leases: LeasesTable;
}

export interface RunsTable {
  id: string;
  title: string;
  sample: string | null;
  beamline: string | null;
  state: string;
  created_at: number;
  updated_at: number;
  /** JSON: stream key → last sequence number kept. */
  last_seq: string;
  owner: string | null;
}

export interface CommandsTable {
  id: string;
  run: string;
  kind: string;
  /** JSON of the command's arguments. */
  payload: string;
  state: string;
  reason: string | null;
  detail: string | null;
  artifact: string | null;
  subject: string;
  role: string;
  created_at: number;
  updated_at: number;
}

export interface IdempotencyTable {
  subject: string;
  key: string;
  body_hash: string;
  /** 0 while the first request is being answered, 1 once its answer is stored. */
  done: number;
  status: number | null;
  response: string | null;
  created_at: number;
  command: string | null;
}

export interface ShareLinksTable {
  id: string;
  run: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

export interface AuditLogTable {
  id: number;
  at: number;
  category: string;
  subject: string;
  role: string;
  address: string | null;
  action: string;
  run: string | null;
  kind: string | null;
  args: string | null;
  args_hash: string | null;
  idempotency_key: string | null;
  outcome: string;
  status: number | null;
  reason: string | null;
  count: number;
  minute: number | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  one: number;
  last_id: number;
  last_hash: string;
}

export interface FacilitySnapshotsTable {
  system: string;
  at: number;
  status: string;
  stale: number;
  queued: number | null;
  running: number | null;
  queued_node_hours: number | null;
  free_nodes: number | null;
  wait_median_s: number | null;
  wait_bound95_s: number | null;
  snapshot: string;
}

export interface FacilityWaitsTable {
  system: string;
  job_id: string;
  queue: string | null;
  nodes: number;
  walltime_s: number;
  submit_s: number;
  start_s: number;
  wait_s: number;
  features: string;
}

export interface FacilityDecisionsTable {
  id: Generated<number>;
  who: string;
  role: string;
  system: string;
  recommended: string | null;
  override: number;
  note: string | null;
  at: number;
  job: string | null;
}

export interface LeasesTable {
  /** What is leased: `facility-pollers`, `run:<id>`, … */
  name: string;
  /** Who holds it: a gateway's instance id. */
  holder: string;
  /** Epoch ms after which anyone may take it. */
  expires_at: number;
  /** Bumped each time the lease changes hands: a fencing token for work done under it. */
  fence: number;
}
