import type { ControlAction, IdentitySource, Role, SteeringKind } from '@/lib/protocol';

/**
 * Who is asking, as policy needs it: the gateway's authenticated Identity, or the browser's
 * SessionAnswer (which offers only what this same function allows; the gateway decides again).
 */
export interface PolicyIdentity {
  subject: string;
  role: Role;
  runs: readonly string[];
  source: IdentitySource;
}

/** Everything the gateway authorises, REST and socket alike. */
export type Action =
  | { kind: 'run:list' }
  | { kind: 'run:read'; run: string }
  | { kind: 'command'; command: SteeringKind; run: string }
  /** Request, answer, release or take a run's control (who holds it is ControlLease's). */
  | { kind: 'control'; action: ControlAction; run: string }
  | { kind: 'frame:publish'; run: string }
  /** A producer registers (or resumes) `run`; `owner`: who last published it, if anyone. */
  | { kind: 'run:register'; run: string; owner: { subject: string; online: boolean } | null }
  | { kind: 'site:decide' }
  | { kind: 'share:create'; run: string }
  | { kind: 'share:list'; run: string }
  | { kind: 'share:revoke'; run: string }
  | { kind: 'audit:read' }
  | { kind: 'facilities:read' };

export interface Decision {
  allowed: boolean;
  reason: string;
}

const allow = (reason: string): Decision => ({ allowed: true, reason });
const deny = (reason: string): Decision => ({ allowed: false, reason });

/**
 * Whether a producer's scope covers `run`: listed by name, `*` (any run), or a prefix ending in
 * `*` (`e2e-*`).
 */
export function inProducerScope(identity: PolicyIdentity, run: string): boolean {
  return identity.runs.some(
    (r) => r === run || (r.endsWith('*') && run.startsWith(r.slice(0, -1))),
  );
}

/**
 * Whether `identity` may steer `run` at all (the browser's question before it offers controls):
 * every steering command has the one rule of the `command` case below.
 */
export function steeringDecision(identity: PolicyIdentity, run: string): Decision {
  return authorize(identity, { kind: 'command', command: 'pause', run });
}

/**
 * The one place roles are turned into permissions; anything not granted here is refused.
 * producer: publishes only the runs in its scope, and never takes over a run another producer
 * identity owns (unless it is the run's named producer resuming an offline run, or a job the
 * gateway minted a token for). viewer: reads (a share link: its run only). scientist: reads,
 * steers and shares the runs they belong to, and requests, grants and releases their control.
 * staff: everything a scientist can on every run, plus taking a run's control, site decisions and
 * the audit log.
 */
export function authorize(identity: PolicyIdentity, action: Action): Decision {
  const { role, subject } = identity;
  const member = (run: string) => identity.runs.includes(run);
  switch (action.kind) {
    case 'frame:publish':
      if (role !== 'producer') return deny(`a ${role} cannot publish frames`);
      return inProducerScope(identity, action.run)
        ? allow(`${subject} publishes run ${action.run}`)
        : deny(`${subject} may not publish run ${action.run}`);
    case 'run:register': {
      if (role !== 'producer') return deny(`a ${role} cannot publish runs`);
      const { run, owner } = action;
      if (!inProducerScope(identity, run)) return deny(`${subject} may not publish run ${run}`);
      if (owner === null) return allow(`run ${run} is new to the gateway or has no producer yet`);
      if (owner.subject === subject) return allow(`${subject} resumes its run ${run}`);
      if (identity.source === 'job')
        return allow(`a job the gateway submitted for run ${run} takes it over`);
      if (member(run) && !owner.online)
        return allow(`${subject} is named for run ${run} and resumes it from ${owner.subject}`);
      return deny(
        `run ${run} belongs to producer ${owner.subject}${owner.online ? ', which is streaming it' : ''}`,
      );
    }
    case 'run:list':
    case 'facilities:read':
      return role === 'producer' ? deny('producers do not read') : allow(`a ${role} may read`);
    case 'run:read':
      if (role === 'producer') return deny('producers do not read');
      if (identity.source === 'share' && !member(action.run))
        return deny('this share link opens another run');
      return allow(`a ${role} may watch`);
    case 'command':
    case 'share:create':
    case 'share:list':
    case 'share:revoke':
      if (role === 'staff') return allow('staff steer every run');
      if (role === 'scientist') {
        return member(action.run)
          ? allow(`${identity.subject} belongs to run ${action.run}`)
          : deny(`${identity.subject} does not belong to run ${action.run}`);
      }
      return deny(`a ${role} cannot steer`);
    case 'control':
      if (action.action === 'take')
        return role === 'staff'
          ? allow('staff may take control of any run')
          : deny(`only staff take control, a ${role} requests it`);
      if (role === 'staff') return allow('staff steer every run');
      if (role === 'scientist')
        return member(action.run)
          ? allow(`${identity.subject} belongs to run ${action.run}`)
          : deny(`${identity.subject} does not belong to run ${action.run}`);
      return deny(`a ${role} cannot steer`);
    case 'site:decide':
      return role === 'staff'
        ? allow('staff decide sites')
        : deny(`only staff decide sites, not a ${role}`);
    case 'audit:read':
      return role === 'staff' || role === 'scientist'
        ? allow(`a ${role} may read the audit log`)
        : deny(`a ${role} cannot read the audit log`);
  }
}
