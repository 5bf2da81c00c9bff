'use client';

import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { formatDuration } from './formatDuration';

/** Median and 95% bound of the default reconstruction job's wait on one system, or why none. */
export function WaitFigure({ system, compact = false }: { system: string; compact?: boolean }) {
  const { wait, excluded } = useFacilities((s) => ({
    wait: s.defaultWaits[system],
    excluded: s.defaultExcluded[system],
  }));
  if (!wait)
    return (
      <span
        data-testid={testIds.facilityWait(system)}
        data-median=""
        className="text-muted"
        title={excluded}
      >
        {excluded ? 'no estimate' : '…'}
        {excluded && !compact ? <span className="block text-xs">{excluded}</span> : null}
      </span>
    );
  return (
    <span
      data-testid={testIds.facilityWait(system)}
      data-median={wait.median}
      title={`${wait.observations} observed waits behind it; method ${wait.method}`}
    >
      <span className="font-mono text-white">{formatDuration(wait.median)}</span>
      <span className="text-muted"> median · </span>
      <span className="font-mono text-white">{formatDuration(wait.bound95)}</span>
      <span className="text-muted">
        {wait.placeholderBound ? ' placeholder bound' : ' 95% bound'}
      </span>
      {compact ? null : (
        <span className="block text-xs text-muted">
          {wait.placeholderBound
            ? `no measured bound yet: ${wait.observations} observed waits are too few (${wait.method})`
            : `from ${wait.observations} observed waits (${wait.method})`}
        </span>
      )}
    </span>
  );
}
