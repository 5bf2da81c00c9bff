'use client';

import Link from 'next/link';
import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { DEFAULT_RECON_JOB } from './FacilityApi';
import { FacilityStatusChip } from './FacilityStatusChip';
import { formatCount } from './formatDuration';
import { NextWindow } from './NextWindow';
import { useFacilitiesFeed } from './useFacilitiesFeed';
import { useFacilityNow } from './useFacilityNow';
import { WaitFigure } from './WaitFigure';

function SummaryRow({ system, now }: { system: string; now: number }) {
  const snap = useFacilities((s) => s.systems[system]);
  if (!snap) return null;
  return (
    <tr
      data-testid={testIds.facilitySummary(system)}
      data-status={snap.status}
      className="align-top"
    >
      <td className="py-2 pr-3">
        <span className="font-medium">{snap.name}</span>
        <span className="block text-xs text-muted">{snap.facility}</span>
      </td>
      <td className="py-2 pr-3">
        <FacilityStatusChip
          system={system}
          status={snap.status}
          stale={snap.stale}
          staleReason={snap.staleReason}
        />
      </td>
      <td className="py-2 pr-3 font-mono whitespace-nowrap">
        {snap.queue.queued === null && snap.queue.running === null ? (
          <span className="font-sans text-muted">not published</span>
        ) : (
          <>
            {formatCount(snap.queue.queued, 'queued')} ·{' '}
            {formatCount(snap.queue.running, 'running')}
            <span className="block text-xs text-muted">
              {formatCount(snap.queue.queuedNodeHours, 'node-h queued')}
            </span>
          </>
        )}
      </td>
      <td className="py-2 pr-3 font-mono whitespace-nowrap">
        {snap.queue.freeNodes === null && snap.queue.totalNodes === null ? (
          <span className="font-sans text-muted">not published</span>
        ) : (
          <>
            {formatCount(snap.queue.freeNodes)} / {formatCount(snap.queue.totalNodes, 'nodes free')}
          </>
        )}
      </td>
      <td className="py-2 pr-3 text-sm">
        <WaitFigure system={system} compact />
      </td>
      <td className="py-2 text-sm">
        <NextWindow system={system} window={snap.nextWindow} now={now} compact />
      </td>
    </tr>
  );
}

/** The overview's facilities panel: one line per system, the details on /facilities. */
export function FacilitiesSummary() {
  useFacilitiesFeed();
  // A top-level array: useShallow compares it element by element.
  const ids = useFacilities((s) => Object.keys(s.systems).sort());
  const loaded = useFacilities((s) => s.loaded);
  const now = useFacilityNow(1000);
  return (
    <div
      data-testid={testIds.facilitiesPanel}
      className="overflow-x-auto rounded-lg border border-edge bg-panel px-4 py-2"
    >
      {!loaded ? (
        <p className="py-2 text-muted">Waiting for the first facility reading…</p>
      ) : (
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-muted">
            <tr>
              <th className="py-1 font-normal">system</th>
              <th className="font-normal">status</th>
              <th className="font-normal">jobs</th>
              <th className="font-normal">nodes</th>
              <th className="font-normal">
                wait, {DEFAULT_RECON_JOB.nodes} nodes × {DEFAULT_RECON_JOB.walltime / 3600} h
              </th>
              <th className="font-normal">next planned window</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-edge">
            {ids.map((id) => (
              <SummaryRow key={id} system={id} now={now} />
            ))}
          </tbody>
        </table>
      )}
      <Link href="/facilities" className="mt-1 inline-block text-xs text-info hover:underline">
        Queues, 24 h history, incidents and site recommendation →
      </Link>
    </div>
  );
}
