import type { CommandState } from '@/lib/protocol';

const LOOK: Record<CommandState, string> = {
  accepted: 'border-warn/50 text-warn',
  delivered: 'border-info/50 text-info',
  applied: 'border-ok/50 text-ok',
  rejected: 'border-bad/50 text-bad',
  failed: 'border-bad/50 text-bad',
};

export function CommandStateChip({ state, testId }: { state: CommandState; testId?: string }) {
  return (
    <span
      data-testid={testId}
      data-state={state}
      className={`rounded border px-1.5 text-[11px] ${LOOK[state]}`}
    >
      {state}
    </span>
  );
}
