import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import {
  Command,
  CommandReply,
  type CommandRecord,
  CommandRequest,
  parameterChangeProblem,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { CommandTransport } from '../streams/ProducerSockets';
import type { RunRegistry } from '../streams/RunRegistry';
import { type AuditLog, AuditUnavailableError } from '../audit/AuditLog';
import { summarizeCommand } from '../audit/auditSummary';
import { CommandLifecycle, type CommandEvents } from './CommandLifecycle';
import type { CommandStore } from './CommandStore';
import { type AuditAttempt, IdempotencyKeys, refusal, type SubmitResult } from './IdempotencyKeys';
import { type ResubmitHandler, runResubmit } from './runResubmit';
import { authorize } from '@/lib/policy';

export type { SubmitResult } from './IdempotencyKeys';
export type { ResubmitHandler, ResubmitProgress, ResubmitRequest } from './runResubmit';

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

/** A submission that passed the budget, validation and authorisation, with a usable key. */
interface Admitted {
  request: CommandRequest;
  key: string;
  /** Why it is allowed (the policy's reason, for the audit). */
  reason: string;
  attempt: AuditAttempt;
}

/**
 * Steering commands from request to outcome: validates, authorises (default deny), deduplicates by
 * idempotency key (IdempotencyKeys), rate-limits per user, records, delivers to the run's consumer
 * (waiting while it is offline), and follows accepted → delivered → applied | rejected | failed
 * (CommandLifecycle; a resubmission through runResubmit). Every attempt and every transition goes
 * to the audit log.
 */
export class CommandService extends EventEmitter<CommandEvents> {
  private readonly delivering = new Set<string>();
  private readonly limiter: RateLimiterMemory;
  private readonly keys: IdempotencyKeys;
  private readonly lifecycle: CommandLifecycle;
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
    this.keys = new IdempotencyKeys(this.o.store);
    this.lifecycle = new CommandLifecycle({
      store: this.o.store,
      audit: this.o.audit,
      registry: this.o.registry,
      events: this,
      offlineTimeoutMs: this.o.offlineTimeoutMs,
      outcomeTimeoutMs: this.o.outcomeTimeoutMs,
      now: this.now,
      redeliver: (command) => this.deliver(command),
    });
    this.o.registry.on('run', (run) => {
      if (run.producerConnected) for (const c of this.lifecycle.openOn(run.id)) this.deliver(c);
    });
    this.o.transport.onUpdate((update, from) => {
      const command = this.lifecycle.get(update.reply.id);
      if (!command || command.run !== update.run) return 'no open command with that id on that run';
      if (this.o.registry.producerOf(command.run) !== from) return 'that run is not yours';
      const r = update.reply;
      this.lifecycle.transition(
        command,
        r.status,
        { reason: r.reason, detail: r.detail, artifact: r.artifact },
        { subject: 'consumer', role: 'producer' },
      );
      return null;
    });
  }

  /**
   * Takes up the commands still open when the gateway last stopped: delivered when their consumer
   * dials in, or timed out by the sweep. Call once, before the gateway listens.
   */
  async restore(): Promise<void> {
    this.lifecycle.restore(await this.o.store.unfinished());
  }

  /** The run's commands, newest first, as stored (after this gateway's pending writes). */
  async list(run: string, limit = 100): Promise<CommandRecord[]> {
    await this.flushed();
    return this.o.store.list(run, limit);
  }

  /** Resolves once every state change made so far is in the store. */
  flushed(): Promise<void> {
    return this.lifecycle.flushed();
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
    const admitted = await this.admit(identity, run, idempotencyKey, body);
    if ('status' in admitted) return admitted;
    const { request, key, attempt } = admitted;

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
    let early: SubmitResult | null;
    try {
      early = await this.keys.reserve(
        identity.subject,
        key,
        { run, request },
        command,
        attempt,
        async (tx) => {
          await tx.insert(command);
          // Last, so the audit chain's head is locked for as short a time as possible.
          await attempt('accepted', 202, admitted.reason, tx);
        },
      );
    } catch (error) {
      return this.unavailable(error);
    }
    if (early) return early;

    return this.keys.answer(identity.subject, key, async () => {
      this.lifecycle.track(command);
      if (request.kind === 'resubmit')
        runResubmit(this.o.resubmit, command, request, identity, this.lifecycle);
      else this.deliver(command);
      await this.lifecycle.settled(command.id, this.o.answerWaitMs);
      return {
        status: 202,
        body: {
          command: {
            ...(this.lifecycle.get(command.id) ?? (await this.get(command.id)) ?? command),
          },
        },
        replayed: false,
      };
    });
  }

  /** One command as stored (after this gateway's pending writes). */
  async get(id: string): Promise<CommandRecord | undefined> {
    await this.flushed();
    return this.o.store.get(id);
  }

  /** Stops the sweep; resolves once every state change is stored. */
  async close(): Promise<void> {
    await this.lifecycle.close();
  }

  /**
   * The checks before a key is looked at: the rate budget, the body, the policy, the run, its
   * control, its parameters, and that a key was given. A refusal is answered (and audited) here.
   */
  private async admit(
    identity: Identity,
    run: string,
    idempotencyKey: string | undefined,
    body: unknown,
  ): Promise<Admitted | SubmitResult> {
    const who = { subject: identity.subject, role: identity.role };
    // The budget comes first, so a flood of anything costs one counted refusal per minute.
    try {
      // Per user per run: a scientist hammering one run never locks them out of another.
      await this.limiter.consume(`${identity.subject}\u0000${run}`);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      this.o.audit.refused({ who, action: 'command', run, reason: 'rate limited', status: 429 });
      return refusal(
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
      return refusal(
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
    const attempt: AuditAttempt = (outcome, status, reason, tx) =>
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
        return this.unavailable(e);
      }
      return refusal(status, error);
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
    return { request, key: validKey, reason: decision.reason, attempt };
  }

  /** A failed audit write refuses the command (503); anything else is thrown on. */
  private unavailable(error: unknown): SubmitResult {
    if (!(error instanceof AuditUnavailableError)) throw error;
    this.emit('error', error);
    return refusal(503, `steering refused: ${error.message}`);
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
      this.lifecycle.transition(command, 'failed', {
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
        this.lifecycle.transition(command, 'failed', {
          reason: 'the consumer answered with a malformed reply',
        });
        return;
      }
      const r = reply.data;
      const extra = { reason: r.reason, detail: r.detail, artifact: r.artifact };
      const by = { subject: 'consumer', role: 'producer' };
      if (r.status === 'accepted') this.lifecycle.transition(command, 'delivered', extra, by);
      else if (r.status === 'applied') {
        this.lifecycle.transition(command, 'delivered', {}, by);
        this.lifecycle.transition(command, 'applied', extra, by);
      } else this.lifecycle.transition(command, r.status, extra, by);
    });
  }
}
