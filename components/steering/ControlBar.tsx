'use client';

import { useState } from 'react';
import { authorize } from '@/lib/policy';
import type { ControlAction } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useNow } from '@/components/runs/useNow';
import { useLiveClient } from '@/components/live/LiveClientProvider';
import { useControl, useSession } from '@/stores/StoreProvider';

const button =
  'rounded border border-edge px-2 py-0.5 text-xs hover:bg-white/10 disabled:opacity-40';

/**
 * Who holds the run's control and what this person can do about it: take the free controls,
 * request them from the holder, grant or deny a request, release them, or (staff) take them.
 * The gateway decides; this only offers the actions that could succeed.
 */
export function ControlBar({ runId }: { runId: string }) {
  const live = useLiveClient();
  const me = useSession((s) => s.identity);
  const state = useControl((s) => s.controls[runId]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const now = useNow(1000);
  if (!me) return null;

  const act = async (action: ControlAction) => {
    setBusy(true);
    setError(null);
    const answer = await live.sendControl(runId, action);
    setBusy(false);
    if (!answer.ok) setError(answer.error);
  };
  const holder = state?.holder ?? null;
  const request = state?.request ?? null;
  const mine = holder?.subject === me.subject;
  // Taking control from its holder is the gateway's policy's to allow (staff), not a role test here.
  const mayTake = authorize(me, { kind: 'control', action: 'take', run: runId }).allowed;
  const lapses = request ? Math.max(0, Math.ceil((request.expiresAt - now) / 1000)) : 0;
  const actionButton = (action: ControlAction, label: string) => (
    <button
      type="button"
      data-testid={testIds.control(action)}
      className={button}
      disabled={busy}
      onClick={() => act(action)}
    >
      {label}
    </button>
  );

  return (
    <div
      data-testid={testIds.controlBar}
      data-holder={holder?.subject ?? ''}
      className="space-y-1 rounded border border-edge px-2 py-1 text-xs"
    >
      <div className="flex flex-wrap items-center gap-2">
        <span data-testid={testIds.controlHolder}>
          {holder
            ? mine
              ? `You hold control since ${new Date(holder.since).toLocaleTimeString()}`
              : `${holder.subject} (${holder.role}) holds control`
            : 'Control is free: anyone of the run may steer'}
        </span>
        <span className="ml-auto flex gap-1">
          {!holder ? actionButton('request', 'Take the controls') : null}
          {holder && !mine && request?.subject !== me.subject
            ? actionButton('request', 'Request control')
            : null}
          {holder && !mine && mayTake ? actionButton('take', 'Take control (staff)') : null}
          {mine ? actionButton('release', 'Release') : null}
        </span>
      </div>
      {request ? (
        <div data-testid={testIds.controlRequest} role="status" className="flex items-center gap-2">
          <span className="text-warn">
            {request.subject === me.subject
              ? `Waiting for ${holder?.subject ?? 'the holder'}'s answer`
              : `${request.subject} (${request.role}) asks for control`}{' '}
            · lapses in {lapses} s
          </span>
          {mine ? (
            <span className="ml-auto flex gap-1">
              {actionButton('grant', 'Grant')}
              {actionButton('deny', 'Deny')}
            </span>
          ) : null}
        </div>
      ) : null}
      {error ? (
        <p role="alert" className="text-bad">
          {error}
        </p>
      ) : null}
    </div>
  );
}
