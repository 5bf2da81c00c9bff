import type { Command, CommandReply, CommandUpdate } from './commands';
import type { ControlSend, ControlSendReply, ControlState } from './control';
import type { FrameHeader } from './frame';
import type { CommandRecord, CommandSend, CommandSendReply } from './steering';
import type {
  Ack,
  ProtocolError,
  RegisterReply,
  RunRegistration,
  RunStateReport,
  RunSummary,
  SubscribeReply,
  SubscribeRequest,
} from './messages';
import type { ProducerMetrics } from './producerMetrics';
import type { DisconnectNotice, RunMetrics } from './runMetrics';
import type { SystemSnapshot } from './facilities';
import type { GatewayRestarting } from './restart';
import type { RunSuperseded } from './eventTables';
import type { RunElsewhere } from './cluster';
import type { ViewerDisplay } from './viewerDisplay';

/** Engine paths: producers and viewers use separate engines so each gets its own message-size cap. */
export const VIEWER_SOCKET_PATH = '/socket.io';
export const PRODUCER_SOCKET_PATH = '/ingest';
export const VIEWER_NAMESPACE = '/viewer';
export const PRODUCER_NAMESPACE = '/producer';

/** Binary attachment as each side sees it: Node hands Buffers, browsers ArrayBuffers. */
export type BinaryPayload = ArrayBuffer | Uint8Array;

/** Events a producer (HPC consumer) sends to the gateway. */
export interface ProducerToGateway {
  'run:register': (registration: RunRegistration, reply: (answer: RegisterReply) => void) => void;
  /** One frame: header plus exactly one binary attachment; `reply` is optional flow control. */
  frame: (header: FrameHeader, payload: BinaryPayload, reply?: (answer: Ack) => void) => void;
  'run:state': (report: RunStateReport, reply?: (answer: Ack) => void) => void;
  /** Outcome of a command this producer first answered `accepted`. */
  'command:update': (update: CommandUpdate, reply?: (answer: Ack) => void) => void;
  /** The consumer's speed, about once a second. */
  'run:metrics': (sample: ProducerMetrics) => void;
}

/** Events the gateway sends to a producer. */
export interface GatewayToProducer {
  'protocol:error': (error: ProtocolError) => void;
  /** A steering command for one of this producer's runs; the producer answers each exactly once. */
  command: (command: Command, reply: (answer: CommandReply) => void) => void;
  /**
   * Another consumer (a resubmitted job) now streams this run; this one should stop and not
   * reconnect. The gateway disconnects it right after.
   */
  'run:superseded': (notice: RunSuperseded) => void;
  /** The gateway is restarting: reconnect after a jittered `retryAfterMs`, do not give up. */
  'gateway:restarting': (notice: GatewayRestarting) => void;
}

/** Events a viewer (browser) sends to the gateway. */
export interface ViewerToGateway {
  'run:subscribe': (request: SubscribeRequest, reply: (answer: SubscribeReply) => void) => void;
  'run:unsubscribe': (request: SubscribeRequest) => void;
  /** A steering command, authorised and recorded exactly as over REST. */
  'command:send': (request: CommandSend, reply: (answer: CommandSendReply) => void) => void;
  /** Request, grant, deny, release or take the run's control (one hand on the controls). */
  'control:send': (request: ControlSend, reply: (answer: ControlSendReply) => void) => void;
  /** This viewer's slice views as drawn (sizes, zoomed regions) and its link mode. */
  'view:display': (display: ViewerDisplay) => void;
}

/** Events the gateway sends to a viewer. */
export interface GatewayToViewer {
  runs: (runs: RunSummary[]) => void;
  'run:update': (run: RunSummary) => void;
  /** A frame; the viewer calls `received` once it has taken it, which frees the slot in flight. */
  frame: (header: FrameHeader, payload: BinaryPayload, received: () => void) => void;
  'protocol:error': (error: ProtocolError) => void;
  /** A command on a run this viewer follows changed state. */
  'command:state': (command: CommandRecord) => void;
  /** Who holds a followed run's control, the pending request, the latest handoffs. */
  'control:state': (state: ControlState) => void;
  /** About once a second per followed run: flow counters, stream rates, producer health. */
  'run:metrics': (metrics: RunMetrics) => void;
  /** Sent just before the gateway disconnects a viewer that stopped taking frames. */
  'viewer:disconnect': (notice: DisconnectNotice) => void;
  /** Every compute system's latest snapshot, sent on connect and whenever one changes. */
  facilities: (systems: SystemSnapshot[]) => void;
  /** The gateway is restarting: reconnect after a jittered `retryAfterMs`, do not give up. */
  'gateway:restarting': (notice: GatewayRestarting) => void;
  /** In a cluster: this run is served by another gateway (its owner); go there. */
  'run:elsewhere': (notice: RunElsewhere) => void;
}
