import { z } from 'zod';
import { Command, CommandReply, CommandUpdate } from './commands';
import type {
  GatewayToProducer,
  GatewayToViewer,
  ProducerToGateway,
  ViewerToGateway,
} from './events';
import { FrameHeader, RunId } from './frame';
import { SystemSnapshot } from './facilities';
import {
  Ack,
  ProtocolError,
  RegisterReply,
  RunRegistration,
  RunStateReport,
  RunSummary,
  SubscribeReply,
  SubscribeRequest,
} from './messages';
import { ProducerMetrics } from './producerMetrics';
import { GatewayRestarting } from './restart';
import { DisconnectNotice, RunMetrics } from './runMetrics';
import { CommandRecord, CommandSend, CommandSendReply } from './steering';
import { ControlSend, ControlSendReply, ControlState } from './control';
import { RunElsewhere } from './cluster';
import { ViewerDisplay } from './viewerDisplay';

/** Sent to a producer whose run another consumer (a resubmitted job) now streams. */
export const RunSuperseded = z.object({ run: RunId, reason: z.string().min(1).max(500) }).strict();
export type RunSuperseded = z.infer<typeof RunSuperseded>;

/** Gateway → viewer lists: the runs a viewer may see, every compute system's latest snapshot. */
export const RunSummaryList = z.array(RunSummary);
export const SystemSnapshotList = z.array(SystemSnapshot);

/** One event of one direction: the schema of its payload and, if it takes an acknowledgement, of the reply. */
export interface EventSpec {
  payload: z.ZodType;
  reply?: z.ZodType;
  /** The payload is followed by exactly one binary attachment (the frame's pixels). */
  binary?: true;
  /** The acknowledgement may be omitted by the sender (flow control is optional). */
  replyOptional?: true;
  /** The receiver acknowledges with no value (the viewer's `received()`). */
  bareAck?: true;
}

/**
 * The runtime form of the four event maps of events.ts. `satisfies Record<keyof …>` keeps the two
 * in step: an event added to an interface and not here (or the reverse) fails the typecheck, and
 * the JSON Schema document (lib/protocol/protocol.schema.json) is generated from these tables.
 */
export const PRODUCER_TO_GATEWAY = {
  'run:register': { payload: RunRegistration, reply: RegisterReply },
  frame: { payload: FrameHeader, binary: true, reply: Ack, replyOptional: true },
  'run:state': { payload: RunStateReport, reply: Ack, replyOptional: true },
  'command:update': { payload: CommandUpdate, reply: Ack, replyOptional: true },
  'run:metrics': { payload: ProducerMetrics },
} as const satisfies Record<keyof ProducerToGateway, EventSpec>;

export const GATEWAY_TO_PRODUCER = {
  'protocol:error': { payload: ProtocolError },
  command: { payload: Command, reply: CommandReply },
  'run:superseded': { payload: RunSuperseded },
  'gateway:restarting': { payload: GatewayRestarting },
} as const satisfies Record<keyof GatewayToProducer, EventSpec>;

export const VIEWER_TO_GATEWAY = {
  'run:subscribe': { payload: SubscribeRequest, reply: SubscribeReply },
  'run:unsubscribe': { payload: SubscribeRequest },
  'command:send': { payload: CommandSend, reply: CommandSendReply },
  'control:send': { payload: ControlSend, reply: ControlSendReply },
  'view:display': { payload: ViewerDisplay },
} as const satisfies Record<keyof ViewerToGateway, EventSpec>;

export const GATEWAY_TO_VIEWER = {
  runs: { payload: RunSummaryList },
  'run:update': { payload: RunSummary },
  frame: { payload: FrameHeader, binary: true, bareAck: true },
  'protocol:error': { payload: ProtocolError },
  'command:state': { payload: CommandRecord },
  'control:state': { payload: ControlState },
  'run:metrics': { payload: RunMetrics },
  'viewer:disconnect': { payload: DisconnectNotice },
  facilities: { payload: SystemSnapshotList },
  'gateway:restarting': { payload: GatewayRestarting },
  'run:elsewhere': { payload: RunElsewhere },
} as const satisfies Record<keyof GatewayToViewer, EventSpec>;

/** The four directions, by the names the JSON Schema document uses. */
export const EVENT_TABLES = {
  producerToGateway: PRODUCER_TO_GATEWAY,
  gatewayToProducer: GATEWAY_TO_PRODUCER,
  viewerToGateway: VIEWER_TO_GATEWAY,
  gatewayToViewer: GATEWAY_TO_VIEWER,
} as const;

/** Every event name a direction carries, for code that must list them (the audit, the SDKs). */
export function eventNames<T extends Record<string, EventSpec>>(table: T): (keyof T & string)[] {
  return Object.keys(table) as (keyof T & string)[];
}
