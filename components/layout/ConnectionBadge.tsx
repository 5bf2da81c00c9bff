'use client';

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
  const { connection, detail } = useSession((s) => ({
    connection: s.connection,
    detail: s.connectionDetail,
  }));
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
      {connection !== 'connected' && detail ? (
        <span className="max-w-64 truncate text-muted">— {detail}</span>
      ) : null}
    </span>
  );
}
