import type { EventEmitter } from 'node:events';
import {
  type CommandRecord,
  type CommandState,
  FINAL_COMMAND_STATES,
  ParameterValues,
} from '@/lib/protocol';
import type { AuditLog } from '../audit/AuditLog';
import { summarizeProgress } from '../audit/auditSummary';
import type { RunRegistry } from '../streams/RunRegistry';
import type { CommandStore } from './CommandStore';

export interface CommandEvents {
  state: [command: CommandRecord];
  error: [error: Error];
}

/** Who moved a command on: the consumer, or the gateway itself. */
export interface Actor {
  subject: string;
  role: string;
}

/** What comes with a new state (the consumer's words, or the gateway's reason). */
export interface TransitionExtra {
  reason?: string | undefined;
  detail?: string | undefined;
  artifact?: string | undefined;
}

export interface CommandLifecycleOptions {
  store: CommandStore;
  audit: AuditLog;
  registry: Pick<RunRegistry, 'parametersApplied'>;
  /** Where each state change is emitted ('state'), and failed writes reported ('error'). */
  events: EventEmitter<CommandEvents>;
  /** A command whose consumer stays offline this long fails (ms). */
  offlineTimeoutMs: number;
  /** A delivered command without an outcome after this long fails (ms). */
  outcomeTimeoutMs: number;
  now: () => number;
  /** Offers a command still accepted (not yet delivered) to its consumer again, at each sweep. */
  redeliver(command: CommandRecord): void;
}

const FINAL = new Set<CommandState>(FINAL_COMMAND_STATES);
/** How often open commands are checked for a timeout (ms): the timeouts are minutes. */
const SWEEP_MS = 1000;
const GATEWAY: Actor = { subject: 'gateway', role: 'system' };

/**
 * The open commands and their moves accepted → delivered → applied | rejected | failed: each
 * applied at most once, stored and audited in the order it happened, and timed out by a sweep
 * when the consumer stays offline or silent.
 */
export class CommandLifecycle {
  private readonly open = new Map<string, CommandRecord>();
  private readonly sweepTimer: NodeJS.Timeout;
  /**
   * State changes being written to the store, in order (one at a time, so the stored state and the
   * audit rows follow the order they happened in). Nothing waits for them but reads of the store.
   */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly o: CommandLifecycleOptions) {
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Opens a command just accepted (and stored). */
  track(command: CommandRecord): void {
    this.open.set(command.id, command);
    this.o.events.emit('state', { ...command });
  }

  /** Takes up commands still open from before; those already open here are kept as they are. */
  restore(commands: readonly CommandRecord[]): void {
    for (const command of commands)
      if (!this.open.has(command.id)) this.open.set(command.id, command);
  }

  /** The open command with this id, if any. */
  get(id: string): CommandRecord | undefined {
    return this.open.get(id);
  }

  /** The run's open commands. */
  openOn(run: string): CommandRecord[] {
    return [...this.open.values()].filter((c) => c.run === run);
  }

  /** Resolves once every state change made so far is in the store. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /** Stops the sweep; resolves once every state change is stored. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.flushed();
  }

  /** Resolves once the command left `accepted` (or after `ms`). */
  settled(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.o.events.off('state', onState);
        resolve();
      };
      const onState = (c: CommandRecord) => {
        if (c.id === id && c.state !== 'accepted') done();
      };
      const timer = setTimeout(done, ms);
      if (this.open.get(id)?.state !== 'accepted') return done();
      this.o.events.on('state', onState);
    });
  }

  transition(
    command: CommandRecord,
    state: CommandState,
    extra: TransitionExtra,
    by: Actor = GATEWAY,
  ): void {
    if (FINAL.has(command.state) || command.state === state) return; // never applied twice
    if (state === 'accepted') return;
    command.state = state;
    command.updatedAt = this.o.now();
    if (extra.reason !== undefined) command.reason = extra.reason;
    if (extra.detail !== undefined) command.detail = extra.detail;
    if (extra.artifact !== undefined) command.artifact = extra.artifact;
    const stored = { ...command };
    if (FINAL.has(state)) this.open.delete(command.id);
    if (state === 'applied' && command.kind === 'set-parameters') {
      const values = ParameterValues.safeParse(command.payload.values);
      if (values.success) this.o.registry.parametersApplied(command.run, values.data);
    }
    const progress = {
      who: by,
      action: `command:${command.kind}`,
      run: command.run,
      kind: command.kind,
      args: summarizeProgress({
        command: command.id,
        requestedBy: command.subject,
        artifact: command.artifact,
      }),
      outcome: state,
      reason: command.reason ?? command.detail ?? null,
    };
    // Written behind the change, never awaited here: the consumer has already acted, so the state
    // stands whatever the store says, and a failed write is reported on 'error'.
    this.writes = this.writes.then(async () => {
      try {
        await this.o.store.saveState(stored);
      } catch (error) {
        this.o.events.emit('error', error as Error);
      }
      try {
        await this.o.audit.progress(progress);
      } catch (error) {
        this.o.events.emit('error', error as Error);
      }
    });
    this.o.events.emit('state', { ...command });
  }

  private sweep(): void {
    const t = this.o.now();
    for (const command of [...this.open.values()]) {
      if (command.kind === 'resubmit') continue; // the facility's job states drive it
      if (command.state === 'accepted' && t - command.createdAt > this.o.offlineTimeoutMs) {
        this.transition(command, 'failed', {
          reason: `not delivered within ${Math.round(this.o.offlineTimeoutMs / 1000)} s: the run's consumer stayed offline or did not answer`,
        });
      } else if (command.state === 'delivered' && t - command.updatedAt > this.o.outcomeTimeoutMs) {
        this.transition(command, 'failed', {
          reason: `the consumer reported no outcome within ${Math.round(this.o.outcomeTimeoutMs / 1000)} s`,
        });
      } else if (command.state === 'accepted') {
        this.o.redeliver(command);
      }
    }
  }
}
