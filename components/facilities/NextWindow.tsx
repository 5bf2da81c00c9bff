import type { PlannedWindow } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { formatCountdown, formatWhen } from './formatDuration';

/** Under this, a window about to start is shown as a warning. */
const SOON_MS = 6 * 3_600_000;

export interface NextWindowProps {
  system: string;
  window: PlannedWindow | null;
  /** Now on the gateway's clock, epoch ms. */
  now: number;
  compact?: boolean;
}

/** The next (or current) planned window with a live countdown to its start or end. */
export function NextWindow({ system, window: w, now, compact = false }: NextWindowProps) {
  if (!w)
    return (
      <span data-testid={testIds.facilityWindow(system)} data-phase="none" className="text-muted">
        none announced
      </span>
    );
  const active = w.start <= now && (w.end === null || w.end > now);
  const phase = active ? 'active' : 'upcoming';
  const colour = active ? 'text-maint' : w.start - now < SOON_MS ? 'text-warn' : 'text-white';
  const range = `${formatWhen(w.start)} – ${w.end ? formatWhen(w.end) : 'open end'}`;
  return (
    <span
      data-testid={testIds.facilityWindow(system)}
      data-phase={phase}
      title={`${w.description}\n${range}`}
      className="inline-flex flex-col"
    >
      <span className={`font-mono ${colour}`} data-testid={testIds.facilityCountdown(system)}>
        {active
          ? w.end
            ? `ends in ${formatCountdown(w.end - now)}`
            : 'in window, no end given'
          : `starts in ${formatCountdown(w.start - now)}`}
      </span>
      {compact ? null : <span className="text-xs text-muted">{range}</span>}
    </span>
  );
}
