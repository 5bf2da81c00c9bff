'use client';

import { testIds } from '@/lib/testIds';
import { useCommands } from '@/stores/StoreProvider';
import { CaptureDownloadButton } from '@/components/measure/CaptureDownloadButton';
import { CommandStateChip } from './CommandStateChip';

/** The run's commands, newest first, each with its live state and the reason when it failed. */
export function CommandList({ runId }: { runId: string }) {
  const commands = useCommands((s) =>
    Object.values(s.commands)
      .filter((c) => c.run === runId)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, 20),
  );
  if (commands.length === 0) return <p className="text-xs text-muted">No commands yet.</p>;
  return (
    <ol data-testid={testIds.commandList} className="space-y-1 text-xs">
      {commands.map((c) => (
        <li key={c.id} className="rounded border border-edge px-2 py-1">
          <div className="flex items-center gap-2">
            <span className="font-mono">{c.kind}</span>
            <CommandStateChip state={c.state} testId={testIds.commandState(c.id)} />
            <span className="ml-auto text-muted">
              {c.subject} · {new Date(c.createdAt).toLocaleTimeString()}
            </span>
          </div>
          {c.reason || c.detail || c.artifact ? (
            <div
              className={c.state === 'failed' || c.state === 'rejected' ? 'text-bad' : 'text-muted'}
            >
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
      ))}
    </ol>
  );
}
