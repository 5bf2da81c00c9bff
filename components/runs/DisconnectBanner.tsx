'use client';

import { useSyncExternalStore } from 'react';
import { testIds } from '@/lib/testIds';
import type { RunMetricsStore } from '@/components/live/RunMetricsStore';

/** Why the gateway dropped this tab (a stall, a restart), with a way back; shown until it reconnects. */
export function DisconnectBanner({
  metrics,
  onReconnect,
}: {
  metrics: RunMetricsStore;
  onReconnect: () => void;
}) {
  const notice = useSyncExternalStore(
    (listener) => metrics.subscribeNotice(listener),
    () => metrics.notice,
    () => null,
  );
  if (!notice) return null;
  return (
    <div
      role="alert"
      data-testid={testIds.disconnectNotice}
      className="flex items-center gap-3 rounded-lg border border-bad bg-bad/10 px-4 py-2 text-sm"
    >
      <span>{notice.message}</span>
      <button
        type="button"
        onClick={onReconnect}
        className="ml-auto rounded border border-edge px-3 py-1 hover:bg-white/10"
      >
        Reconnect
      </button>
    </div>
  );
}
