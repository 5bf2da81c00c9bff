import { createHash } from 'node:crypto';
import type {
  CommandRequest,
  ControlAction,
  ControlParty,
  GatewayToProducer,
  GatewayToViewer,
  ParameterValues,
  ProducerToGateway,
  SiteDecisionRequest,
  SteeringKind,
  ViewerToGateway,
} from '@/lib/protocol';

/** A value an audit summary may hold: JSON, nothing else. */
export type AuditValue =
  string | number | boolean | null | readonly AuditValue[] | { readonly [key: string]: AuditValue };

declare const summaryBrand: unique symbol;

/**
 * The arguments of a request as the audit stores them: built only by the functions below, field by
 * field from a request that already passed its lib/protocol schema, so a raw body (and any field
 * the schema does not name: `apiKey`, `x-api-token`, a token ten levels deep) cannot reach the log.
 */
export type AuditArgs = { readonly [key: string]: AuditValue } & { readonly [summaryBrand]: true };

const shaped = (args: { readonly [key: string]: AuditValue }) => args as AuditArgs;

type Summary<K extends SteeringKind> = (
  request: Extract<CommandRequest, { kind: K }>,
) => Record<string, AuditValue>;

/**
 * The allow-list: per command kind, the fields of its schema the audit keeps. A field added to a
 * schema stays out of the log until it is named here; a field renamed fails the type check.
 */
const COMMAND_SUMMARY: { [K in SteeringKind]: Summary<K> } = {
  zoom: (c) => ({ region: { x: [...c.region.x], y: [...c.region.y], z: [...c.region.z] } }),
  'reset-zoom': () => ({}),
  pause: () => ({}),
  resume: () => ({}),
  capture: (c) => ({ preCount: c.preCount ?? null, durationS: c.durationS ?? null }),
  'set-parameters': (c) => ({ values: parameterSummary(c.values) }),
  'centre-sweep': (c) => ({ count: c.count, step: c.step, centre: c.centre ?? null }),
  'set-slices': (c) => ({
    positions: {
      xy: c.positions.xy ?? null,
      xz: c.positions.xz ?? null,
      yz: c.positions.yz ?? null,
    },
  }),
  resubmit: (c) => ({
    system: c.system ?? null,
    nodes: c.nodes ?? null,
    walltimeSeconds: c.walltimeSeconds ?? null,
  }),
};

/**
 * Declared parameters' values: numbers, booleans and regions as set; a string only when it looks
 * like an enum choice (`shepp-logan`), since a parameter name is the consumer's and a value of an
 * undeclared one could be anything — other strings are kept as their length.
 */
function parameterSummary(values: ParameterValues): Record<string, AuditValue> {
  const out: Record<string, AuditValue> = {};
  for (const [name, v] of Object.entries(values)) {
    if (typeof v === 'string')
      out[name] = /^[a-z][a-z0-9-]{0,23}$/.test(v) ? v : `<text, ${v.length} characters>`;
    else if (v !== null && typeof v === 'object')
      out[name] = { x: [...v.x], y: [...v.y], z: [...v.z] };
    else out[name] = v;
  }
  return out;
}

/** The audit's view of a steering request that passed `CommandRequest`. */
export function summarizeCommand(request: CommandRequest): AuditArgs {
  const summary = COMMAND_SUMMARY[request.kind] as (
    r: CommandRequest,
  ) => Record<string, AuditValue>;
  return shaped(summary(request));
}

/** The audit's view of a site decision that passed `SiteDecisionRequest` (or of a resubmit's). */
export function summarizeSiteDecision(
  decision: Pick<SiteDecisionRequest, 'system' | 'recommended'> & {
    note?: string | null | undefined;
    override?: boolean;
    decision?: number;
  },
): AuditArgs {
  return shaped({
    system: decision.system,
    recommended: decision.recommended,
    ...(decision.note != null && { note: decision.note }),
    ...(decision.override !== undefined && { override: decision.override }),
    ...(decision.decision !== undefined && { decision: decision.decision }),
  });
}

/** A share link's lifetime (the link's token is never part of it). */
export function summarizeShare(request: { ttlHours: number }): AuditArgs {
  return shaped({ ttlHours: request.ttlHours });
}

/** A share link's revocation: which link (its id, never its token). */
export function summarizeShareRevocation(link: string): AuditArgs {
  return shaped({ link });
}

/** A control action and the hands it concerns (subjects and roles, never tokens). */
export function summarizeControl(control: {
  action: ControlAction | 'expire' | 'drop';
  holder: ControlParty | null;
  requester?: ControlParty | null;
}): AuditArgs {
  return shaped({
    action: control.action,
    holder: control.holder && { subject: control.holder.subject, role: control.holder.role },
    ...(control.requester && {
      requester: { subject: control.requester.subject, role: control.requester.role },
    }),
  });
}

/** A command's progress as its consumer or the gateway reported it. */
export function summarizeProgress(progress: {
  command: string;
  requestedBy: string;
  artifact?: string | undefined;
}): AuditArgs {
  return shaped({
    command: progress.command,
    requestedBy: progress.requestedBy,
    ...(progress.artifact !== undefined && { artifact: progress.artifact }),
  });
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: AuditValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as { readonly [key: string]: AuditValue };
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k]!)}`)
    .join(',')}}`;
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export const argsHash = (args: AuditArgs): string => sha256(canonicalJson(args));

type EventName =
  keyof ViewerToGateway | keyof GatewayToViewer | keyof ProducerToGateway | keyof GatewayToProducer;

/** Every event name of the protocol's typed event maps (the type check keeps the list complete). */
const EVENT_NAMES: Record<EventName, true> = {
  'run:subscribe': true,
  'run:unsubscribe': true,
  'command:send': true,
  'control:send': true,
  'view:display': true,
  'control:state': true,
  runs: true,
  'run:update': true,
  frame: true,
  'protocol:error': true,
  'command:state': true,
  'run:metrics': true,
  'viewer:disconnect': true,
  'run:elsewhere': true,
  facilities: true,
  'run:register': true,
  'run:state': true,
  'command:update': true,
  command: true,
  'run:superseded': true,
  'gateway:restarting': true,
};

/**
 * The audit action for a socket event: `socket:<name>` for an event of the protocol, one fixed
 * `socket:unknown` for anything else, so a client cannot write what it likes into the log by
 * naming an event (nor split the refusal counts into a row per name).
 */
export function socketAction(event: unknown): string {
  return typeof event === 'string' && Object.hasOwn(EVENT_NAMES, event)
    ? `socket:${event}`
    : 'socket:unknown';
}
