'use client';

import type { CommandRecord, ControlHandoff } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useCommands, useControl } from '@/stores/StoreProvider';
import { CaptureDownloadButton } from '@/components/measure/CaptureDownloadButton';
import { CommandStateChip } from './CommandStateChip';

const EMPTY: ControlHandoff[] = [];

/** How a handoff reads in the run's history. */
function handoffText(h: ControlHandoff): string {
  switch (h.event) {
    case 'claimed':
      return `${h.by.subject} took the free controls`;
    case 'requested':
      return `${h.by.subject} asked for control`;
    case 'granted':
      return `${h.by.subject} handed control to ${h.to?.subject ?? '?'}`;
    case 'denied':
      return `${h.by.subject} kept control (request denied)`;
    case 'expired':
      return `${h.by.subject}'s request lapsed unanswered`;
    case 'released':
      return h.to
        ? `${h.by.subject} released control to ${h.to.subject}`
        : `${h.by.subject} released control`;
    case 'taken':
      return `${h.by.subject} (staff) took control`;
    case 'dropped':
      return h.to
        ? `${h.by.subject} left; control passed to ${h.to.subject}`
        : `${h.by.subject} left; control is free`;
  }
}

type Entry = { at: number; command: CommandRecord } | { at: number; handoff: ControlHandoff };

/**
 * The run's history, newest first: each command with its live state and the reason when it failed,
 * and each change of hands on the controls.
 */
export function CommandList({ runId }: { runId: string }) {
  const commands = useCommands((s) =>
    Object.values(s.commands)
      .filter((c) => c.run === runId)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, 20),
  );
  const handoffs = useControl((s) => s.controls[runId]?.history ?? EMPTY);
  const entries: Entry[] = [
    ...commands.map((c) => ({ at: c.createdAt, command: c })),
    ...handoffs.map((h) => ({ at: h.at, handoff: h })),
  ].sort((a, b) => b.at - a.at);
  if (entries.length === 0) return <p className="text-xs text-muted">No commands yet.</p>;
  return (
    <ol data-testid={testIds.commandList} className="space-y-1 text-xs">
      {entries.map((e) =>
        'handoff' in e ? (
          <li
            key={`h-${e.at}-${e.handoff.event}-${e.handoff.by.subject}`}
            data-testid={testIds.controlHandoff}
            data-event={e.handoff.event}
            className="rounded border border-dashed border-edge px-2 py-1 text-muted"
          >
            <span className="font-mono">control</span> · {handoffText(e.handoff)}
            <span className="float-right">{new Date(e.at).toLocaleTimeString()}</span>
          </li>
        ) : (
          <CommandItem key={e.command.id} c={e.command} />
        ),
      )}
    </ol>
  );
}

function CommandItem({ c }: { c: CommandRecord }) {
  return (
    <li data-testid={testIds.commandItem} className="rounded border border-edge px-2 py-1">
      <div className="flex items-center gap-2">
        <span className="font-mono">{c.kind}</span>
        <CommandStateChip state={c.state} testId={testIds.commandState(c.id)} />
        <span className="ml-auto text-muted">
          {c.subject} · {new Date(c.createdAt).toLocaleTimeString()}
        </span>
      </div>
      {c.reason || c.detail || c.artifact ? (
        <div className={c.state === 'failed' || c.state === 'rejected' ? 'text-bad' : 'text-muted'}>
          {c.reason ?? c.detail}
          {c.artifact ? (
            <span className="block font-mono break-all text-white">{c.artifact}</span>
          ) : null}
          {c.kind === 'capture' && c.state === 'applied' && c.artifact ? (
            <CaptureDownloadButton run={c.run} artifact={c.artifact} />
          ) : null}
        </div>
      ) : null}
    </li>
  );
}
