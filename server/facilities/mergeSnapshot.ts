import type {
  FigureOrigin,
  FigureOrigins,
  PlannedWindow,
  QueueDepth,
  SystemSnapshot,
} from '@/lib/protocol';
import type { FacilityAdapter, SystemReading } from './adapters/FacilityAdapter';
import type { Figure } from './sites/SitesConfig';

/** What the merge reads of one source: who it is, what it is authoritative for, its last answer. */
export interface SourceView {
  adapter: Pick<FacilityAdapter, 'source' | 'systems'>;
  label: string;
  provides: ReadonlySet<Figure>;
  /** When it last answered usably (epoch ms), or null. */
  okAt: number | null;
  /** Last good reading per system. */
  readings: ReadonlyMap<string, SystemReading>;
  /** Why the last attempt failed, or null. */
  error: string | null;
  readAt: number;
}

export interface MergeContext {
  /** The service's clock (ms). */
  now: number;
  /** A feed whose own timestamp is older than this is stale (ms on the service's clock). */
  maxFeedAgeMs: number;
  /** The sites file's node count of the system, used where no source publishes one. */
  configuredNodes: number | null;
  /** When `status` was first seen in a row on this system (epoch ms). */
  seenSince(status: SystemSnapshot['status']): number;
}

const EMPTY_QUEUE: QueueDepth = {
  running: null,
  queued: null,
  queuedNodeHours: null,
  freeNodes: null,
  totalNodes: null,
};

/** "20 s", "6 min", "2.0 h": how long ago, for the freshness text. */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** A source's reading of `system` is usable now: it answered, and its own data is not old. */
function freshness(s: SourceView, system: string, ctx: MergeContext): string | null {
  if (s.error !== null) return s.error;
  const r = s.readings.get(system);
  if (!r) return s.okAt === null ? 'not read yet' : `no ${system} in its answer`;
  if (r.dataAt !== undefined && ctx.now - r.dataAt > ctx.maxFeedAgeMs)
    return `feed not updated for ${ago(ctx.now - r.dataAt)}`;
  return null;
}

/**
 * One snapshot from every source's view of `system` (`mine`: the sources covering it, in order of
 * precedence), each figure from its authoritative source.
 */
