'use client';

import type { ReactNode } from 'react';
import type { SystemStatus } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { DEFAULT_RECON_JOB } from './FacilityApi';
import { FacilityHistoryChart } from './FacilityHistoryChart';
import { FacilityStatusChip } from './FacilityStatusChip';
import { FigureOriginList } from './FigureOriginList';
import { formatAgo, formatCount, formatDuration } from './formatDuration';
import { NextWindow } from './NextWindow';
import { useFacilityNow } from './useFacilityNow';
import { WaitFigure } from './WaitFigure';

const BORDER: Record<SystemStatus, string> = {
  up: 'border-edge',
  degraded: 'border-warn/50',
  down: 'border-bad/60',
  maintenance: 'border-maint/60',
  unknown: 'border-edge border-dashed',
};

function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs text-muted">{label}</dt>
      <dd className="font-mono text-lg leading-tight">{children}</dd>
    </div>
  );
}

/** One system: status, queue depth, next planned window, default-job wait, and 24 h history. */
export function FacilityCard({ system }: { system: string }) {
  const snap = useFacilities((s) => s.systems[system]);
  const now = useFacilityNow(1000);
  if (!snap) return null;
  const q = snap.queue;
  return (
    <article
      data-testid={testIds.facilityCard(system)}
      data-status={snap.status}
      data-stale={snap.stale ? 'true' : 'false'}
      aria-labelledby={`facility-${system}-name`}
      className={`flex flex-col gap-3 rounded-lg border bg-panel p-3 ${BORDER[snap.status]}`}
    >
      <header className="flex flex-wrap items-baseline gap-x-2 gap-y-1">
        <h2 id={`facility-${system}-name`} className="text-lg font-semibold">
          {snap.name}
        </h2>
        <span className="text-xs text-muted">
          {snap.facility} · {snap.source}
        </span>
        <span className="ml-auto">
          <FacilityStatusChip
            system={system}
            status={snap.status}
            stale={snap.stale}
            staleReason={snap.staleReason}
          />
        </span>
        <p className="w-full text-xs text-muted">
          {snap.since !== null
            ? `${snap.status} for ${formatDuration((now - snap.since) / 1000)}`
            : 'since unknown'}
          {' · '}read {snap.readAt > 0 ? formatAgo(now - snap.readAt) : 'never'}
        </p>
      </header>
      <dl
        data-testid={testIds.facilityQueue(system)}
        data-published={q.running !== null || q.queued !== null}
        className="grid grid-cols-2 gap-x-3 gap-y-2"
      >
        <Stat label="running">{formatCount(q.running, 'jobs')}</Stat>
        <Stat label="queued">{formatCount(q.queued, 'jobs')}</Stat>
        <Stat label="queued work">{formatCount(q.queuedNodeHours, 'node-h')}</Stat>
        <Stat label="free / total nodes">
          {formatCount(q.freeNodes)} / {formatCount(q.totalNodes)}
        </Stat>
        {q.running === null && q.queued === null ? (
          <p className="col-span-2 text-xs text-muted">
            {snap.name}&apos;s sources ({snap.source}) publish no queue depth.
          </p>
        ) : null}
      </dl>
      <FigureOriginList system={system} origins={snap.origins} dropped={snap.dropped} now={now} />
      <div className="text-sm">
        <div className="text-xs text-muted">next planned window</div>
        <NextWindow system={system} window={snap.nextWindow} now={now} />
      </div>
      <div className="text-sm">
        <div className="text-xs text-muted">
          wait, {DEFAULT_RECON_JOB.nodes} nodes × {DEFAULT_RECON_JOB.walltime / 3600} h
          reconstruction
        </div>
        <WaitFigure system={system} />
      </div>
      <FacilityHistoryChart system={system} />
    </article>
  );
}
