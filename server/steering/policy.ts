import type { SteeringKind } from '@/lib/protocol';
import type { Identity } from '../auth/Identity';

/** Everything the gateway authorises, REST and socket alike. */
export type Action =
  | { kind: 'run:list' }
  | { kind: 'run:read'; run: string }
  | { kind: 'command'; command: SteeringKind; run: string }
  | { kind: 'frame:publish' }
  | { kind: 'site:decide' }
  | { kind: 'share:create'; run: string }
  | { kind: 'audit:read' }
  | { kind: 'facilities:read' };

export interface Decision {
  allowed: boolean;
  reason: string;
}

const allow = (reason: string): Decision => ({ allowed: true, reason });
const deny = (reason: string): Decision => ({ allowed: false, reason });

/**
 * The one place roles are turned into permissions; anything not granted here is refused.
 * producer: publishes only. viewer: reads (a share link: its run only). scientist: reads, steers
 * and shares the runs they belong to. staff: everything a scientist can on every run, plus site
 * decisions and the audit log.
 */
export function authorize(identity: Identity, action: Action): Decision {
  const { role } = identity;
  const member = (run: string) => identity.runs.includes(run);
  switch (action.kind) {
    case 'frame:publish':
      return role === 'producer'
        ? allow('producers publish frames')
        : deny(`a ${role} cannot publish frames`);
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
      if (role === 'staff') return allow('staff steer every run');
      if (role === 'scientist') {
        return member(action.run)
          ? allow(`${identity.subject} belongs to run ${action.run}`)
          : deny(`${identity.subject} does not belong to run ${action.run}`);
      }
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
