import type { SystemStatus } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';

const COLOUR: Record<SystemStatus, string> = {
  up: 'text-ok border-ok/50 bg-ok/10',
  degraded: 'text-warn border-warn/50 bg-warn/10',
  down: 'text-bad border-bad/50 bg-bad/10',
  maintenance: 'text-maint border-maint/50 bg-maint/10',
  unknown: 'text-muted border-edge',
};

export interface FacilityStatusChipProps {
  system: string;
  status: SystemStatus;
  stale: boolean;
  staleReason: string | null;
}

/** A system's status, and a "stale" marker whose tooltip says why the reading is not fresh. */
export function FacilityStatusChip({
  system,
  status,
  stale,
  staleReason,
}: FacilityStatusChipProps) {
  return (
    <span className="inline-flex items-center gap-1.5">
      <span
        data-testid={testIds.facilityStatus(system)}
        data-status={status}
        data-stale={stale ? 'true' : 'false'}
        className={`rounded border px-2 py-0.5 text-xs font-semibold tracking-wide uppercase ${COLOUR[status]}`}
      >
        {status}
      </span>
      {stale ? (
        <span
          data-testid={testIds.facilityStale(system)}
          title={staleReason ?? 'stale reading'}
          tabIndex={0}
          aria-label={`stale: ${staleReason ?? 'unknown reason'}`}
          className="cursor-help rounded border border-dashed border-warn/60 px-1.5 py-0.5 text-xs text-warn"
        >
          stale
        </span>
      ) : null}
    </span>
  );
}
