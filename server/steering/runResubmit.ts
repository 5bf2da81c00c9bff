import type { CommandRecord, CommandRequest } from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { CommandLifecycle } from './CommandLifecycle';

export type ResubmitRequest = Extract<CommandRequest, { kind: 'resubmit' }>;

/** How a resubmission reports progress: submitted (job queued), running (streaming again), or not. */
export interface ResubmitProgress {
  delivered(detail: string): void;
  applied(detail: string): void;
  failed(reason: string): void;
}

/** Sends a run's job to a compute site (site selection + the facility's job API). */
export interface ResubmitHandler {
  resubmit(
    command: CommandRecord,
    request: ResubmitRequest,
    identity: Identity,
    progress: ResubmitProgress,
  ): Promise<void>;
}

/**
 * Starts a resubmit command: no consumer delivers it, the facility side does, and its progress
 * moves the command on (a throw fails it). Without a handler the command fails at once.
 */
export function runResubmit(
  handler: ResubmitHandler | undefined,
  command: CommandRecord,
  request: ResubmitRequest,
  identity: Identity,
  lifecycle: Pick<CommandLifecycle, 'transition'>,
): void {
  if (!handler) {
    lifecycle.transition(command, 'failed', {
      reason: 'this gateway has no facility job API configured',
    });
    return;
  }
  const progress: ResubmitProgress = {
    delivered: (detail) => lifecycle.transition(command, 'delivered', { detail }),
    applied: (detail) => {
      if (command.state === 'accepted') lifecycle.transition(command, 'delivered', {});
      lifecycle.transition(command, 'applied', { detail });
    },
    failed: (reason) => lifecycle.transition(command, 'failed', { reason }),
  };
  handler.resubmit({ ...command }, request, identity, progress).catch((error: unknown) => {
    progress.failed(error instanceof Error ? error.message : String(error));
  });
}