export function mergeSnapshot(
  system: string,
  mine: readonly SourceView[],
  ctx: MergeContext,
): SystemSnapshot {
  const now = ctx.now;
  const meta = mine[0]!.adapter.systems.find((x) => x.system === system)!;
  const why = new Map(mine.map((s) => [s, freshness(s, system, ctx)]));
  const providing = (f: Figure) => mine.filter((s) => s.provides.has(f));
  const origin = (s: SourceView | undefined, f: Figure): FigureOrigin | null => {
    const first = s ?? providing(f)[0];
    if (!first) return null;
    const reason = why.get(first) ?? null;
    return {
      source: first.label,
      kind: first.adapter.source,
      at: first.okAt,
      stale: s === undefined || reason !== null,
      reason: s === undefined && reason === null ? 'no value' : reason,
    };
  };
  // A feed's age makes its queue stale; its status is still what it says (ALCF's maint flag).
  const freshFor = (f: Figure) =>
    providing(f).filter(
      (s) => s.error === null && s.readings.has(system) && (f !== 'queue' || why.get(s) === null),
    );

  const statusSource = freshFor('status').find((s) => s.readings.get(system)!.status !== undefined);
  const statusReading = statusSource?.readings.get(system);
  let status: SystemSnapshot['status'] = statusReading?.status ?? 'unknown';

  const windowSources = providing('windows');
  const windows: PlannedWindow[] = [];
  for (const s of windowSources)
    for (const w of s.readings.get(system)?.windows ?? [])
      if (!windows.some((x) => Math.abs(x.start - w.start) < 60_000)) windows.push(w);
  windows.sort((a, b) => a.start - b.start);
  const covering = windows.find((w) => w.start <= now && (w.end === null || w.end > now));
  if (status === 'down' && covering) status = 'maintenance';
  const nextWindow = covering ?? windows.find((w) => w.start > now) ?? null;
  const windowSource = freshFor('windows')[0];

  const freshQueue = freshFor('queue').find((s) => s.readings.get(system)!.queue);
  const queueSource = freshQueue ?? providing('queue').find((s) => s.readings.get(system)?.queue);
  const queue: QueueDepth = { ...(queueSource?.readings.get(system)?.queue ?? EMPTY_QUEUE) };

  const nodesSource = freshFor('nodes').find(
    (s) => s.readings.get(system)!.totalNodes !== undefined,
  );
  const published = nodesSource?.readings.get(system)?.totalNodes;
  const configuredNodes = ctx.configuredNodes;
  const totalNodes = published ?? queue.totalNodes ?? configuredNodes;
  if (totalNodes !== null && totalNodes !== queue.totalNodes) {
    // The queue source counted busy nodes against a node count it did not know (or an old one).
    if (queue.freeNodes !== null && queue.totalNodes !== null)
      queue.freeNodes = Math.max(0, queue.freeNodes + totalNodes - queue.totalNodes);
    queue.totalNodes = totalNodes;
  }

  const origins: FigureOrigins = {
    status: origin(statusSource, 'status'),
    windows: origin(windowSource, 'windows'),
    queue: origin(freshQueue, 'queue'),
    nodes: nodesSource
      ? origin(nodesSource, 'nodes')
      : configuredNodes !== null
        ? {
            // Configured, not read: named after the file, kind of the system's first source.
            source: 'sites file',
            kind: mine[0]!.adapter.source,
            at: null,
            stale: false,
            reason: null,
          }
        : origin(undefined, 'nodes'),
  };
  if (origins.queue && !freshQueue && queueSource) origins.queue.source = queueSource.label;

  // The source's "since" when it gives one, else when we first saw this status.
  const firstSeen = ctx.seenSince(status);
  const since = statusReading?.since ?? firstSeen;

  // Stale only for what a failing source provides: the status, or the queue where one is kept.
  const statusStale = statusSource === undefined;
  // A fresh answer without a queue (the SF API read without a token) is no queue, not a stale one.
  const queueStale =
    freshQueue === undefined && providing('queue').some((s) => why.get(s) !== null);
  const stale = statusStale || queueStale;
  const parts: string[] = [];
  if (statusSource)
    parts.push(`status from ${statusSource.label} ${ago(now - (statusSource.okAt ?? now))} ago`);
  if (freshQueue && freshQueue !== statusSource)
    parts.push(`queue from ${freshQueue.label} ${ago(now - (freshQueue.okAt ?? now))} ago`);
  const failing = mine
    .filter((s) => why.get(s) !== null)
    .map((s) => `${s.label} ${s.error !== null ? 'failing' : 'stale'}: ${why.get(s)}`);
  const freshnessText = [...parts, ...failing].join('; ');
  const reasons: string[] = [];
  if (statusStale) reasons.push(`status unknown since ${new Date(firstSeen).toISOString()}`);
  if (queueStale) reasons.push('queue not fresh');
  const dropped = [
    ...new Set(
      mine.flatMap((s) => (s.error === null ? (s.readings.get(system)?.dropped ?? []) : [])),
    ),
  ].slice(0, 50);

  return {
    system,
    name: meta.name,
    facility: meta.facility,
    source: statusSource?.adapter.source ?? mine[0]!.adapter.source,
    status,
    since: status === 'maintenance' && covering ? covering.start : since,
    nextWindow,
    queue,
    readAt: Math.max(...mine.map((s) => s.readAt), 0),
    stale,
    staleReason: stale ? [...reasons, ...failing].join('; ') || 'not read yet' : null,
    freshness: freshnessText,
    origins,
    ...(dropped.length && { dropped }),
  };
}
