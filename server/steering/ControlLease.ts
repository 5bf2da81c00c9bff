import { EventEmitter } from 'node:events';
import {
  type ControlAction,
  type ControlHandoff,
  type ControlParty,
  type ControlRefusal,
  type ControlState,
  MAX_CONTROL_HISTORY,
} from '@/lib/protocol';

export interface ControlLeaseOptions {
  /** How long a request waits for the holder's answer before it lapses (ms). */
  requestTimeoutMs: number;
  now?: () => number;
  /** Timers are injected so a test can run a timeout without waiting for it. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export type ControlOutcome =
  | { ok: true; state: ControlState; handoff: ControlHandoff }
  | { ok: false; code: ControlRefusal; error: string };

/** What an action would do, before it is done: a refusal, or the handoff and how to apply it. */
export type ControlPlan =
  | { ok: true; handoff: ControlHandoff; apply: () => void }
  | { ok: false; code: ControlRefusal; error: string };

export interface ControlCheck {
  allowed: boolean;
  reason: string;
}

interface RunControl {
  holder: (ControlParty & { since: number }) | null;
  request: (ControlParty & { at: number; expiresAt: number; timer: { cancel(): void } }) | null;
  history: ControlHandoff[];
}

interface ControlLeaseEvents {
  /** A run's control changed hands, or a request was made or answered. */
  change: [state: ControlState, handoff: ControlHandoff];
  /** Reserved for failures outside a caller's call (an emitter without a listener would throw). */
  error: [error: Error];
}

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

/**
 * Who holds each run's control, in memory (a restarted gateway starts with every run free).
 * Pure bookkeeping: who may attempt which action is policy's (`authorize`, kind `control`); this
 * class enforces what depends on the state — only the holder grants, denies or releases, one
 * request waits at a time, a request lapses after `requestTimeoutMs`. Memory: per run one holder,
 * one request and at most MAX_CONTROL_HISTORY handoffs; runs are forgotten with `forget`.
 */
export class ControlLease extends EventEmitter<ControlLeaseEvents> {
  private readonly runs = new Map<string, RunControl>();
  private readonly now: () => number;
  private readonly setTimer: NonNullable<ControlLeaseOptions['setTimer']>;

  constructor(private readonly options: ControlLeaseOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? defaultTimer;
  }

  state(run: string): ControlState {
    const c = this.runs.get(run);
    return {
      run,
      holder: c?.holder ? { ...c.holder } : null,
      request: c?.request
        ? {
            subject: c.request.subject,
            role: c.request.role,
            at: c.request.at,
            expiresAt: c.request.expiresAt,
          }
        : null,
      history: c ? [...c.history] : [],
    };
  }

  /**
   * Whether `who` may steer `run` now: anyone (policy permitting) while nobody holds control, only
   * the holder while someone does.
   */
  check(who: ControlParty, run: string): ControlCheck {
    const holder = this.runs.get(run)?.holder;
    if (!holder) return { allowed: true, reason: `nobody holds control of run ${run}` };
    if (holder.subject === who.subject)
      return { allowed: true, reason: `${who.subject} holds control of run ${run}` };
    return {
      allowed: false,
      reason: `${holder.subject} (${holder.role}) holds control of run ${run}: request it first`,
    };
  }

  /**
   * One action by `who`, already authorised by policy for its role and run. `record` sees the
   * outcome before anything changes (the audit row); when it throws, nothing changes.
   */
  act(
    who: ControlParty,
    run: string,
    action: ControlAction,
    record: (outcome: ControlPlan) => void = () => {},
  ): ControlOutcome {
    const plan = this.plan(who, run, action);
    record(plan);
    if (!plan.ok) return plan;
    plan.apply();
    return this.changed(run, this.control(run), plan.handoff);
  }

  /**
   * What `act` would do now, changing nothing: for a caller that must record the outcome somewhere
   * slower (the audit in the store) before acting.
   */
  preview(who: ControlParty, run: string, action: ControlAction): ControlPlan {
    return this.plan(who, run, action);
  }

