'use client';

import { useCallback, useEffect, useState } from 'react';
import { ShareLinkList as ShareLinkListReply, type ShareLinkInfo } from '@/lib/protocol';
import { readRefusal } from '@/lib/rest/readAnswer';
import { testIds } from '@/lib/testIds';
import { useLiveClient } from '@/components/live/LiveClientProvider';

const button =
  'rounded border border-edge px-2 py-0.5 text-xs hover:bg-white/10 disabled:opacity-40';

function remaining(expiresAt: number): string {
  const hours = (expiresAt - Date.now()) / 3_600_000;
  return hours >= 48 ? `${Math.round(hours / 24)} d` : `${Math.max(0, Math.round(hours))} h`;
}

/**
 * The run's share links that still open it, each revocable at once: a revoked link stops working
 * and its open sessions are closed by the gateway. `version` changes when a link was created.
 */
export function ShareLinkList({ runId, version }: { runId: string; version: number }) {
  const live = useLiveClient();
  const [links, setLinks] = useState<ShareLinkInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    const res = await live.api(`/api/runs/${encodeURIComponent(runId)}/share`);
    const parsed = ShareLinkListReply.safeParse(await res.json().catch(() => null));
    if (res.ok && parsed.success) {
      setLinks(parsed.data.links);
      setError(null);
    } else setError(`could not list the links (HTTP ${res.status})`);
  }, [live, runId]);

  useEffect(() => {
    void load();
  }, [load, version]);

  const revoke = async (link: ShareLinkInfo) => {
    setBusy(link.id);
    const res = await live.api(
      `/api/runs/${encodeURIComponent(runId)}/share/${encodeURIComponent(link.id)}`,
      { method: 'DELETE' },
    );
    setBusy(null);
    if (!res.ok) setError(`could not revoke: ${await readRefusal(res)}`);
    await load();
  };

  if (links.length === 0 && !error) return <p className="text-xs text-muted">No active links.</p>;
  return (
    <div data-testid={testIds.shareLinkList} className="space-y-1">
      {error ? <p className="text-xs text-bad">{error}</p> : null}
      <ul className="space-y-1 text-xs">
        {links.map((link) => (
          <li key={link.id} className="flex items-center justify-between gap-2">
            <span className="text-muted">
              by {link.createdBy}, expires in {remaining(link.expiresAt)} (
              {new Date(link.expiresAt).toLocaleString()})
            </span>
            <button
              type="button"
              className={button}
              disabled={busy === link.id}
              aria-label={`Revoke the link created by ${link.createdBy} on ${new Date(link.createdAt).toLocaleString()}`}
              onClick={() => void revoke(link)}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
