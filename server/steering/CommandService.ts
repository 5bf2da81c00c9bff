import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import {
  Command,
  type CommandAnswer,
  CommandReply,
  type CommandRecord,
  CommandRequest,
  type CommandState,
  type ErrorAnswer,
  FINAL_COMMAND_STATES,
  parameterChangeProblem,
  ParameterValues,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { CommandTransport } from '../streams/ProducerSockets';
import type { RunRegistry } from '../streams/RunRegistry';
import { type AuditLog, AuditUnavailableError } from '../audit/AuditLog';
import { summarizeCommand, summarizeProgress } from '../audit/auditSummary';
import { type CommandStore, CommandTransaction } from './CommandStore';
import { authorize } from '@/lib/policy';

/** Answer to a submission, as REST sends it (the socket path wraps the same). */
export interface SubmitResult {
  status: number;
  /** The route's answer (lib/protocol/rest.ts): the command, or a refusal. */
  body: CommandAnswer | (ErrorAnswer & { code?: 'not_in_control' });
  replayed: boolean;
}

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

export interface CommandServiceOptions {
  /** Where commands and idempotency keys are kept (the store's tables, SQLite or PostgreSQL). */
  store: CommandStore;
  registry: RunRegistry;
  /** How commands reach the runs' consumers (ProducerSockets; a fake in a test). */
  transport: CommandTransport;
  audit: AuditLog;
  resubmit?: ResubmitHandler;
  /** Who holds each run's control (ControlLease): while someone does, only they steer. */
  control?: {
    check(
      who: { subject: string; role: string },
      run: string,
    ): { allowed: boolean; reason: string };
  };
  /** How long the consumer has to acknowledge one delivery attempt (ms). */
  deliveryTimeoutMs?: number;
  /** A command whose consumer stays offline this long fails (ms). */
  offlineTimeoutMs?: number;
  /** A delivered command without an outcome after this long fails (ms). */
  outcomeTimeoutMs?: number;
  /** How long a submission waits for delivery before answering (ms), so an online consumer's
   *  acceptance is in the first answer. */
  answerWaitMs?: number;
  /** Commands a user may send per `rateWindowS` seconds. */
  ratePoints?: number;
  rateWindowS?: number;
  now?: () => number;
}

interface CommandEvents {
  state: [command: CommandRecord];
  error: [error: Error];
}

const FINAL = new Set<CommandState>(FINAL_COMMAND_STATES);

/**
 * Steering commands from request to outcome: validates, authorises (default deny), deduplicates by
 * idempotency key, rate-limits per user, records, delivers to the run's consumer (waiting while it
 * is offline), and follows accepted → delivered → applied | rejected | failed. Every attempt and
 * every transition goes to the audit log.
 */
export class CommandService extends EventEmitter<CommandEvents> {
  private readonly open = new Map<string, CommandRecord>();
  private readonly delivering = new Set<string>();
  /** Idempotency keys (subject NUL key) this process is answering now. */
  private readonly answering = new Set<string>();
  private readonly limiter: RateLimiterMemory;
  private readonly sweepTimer: NodeJS.Timeout;
  /**
   * State changes being written to the store, in order (one at a time, so the stored state and the
   * audit rows follow the order they happened in). Nothing waits for them but reads of the store.
   */
  private writes: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly o: Required<Omit<CommandServiceOptions, 'resubmit' | 'control' | 'now'>> &
    Pick<CommandServiceOptions, 'resubmit' | 'control'>;

  constructor(options: CommandServiceOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.o = {
      deliveryTimeoutMs: 5000,
      offlineTimeoutMs: 120_000,
      outcomeTimeoutMs: 120_000,
      answerWaitMs: 2000,
      ratePoints: 20,
      rateWindowS: 10,
      ...options,
    };
    this.limiter = new RateLimiterMemory({
      points: this.o.ratePoints,
      duration: this.o.rateWindowS,
    });
    this.o.registry.on('run', (run) => {
      if (run.producerConnected)
        for (const c of this.open.values()) if (c.run === run.id) this.deliver(c);
    });
    this.o.transport.onUpdate((update, from) => {
      const command = this.open.get(update.reply.id);
      if (!command || command.run !== update.run) return 'no open command with that id on that run';
      if (this.o.registry.producerOf(command.run) !== from) return 'that run is not yours';
      const r = update.reply;
      this.transition(
        command,
        r.status,
        { reason: r.reason, detail: r.detail, artifact: r.artifact },
        { subject: 'consumer', role: 'producer' },
      );
      return null;
    });
    const SWEEP_MS = 1000;
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /**
   * Takes up the commands still open when the gateway last stopped: delivered when their consumer
   * dials in, or timed out by the sweep. Call once, before the gateway listens.
   */
  async restore(): Promise<void> {
    for (const command of await this.o.store.unfinished())
      if (!this.open.has(command.id)) this.open.set(command.id, command);
  }

  /** The run's commands, newest first, as stored (after this gateway's pending writes). */
  async list(run: string, limit = 100): Promise<CommandRecord[]> {
    await this.flushed();
    return this.o.store.list(run, limit);
  }

  /** Resolves once every state change made so far is in the store. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /**
   * One steering request from a person, over REST or the socket. Each attempt that parses is one
   * audit row (accepted, denied, conflicting or replayed); a malformed body or one over the rate
   * budget is counted among the refusals. The row is written before anything changes, so when
   * the audit cannot be written the command is refused (503) and nothing happens.
   */
  async submit(
    identity: Identity,
    run: string,
    idempotencyKey: string | undefined,
    body: unknown,
  ): Promise<SubmitResult> {
    const who = { subject: identity.subject, role: identity.role };
    const answer = (status: number, error: string): SubmitResult => ({
      status,
      body: { error },
      replayed: false,
    });
    const unavailable = (error: unknown): SubmitResult => {
      if (!(error instanceof AuditUnavailableError)) throw error;
      this.emit('error', error);
      return answer(503, `steering refused: ${error.message}`);
    };

    // The budget comes first, so a flood of anything costs one counted refusal per minute.
    try {
      // Per user per run: a scientist hammering one run never locks them out of another.
      await this.limiter.consume(`${identity.subject}\u0000${run}`);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      this.o.audit.refused({ who, action: 'command', run, reason: 'rate limited', status: 429 });
      return answer(
        429,
        `rate_limited: too many commands on run ${run}: try again in ${Math.ceil(error.msBeforeNext / 1000)} s`,
      );
    }

    const parsed = CommandRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // Counted by the zod issue code only: the message may echo the body's field names.
      this.o.audit.refused({
        who,
        action: 'command',
        run,
        reason: `invalid command body (${issue?.code ?? 'malformed'})`,
        status: 400,
      });
      return answer(
        400,
        `invalid command: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'malformed'}`,
      );
    }
    const request = parsed.data;
    const validKey =
      idempotencyKey !== undefined && idempotencyKey.length >= 1 && idempotencyKey.length <= 200
        ? idempotencyKey
        : null;
    const args = summarizeCommand(request);
    const attempt = (
      outcome: 'denied' | 'accepted' | 'replayed',
      status: number,
      reason: string,
      tx?: CommandTransaction,
    ) =>
      this.o.audit.attempt(
        {
          who,
          action: `command:${request.kind}`,
          run,
          kind: request.kind,
          args,
          idempotencyKey: validKey,
          outcome,
          status,
          reason,
        },
        tx?.trx,
      );
    const deny = async (status: number, error: string): Promise<SubmitResult> => {
      try {
        await attempt('denied', status, error);
      } catch (e) {
        return unavailable(e);
      }
      return answer(status, error);
    };

    const decision = authorize(identity, { kind: 'command', command: request.kind, run });
    if (!decision.allowed) return deny(403, `forbidden: ${decision.reason}`);
    if (!this.o.registry.get(run)) return deny(404, `unknown run ${run}`);
    const held = this.o.control?.check(identity, run);
    if (held && !held.allowed) {
      const refused = await deny(409, `not_in_control: ${held.reason}`);
      return refused.status === 409
        ? { ...refused, body: { error: `not_in_control: ${held.reason}`, code: 'not_in_control' } }
        : refused;
    }
    if (request.kind === 'set-parameters') {
      const declared = this.o.registry.parametersOf(run)?.declarations ?? [];
      const problem = parameterChangeProblem(declared, request.values);
      if (problem) return deny(400, `invalid parameters: ${problem}`);
    }
    if (validKey === null)
      return deny(400, 'an Idempotency-Key header (1-200 characters) is required');

    // The key is checked and reserved, the command and its audit row written, in one transaction,
    // so a concurrent duplicate (on this gateway or another sharing the database) sees the
    // reservation and a failed audit write leaves no trace.
    const hash = createHash('sha256').update(JSON.stringify({ run, request })).digest('hex');
    const { kind, ...payload } = request;
    const t = this.now();
    const command: CommandRecord = {
      id: randomUUID(),
      run,
      kind,
      payload,
      state: 'accepted',
      subject: identity.subject,
      role: identity.role,
      createdAt: t,
      updatedAt: t,
    };
    const answeringKey = `${identity.subject}\u0000${validKey}`;
    let early: SubmitResult | null;
    try {
      early = await this.o.store.transaction(async (tx): Promise<SubmitResult | null> => {
        const existing = await tx.reserve(identity.subject, validKey, hash, t, command.id);
        if (existing) {
          if (existing.bodyHash !== hash) {
            const error = 'this Idempotency-Key was used with another request';
            await attempt('denied', 422, error, tx);
            return answer(422, error);
          }
          if (!existing.done && this.answering.has(answeringKey)) {
            const error = 'a request with this Idempotency-Key is still in progress';
            await attempt('denied', 409, error, tx);
            return answer(409, error);
          }
          // A reservation no request of this process holds was made by another gateway (which may
          // still be answering, or have stopped before it did); its command was recorded with it,
          // so that command, as it stands, is the answer: never a second one.
          const orphan =
            !existing.done && existing.command !== null
              ? await tx.get(existing.command)
              : undefined;
          if (orphan) {
            await tx.answered(identity.subject, validKey, 202, JSON.stringify({ command: orphan }));
            await attempt(
              'replayed',
              202,
              'idempotent replay of a request its gateway never answered',
              tx,
            );
            return { status: 202, body: { command: orphan }, replayed: true };
          }
          if (!existing.done || existing.status === null || existing.response === null) {
            const error = 'a request with this Idempotency-Key is still in progress';
            await attempt('denied', 409, error, tx);
            return answer(409, error);
          }
          await attempt(
            'replayed',
            existing.status,
            'idempotent replay: answered as the first time',
            tx,
          );
          return {
            status: existing.status,
            body: JSON.parse(existing.response) as SubmitResult['body'],
            replayed: true,
          };
        }
        this.answering.add(answeringKey);
        await tx.insert(command);
        // Last, so the audit chain's head is locked for as short a time as possible.
        await attempt('accepted', 202, decision.reason, tx);
        return null;
      });
    } catch (error) {
      this.answering.delete(answeringKey);
      return unavailable(error);
    }
    if (early) return early;

    try {
      this.open.set(command.id, command);
      this.emit('state', { ...command });

      if (request.kind === 'resubmit') this.startResubmit(command, request, identity);
      else this.deliver(command);
      await this.settled(command.id, this.o.answerWaitMs);

      const result: SubmitResult = {
        status: 202,
        body: {
          command: { ...(this.open.get(command.id) ?? (await this.get(command.id)) ?? command) },
        },
        replayed: false,
      };
      await this.o.store.answered(
        identity.subject,
        validKey,
        result.status,
        JSON.stringify(result.body),
      );
      return result;
    } finally {
      this.answering.delete(answeringKey);
    }
  }

  /** One command as stored (after this gateway's pending writes). */
  async get(id: string): Promise<CommandRecord | undefined> {
    await this.flushed();
    return this.o.store.get(id);
  }

  /** Stops the sweep; resolves once every state change is stored. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.flushed();
  }

  /** Resolves once the command left `accepted` (or after `ms`). */
  private settled(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off('state', onState);
        resolve();
      };
      const onState = (c: CommandRecord) => {
        if (c.id === id && c.state !== 'accepted') done();
      };
      const timer = setTimeout(done, ms);
      if (this.open.get(id)?.state !== 'accepted') return done();
      this.on('state', onState);
    });
  }

  private deliver(command: CommandRecord): void {
    if (
      command.state !== 'accepted' ||
      command.kind === 'resubmit' ||
      this.delivering.has(command.id)
    )
      return;
    if (!this.o.transport.reachable(command.run)) return; // waits for the consumer to dial in (registry 'run' event), or times out
    const wire = Command.safeParse({
      id: command.id,
      run: command.run,
      kind: command.kind,
      ...command.payload,
    });
    if (!wire.success) {
      this.transition(command, 'failed', {
        reason: `cannot encode command: ${wire.error.issues[0]?.message}`,
      });
      return;
    }
    this.delivering.add(command.id);
    this.o.transport.send(wire.data, this.o.deliveryTimeoutMs, (answer) => {
      this.delivering.delete(command.id);
      if (answer === undefined) return; // not acknowledged: stays accepted, offered again on reconnect
      const reply = CommandReply.safeParse(answer);
      if (!reply.success || reply.data.id !== command.id) {
        this.transition(command, 'failed', {
          reason: 'the consumer answered with a malformed reply',
        });
        return;
      }
      const r = reply.data;
      const extra = { reason: r.reason, detail: r.detail, artifact: r.artifact };
      const by = { subject: 'consumer', role: 'producer' };
      if (r.status === 'accepted') this.transition(command, 'delivered', extra, by);
      else if (r.status === 'applied') {
        this.transition(command, 'delivered', {}, by);
        this.transition(command, 'applied', extra, by);
      } else this.transition(command, r.status, extra, by);
    });
  }

  private startResubmit(
    command: CommandRecord,
    request: ResubmitRequest,
    identity: Identity,
  ): void {
    const handler = this.o.resubmit;
    if (!handler) {
      this.transition(command, 'failed', {
        reason: 'this gateway has no facility job API configured',
      });
      return;
    }
    const progress: ResubmitProgress = {
      delivered: (detail) => this.transition(command, 'delivered', { detail }),
      applied: (detail) => {
        if (command.state === 'accepted') this.transition(command, 'delivered', {});
        this.transition(command, 'applied', { detail });
      },
      failed: (reason) => this.transition(command, 'failed', { reason }),
    };
    handler.resubmit({ ...command }, request, identity, progress).catch((error: unknown) => {
      progress.failed(error instanceof Error ? error.message : String(error));
    });
  }

  private transition(
    command: CommandRecord,
    state: CommandState,
    extra: {
      reason?: string | undefined;
      detail?: string | undefined;
      artifact?: string | undefined;
    },
    by: { subject: string; role: string } = { subject: 'gateway', role: 'system' },
  ): void {
    if (FINAL.has(command.state) || command.state === state) return; // never applied twice
    if (state === 'accepted') return;
    command.state = state;
    command.updatedAt = this.now();
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
        this.emit('error', error as Error);
      }
      try {
        await this.o.audit.progress(progress);
      } catch (error) {
        this.emit('error', error as Error);
      }
    });
    this.emit('state', { ...command });
  }

  private sweep(): void {
    const t = this.now();
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
        this.deliver(command);
      }
    }
  }
}
