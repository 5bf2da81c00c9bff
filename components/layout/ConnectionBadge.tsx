'use client';

import { useEffect, useState } from 'react';
import { testIds } from '@/lib/testIds';
import { useSession } from '@/stores/StoreProvider';
import type { ConnectionStatus } from '@/stores/sessionStore';

const LOOK: Record<ConnectionStatus, { label: string; dot: string }> = {
  connecting: { label: 'connecting', dot: 'bg-warn animate-pulse' },
  connected: { label: 'connected', dot: 'bg-ok' },
  reconnecting: { label: 'reconnecting', dot: 'bg-warn animate-pulse' },
  offline: { label: 'offline', dot: 'bg-bad' },
};

/** Always-visible state of the link to the gateway; the detail says why it is not connected. */
export function ConnectionBadge() {
  const { connection, detail, retryAt } = useSession((s) => ({
    connection: s.connection,
    detail: s.connectionDetail,
    retryAt: s.retryAt,
  }));
  const seconds = useSecondsUntil(connection === 'reconnecting' ? retryAt : null);
  const look = LOOK[connection];
  return (
    <span
      data-testid={testIds.connectionState}
      data-state={connection}
      title={detail ?? undefined}
      role="status"
      aria-live="polite"
      className="flex items-center gap-2 rounded-full border border-edge px-3 py-1 text-xs"
    >
      <span className={`h-2 w-2 rounded-full ${look.dot}`} />
      {look.label}
      {seconds !== null ? (
        <span data-testid={testIds.connectionCountdown}>in {seconds} s</span>
      ) : null}
      {connection !== 'connected' && detail ? (
        <span className="max-w-64 truncate text-muted">— {detail}</span>
      ) : null}
    </span>
  );
}

/** Whole seconds until `at` (epoch ms), re-rendered a few times a second; null without a time. */
function useSecondsUntil(at: number | null): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (at === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [at]);
  return at === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
