'use client';

import Link from 'next/link';
import { testIds } from '@/lib/testIds';
import { useRuns } from '@/stores/StoreProvider';
import { RunStateChip } from './RunStateChip';
import { useNow } from './useNow';

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Every run the gateway knows, newest first, with its state and how fresh its data is. */
export function RunList() {
  const { runs, loaded } = useRuns((s) => ({ runs: s.runs, loaded: s.loaded }));
  const now = useNow(1000);
  const list = Object.values(runs).sort((a, b) => b.createdAt - a.createdAt);
  if (!loaded) return <p className="text-muted">Loading runs…</p>;
  if (list.length === 0)
    return <p className="text-muted">No runs yet. A consumer that dials in appears here.</p>;
  return (
    <ul
      data-testid={testIds.runList}
      className="divide-y divide-edge rounded-lg border border-edge bg-panel"
    >
      {list.map((run) => (
        <li key={run.id}>
          <Link
            href={`/runs/${encodeURIComponent(run.id)}`}
            data-testid={testIds.runLink(run.id)}
            className="flex items-center gap-4 px-4 py-3 hover:bg-white/5"
          >
            <RunStateChip state={run.state} />
            <span className="font-medium">{run.title}</span>
            <span className="text-sm text-muted">{run.sample}</span>
            <span className="ml-auto text-sm text-muted">
              {run.framesReceived} frames ·{' '}
              {run.lastFrameAt ? `last ${ago(now - run.lastFrameAt)}` : 'no data yet'}
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
