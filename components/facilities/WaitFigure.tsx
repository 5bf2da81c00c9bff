'use client';

import type { WaitAccuracy } from '@/lib/protocol';
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
      {wait.placeholderBound ? (
        <span
          className="font-mono text-muted"
          data-testid={testIds.facilityWaitBound(system)}
          title="too few observed waits for a 95% bound: a placeholder, not a measured bound"
        >
          —
        </span>
      ) : (
        <span className="font-mono text-white" data-testid={testIds.facilityWaitBound(system)}>
          {formatDuration(wait.bound95)}
        </span>
      )}
      <span className="text-muted">
        {wait.placeholderBound ? ' placeholder bound' : ' 95% bound'}
      </span>
      {wait.accuracy ? <AccuracyLine accuracy={wait.accuracy} /> : null}
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

const share = (x: number | null) => (x === null ? '—' : `${Math.round(100 * x)} %`);

/** Recent accuracy on this system: how often Loupe's own observed waits fell within 2× and the bound. */
function AccuracyLine({ accuracy }: { accuracy: WaitAccuracy }) {
  return (
    <span
      className="block text-xs text-muted"
      title={`${accuracy.scored} recent observed waits, each predicted from what was known before it was submitted`}
    >
      recently: <span className="font-mono text-white">{share(accuracy.within2)}</span> within 2× ·{' '}
      <span className="font-mono text-white">{share(accuracy.boundExceeded)}</span> over the bound
      {accuracy.within2 === null ? ` (${accuracy.scored} scored, too few)` : ''}
    </span>
  );
}
