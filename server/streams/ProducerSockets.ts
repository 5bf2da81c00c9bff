import type { Namespace, Socket } from 'socket.io';
import {
  type Command,
  type CommandUpdate,
  FrameError,
  frameBytes,
  type GatewayToProducer,
  PRODUCER_TO_GATEWAY,
  type ProducerToGateway,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import { MessageRefusal, messageRouter } from './onMessage';
import type { RunRegistry } from './RunRegistry';

interface ProducerData {
  identity: Identity;
  /** The runs this socket registered and still streams (a supersede takes them away). */
  runs?: Set<string>;
}

export type ProducerNamespace = Namespace<
  ProducerToGateway,
  GatewayToProducer,
  Record<string, never>,
  ProducerData
>;
type ProducerSocket = Socket<
  ProducerToGateway,
  GatewayToProducer,
  Record<string, never>,
  ProducerData
>;

/**
 * How steering reaches a run's consumer, as CommandService sees it: a port, so the service can be
 * tested with an in-memory fake, and so nothing but ProducerSockets touches a producer socket.
 */
export interface CommandTransport {
  /** Whether the run's consumer is connected (a command can be offered now). */
  reachable(run: string): boolean;
  /**
   * Offers `command` to its run's consumer; `answered` gets its reply, unparsed, or `undefined`
   * when it did not answer within `timeoutMs` (or was not connected).
   */
  send(command: Command, timeoutMs: number, answered: (reply: unknown) => void): void;
  /**
   * The one listener of consumers' `command:update`s; it answers `null` when the update was
   * taken, or why not. `from` is the sending producer's connection.
   */
  onUpdate(listener: (update: CommandUpdate, from: string) => string | null): void;
}

/**
 * The owner of the producer namespace: every handler (registration, frames, state, metrics,
 * command updates), the supersede of a run's previous consumer, the record of which socket
 * streams which runs, and the command transport. Messages are authorised before they get here
 * (authorizeProducerMessages) and parsed here, through the event table, by messageRouter.
 */
export class ProducerSockets implements CommandTransport {
  private updateListener: ((update: CommandUpdate, from: string) => string | null) | null = null;

  constructor(
    private readonly ns: ProducerNamespace,
    private readonly registry: RunRegistry,
  ) {
    ns.on('connection', (socket: ProducerSocket) => this.attach(socket));
  }

  reachable(run: string): boolean {
    return this.socketOf(run) !== undefined;
  }

  send(command: Command, timeoutMs: number, answered: (reply: unknown) => void): void {
    const socket = this.socketOf(command.run);
    if (!socket) return answered(undefined);
    socket
      .timeout(timeoutMs)
      .emit('command', command, (err: Error | null, reply: unknown) =>
        answered(err ? undefined : reply),
      );
  }

  onUpdate(listener: (update: CommandUpdate, from: string) => string | null): void {
    this.updateListener = listener;
  }

  private socketOf(run: string): ProducerSocket | undefined {
    const id = this.registry.producerOf(run);
    return id ? this.ns.sockets.get(id) : undefined;
  }

  /** Tells whoever streamed `run` before `by` (a resubmitted job's predecessor) to stop. */
  private supersede(run: string, by: ProducerSocket): void {
    for (const [id, socket] of this.ns.sockets) {
      // Only a socket other than the registering one: a reconnect is not superseded.
      if (id === by.id || this.registry.producerOf(run) !== by.id) continue;
      if (!socket.data.runs?.has(run)) continue;
      socket.data.runs.delete(run);
      socket.emit('run:superseded', {
        run,
        reason: `run ${run} is now streamed by a newer consumer`,
      });
      if (socket.data.runs.size === 0) socket.disconnect(true);
    }
  }

  private attach(socket: ProducerSocket): void {
    const registry = this.registry;
    const router = messageRouter(socket, PRODUCER_TO_GATEWAY, true);

    socket.onAny((event: string) => {
      if (!(event in PRODUCER_TO_GATEWAY))
        socket.emit('protocol:error', {
          code: 'invalid-message',
          message: `unknown event ${JSON.stringify(event)}`,
          event,
        });
    });

    router.on(
      'run:register',
      (registration) => {
        const lastKept = registry.register(registration, socket.id, socket.data.identity.subject);
        (socket.data.runs ??= new Set()).add(registration.run);
        // Once this registration has taken the run and been answered.
        setImmediate(() => this.supersede(registration.run, socket));
        return { ok: true as const, run: registration.run, lastKept };
      },
      { label: 'registration' },
    );

    router.on(
      'frame',
      (header, { binary, reply }) => {
        let bytes: Uint8Array;
        try {
          bytes = frameBytes(header, binary);
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          registry.noteRejected(header.run, socket.id);
          throw new MessageRefusal('invalid-message', error.message);
        }
        // Acknowledged as soon as it is accepted, before the fan-out to the viewers: the producer's
        // round trip (and so how much it may send) does not grow with the number of viewers.
        const verdict = registry.accept(
          header,
          bytes,
          socket.id,
          reply ? () => reply({ ok: true }) : undefined,
        );
        if (verdict.ok) return;
        if (verdict.unauthorized) registry.noteRefusedPush(header.run);
        else registry.noteRejected(header.run, socket.id);
        throw new MessageRefusal('unknown-run', verdict.error);
      },
      {
        label: 'frame header',
        onInvalid: (raw) => {
          const run = raw !== null && typeof raw === 'object' && 'run' in raw ? raw.run : undefined;
          if (typeof run === 'string') registry.noteRejected(run, socket.id);
        },
      },
    );

    router.on(
      'run:state',
      (report) => {
        const error = registry.setState(report.run, socket.id, report.state, report.message);
        if (error) throw new MessageRefusal('unknown-run', error);
        return { ok: true as const };
      },
      { label: 'state report' },
    );

    router.on(
      'run:metrics',
      (sample) => {
        const error = registry.setProducerMetrics(sample, socket.id);
        if (error) throw new MessageRefusal('unknown-run', error);
      },
      { label: 'metrics' },
    );

    router.on(
      'command:update',
      (update) => {
        const error = this.updateListener
          ? this.updateListener(update, socket.id)
          : 'this gateway takes no commands';
        if (error) throw new MessageRefusal('unknown-run', error);
        return { ok: true as const };
      },
      { label: 'command update', quiet: true },
    );

    socket.on('disconnect', () => registry.producerGone(socket.id));
  }
}