  private plan(who: ControlParty, run: string, action: ControlAction): ControlPlan {
    const c = this.control(run);
    const t = this.now();
    const party = { subject: who.subject, role: who.role };
    const refuse = (code: ControlRefusal, error: string): ControlPlan => ({
      ok: false,
      code,
      error,
    });
    const to = (handoff: Omit<ControlHandoff, 'at' | 'by'>, apply: () => void): ControlPlan => ({
      ok: true,
      handoff: { at: t, by: party, ...handoff },
      apply,
    });
    const isHolder = c.holder?.subject === who.subject;
    switch (action) {
      case 'request': {
        if (isHolder) return refuse('already_holder', `you already hold control of run ${run}`);
        if (!c.holder)
          return to({ event: 'claimed', to: party }, () => {
            this.clearRequest(c);
            c.holder = { ...party, since: t };
          });
        if (c.request) {
          if (c.request.subject === who.subject)
            return refuse('request_pending', 'your request is waiting for an answer');
          return refuse(
            'request_pending',
            `${c.request.subject} has already asked ${c.holder.subject} for control`,
          );
        }
        return to({ event: 'requested', to: null }, () => {
          const ms = this.options.requestTimeoutMs;
          const timer = this.setTimer(() => this.expire(run, who.subject), ms);
          c.request = { ...party, at: t, expiresAt: t + ms, timer };
        });
      }
      case 'grant':
      case 'deny': {
        if (!isHolder) return refuse('not_holder', `only the holder of control may ${action}`);
        if (!c.request) return refuse('no_request', 'nobody has asked for control');
        const requester: ControlParty = { subject: c.request.subject, role: c.request.role };
        if (action === 'deny') return to({ event: 'denied', to: null }, () => this.clearRequest(c));
        return to({ event: 'granted', to: requester }, () => {
          this.clearRequest(c);
          c.holder = { ...requester, since: t };
        });
      }
      case 'release': {
        if (!isHolder) return refuse('not_holder', 'only the holder of control may release it');
        // A waiting request gets the controls the holder lets go of.
        const next = c.request ? { subject: c.request.subject, role: c.request.role } : null;
        return to({ event: 'released', to: next }, () => {
          this.clearRequest(c);
          c.holder = next && { ...next, since: t };
        });
      }
      case 'take': {
        if (isHolder) return refuse('already_holder', `you already hold control of run ${run}`);
        return to({ event: 'taken', to: party }, () => {
          this.clearRequest(c);
          c.holder = { ...party, since: t };
        });
      }
    }
  }

  /** The holder's last session of the run closed: the run is free (or goes to the waiting request). */
  drop(run: string, subject: string): ControlOutcome | null {
    const c = this.runs.get(run);
    if (!c?.holder || c.holder.subject !== subject) return null;
    const t = this.now();
    const next = c.request ? { subject: c.request.subject, role: c.request.role } : null;
    const by = { subject: c.holder.subject, role: c.holder.role };
    this.clearRequest(c);
    c.holder = next && { ...next, since: t };
    return this.changed(run, c, { at: t, event: 'dropped', by, to: next });
  }

  /** Runs whose control `subject` holds. */
  heldBy(subject: string): string[] {
    return [...this.runs].filter(([, c]) => c.holder?.subject === subject).map(([run]) => run);
  }

  forget(run: string): void {
    const c = this.runs.get(run);
    if (c) this.clearRequest(c);
    this.runs.delete(run);
  }

  close(): void {
    for (const c of this.runs.values()) this.clearRequest(c);
  }

  private expire(run: string, subject: string): void {
    const c = this.runs.get(run);
    if (!c?.request || c.request.subject !== subject) return;
    const requester = { subject: c.request.subject, role: c.request.role };
    c.request = null;
    this.changed(run, c, { at: this.now(), event: 'expired', by: requester, to: null });
  }

  private control(run: string): RunControl {
    let c = this.runs.get(run);
    if (!c) this.runs.set(run, (c = { holder: null, request: null, history: [] }));
    return c;
  }

  private clearRequest(c: RunControl): void {
    c.request?.timer.cancel();
    c.request = null;
  }

  private changed(run: string, c: RunControl, handoff: ControlHandoff): ControlOutcome {
    c.history.push(handoff);
    if (c.history.length > MAX_CONTROL_HISTORY)
      c.history.splice(0, c.history.length - MAX_CONTROL_HISTORY);
    const state = this.state(run);
    this.emit('change', state, handoff);
    return { ok: true, state, handoff };
  }
}
