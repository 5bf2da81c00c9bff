import type { RunState } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';

const COLOUR: Record<RunState, string> = {
  waiting: 'text-warn border-warn/40',
  streaming: 'text-ok border-ok/40',
  paused: 'text-info border-info/40',
  stalled: 'text-warn border-warn/40',
  finished: 'text-muted border-edge',
  failed: 'text-bad border-bad/40',
  // Its facility job ended: nothing streams it until a resubmit.
  ended: 'text-warn border-warn/40',
};

export function RunStateChip({ state }: { state: RunState }) {
  return (
    <span
      data-testid={testIds.runState}
      data-state={state}
      className={`rounded border px-2 py-0.5 text-xs ${COLOUR[state]}`}
    >
      {state}
    </span>
  );
}
