import type { Namespace, Socket } from 'socket.io';
import {
  type Ack,
  decodeFrame,
  FrameError,
  type GatewayToProducer,
  type ProducerToGateway,
  type ProtocolError,
  ProducerMetrics,
  RunRegistration,
  RunStateReport,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { RunRegistry } from './RunRegistry';

export type ProducerNamespace = Namespace<
  ProducerToGateway,
  GatewayToProducer,
  Record<string, never>,
  { identity: Identity; runs?: Set<string> }
>;
type ProducerSocket = Socket<
  ProducerToGateway,
  GatewayToProducer,
  Record<string, never>,
  { identity: Identity; runs?: Set<string> }
>;

// command:update is handled by server/steering, run:metrics by the run metrics; both are known here.
const KNOWN = new Set(['run:register', 'frame', 'run:state', 'command:update', 'run:metrics']);

/** Wires the producer namespace: every message is validated where it enters; refusals go back to the sender. */
export function attachProducerNamespace(ns: ProducerNamespace, registry: RunRegistry): void {
  ns.on('connection', (socket: ProducerSocket) => {
    const refuse = (
      event: string,
      code: ProtocolError['code'],
      message: string,
      reply?: unknown,
    ) => {
      socket.emit('protocol:error', { code, message, event });
      if (typeof reply === 'function') (reply as (a: Ack) => void)({ ok: false, error: message });
    };

    socket.onAny((event: string) => {
      if (!KNOWN.has(event))
        refuse(event, 'invalid-message', `unknown event ${JSON.stringify(event)}`);
    });

    socket.on('run:register', (...args: unknown[]) => {
      const [body, reply] = args;
      if (typeof reply !== 'function')
        return refuse(
          'run:register',
          'invalid-message',
          'run:register needs an acknowledgement callback',
        );
      const parsed = RunRegistration.safeParse(body);
      if (!parsed.success)
        return refuse(
          'run:register',
          'invalid-message',
          `invalid registration: ${parsed.error.issues[0]?.message}`,
          reply,
        );
      const lastKept = registry.register(parsed.data, socket.id, socket.data.identity.subject);
      reply({ ok: true, run: parsed.data.run, lastKept });
    });

    socket.on('frame', (...args: unknown[]) => {
      const reply = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
      if (args.length !== 2) {
        return refuse(
          'frame',
          'invalid-message',
          `a frame is (header, one binary attachment); got ${args.length} arguments`,
          reply,
        );
      }
      try {
        const frame = decodeFrame(args[0], args[1]);
        // Acknowledged as soon as it is accepted, before the fan-out to the viewers: the producer's
        // round trip (and so how much it may send) does not grow with the number of viewers.
        const verdict = registry.accept(
          frame.header,
          new Uint8Array(frame.pixels.buffer, frame.pixels.byteOffset, frame.pixels.byteLength),
          socket.id,
          typeof reply === 'function' ? () => (reply as (a: Ack) => void)({ ok: true }) : undefined,
        );
        if (!verdict.ok) {
          if (verdict.unauthorized) registry.noteRefusedPush(frame.header.run);
          else registry.noteRejected(frame.header.run, socket.id);
          return refuse('frame', 'unknown-run', verdict.error, reply);
        }
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        const run = (args[0] as { run?: unknown } | null)?.run;
        if (typeof run === 'string') registry.noteRejected(run, socket.id);
        refuse('frame', 'invalid-message', error.message, reply);
      }
    });

    socket.on('run:state', (...args: unknown[]) => {
      const [body, reply] = args;
      const parsed = RunStateReport.safeParse(body);
      if (!parsed.success)
        return refuse(
          'run:state',
          'invalid-message',
          `invalid state report: ${parsed.error.issues[0]?.message}`,
          reply,
        );
      const error = registry.setState(
        parsed.data.run,
        socket.id,
        parsed.data.state,
        parsed.data.message,
      );
      if (error) return refuse('run:state', 'unknown-run', error, reply);
      if (typeof reply === 'function') (reply as (a: Ack) => void)({ ok: true });
    });

    socket.on('run:metrics', (...args: unknown[]) => {
      const parsed = ProducerMetrics.safeParse(args[0]);
      if (!parsed.success)
        return refuse(
          'run:metrics',
          'invalid-message',
          `invalid metrics: ${parsed.error.issues[0]?.message}`,
        );
      const error = registry.setProducerMetrics(parsed.data, socket.id);
      if (error) refuse('run:metrics', 'unknown-run', error);
    });

    socket.on('disconnect', () => registry.producerGone(socket.id));
  });
}
