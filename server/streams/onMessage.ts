import type { z } from 'zod';
import type { EventSpec, ProtocolError } from '@/lib/protocol';

/**
 * A refusal a handler throws: the sender hears `code` and `message` (as `protocol:error`, and in
 * the reply when it asked for one). Anything else a handler throws is a bug and propagates.
 */
export class MessageRefusal extends Error {
  override readonly name = 'MessageRefusal';
  constructor(
    readonly code: ProtocolError['code'],
    message: string,
  ) {
    super(message);
  }
}

/** What a handler gets besides the parsed payload. */
export interface Message<Reply> {
  /** The binary attachment of an event that carries one (a frame's pixels), unchecked. */
  binary: unknown;
  /** The sender's acknowledgement, for a handler that answers later (a frame's flow control). */
  reply: ((answer: Reply) => void) | undefined;
}

type Payload<S extends EventSpec> = z.output<S['payload']>;
type ReplyOf<S extends EventSpec> = S['reply'] extends z.ZodType ? z.input<S['reply']> : never;

/** The part of a Socket.IO socket the helper uses (typed sockets' own `on` is per event name). */
export interface MessageSocket {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: 'protocol:error', error: ProtocolError): unknown;
}

export interface MessageOptions<S extends EventSpec> {
  /** Names the payload in refusals: `invalid ${label}: …` (default: the event's name). */
  label?: string;
  /** The reply a refusal sends, for events whose reply is not an Ack (`{ ok: false, error }`). */
  refusal?: (code: ProtocolError['code'], message: string) => ReplyOf<S>;
  /**
   * Told of each payload that does not parse, before it is refused (counters, the audit): the
   * reason sent, and the first zod issue's code (a fixed vocabulary, safe to count by).
   */
  onInvalid?: (raw: unknown, reason: string, issueCode: string) => void;
  /** Refusals go in the reply only, never as `protocol:error` (a reply the sender reads anyway). */
  quiet?: true;
}

export interface MessageRouter<T extends Record<string, EventSpec>> {
  /**
   * Handles `event` of the table: the payload parsed with the table's schema, a refusal typed
   * (MessageRefusal) and answered, the handler's return value sent as the reply.
   */
  on<E extends keyof T & string>(
    event: E,
    handler: (
      payload: Payload<T[E]>,
      message: Message<ReplyOf<T[E]>>,
    ) => ReplyOf<T[E]> | void | Promise<ReplyOf<T[E]> | void>,
    options?: MessageOptions<T[E]>,
  ): void;
}

/**
 * The one way a socket's handlers are registered, on either namespace. `announce`: whether a
 * refusal is also sent as `protocol:error` when the sender gets a reply (producers: yes, so an
 * SDK logs every refusal; viewers: the reply says it, an event would be a second notice). A
 * message without a reply always gets its refusal as `protocol:error`.
 */
export function messageRouter<T extends Record<string, EventSpec>>(
  socket: MessageSocket,
  table: T,
  announce: boolean,
): MessageRouter<T> {
  return {
    on(event, handler, options = {}) {
      const spec: T[typeof event] = table[event];
      socket.on(event, (...args: unknown[]) => {
        const last = args[args.length - 1];
        const reply =
          typeof last === 'function' ? (args.pop(), (answer: unknown) => last(answer)) : undefined;
        const refuse = (code: ProtocolError['code'], message: string) => {
          if (!reply || (announce && !options.quiet))
            socket.emit('protocol:error', { code, message, event });
          reply?.(options.refusal ? options.refusal(code, message) : { ok: false, error: message });
        };
        if (spec.reply && !spec.replyOptional && !reply)
          return refuse('invalid-message', `${event} needs an acknowledgement callback`);
        const expected = spec.binary ? 2 : 1;
        if (spec.binary && args.length !== expected)
          return refuse(
            'invalid-message',
            `${event} is (payload, one binary attachment); got ${args.length} arguments`,
          );
        const parsed = spec.payload.safeParse(args[0]);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
          const reason = `invalid ${options.label ?? event}: ${where}${issue?.message ?? 'malformed'}`;
          options.onInvalid?.(args[0], reason, issue?.code ?? 'malformed');
          return refuse('invalid-message', reason);
        }
        const answer = (value: ReplyOf<T[typeof event]> | void) => {
          if (value !== undefined) reply?.(value);
        };
        const fail = (error: unknown) => {
          if (!(error instanceof MessageRefusal)) throw error;
          refuse(error.code, error.message);
        };
        try {
          // parsed by T[E]['payload'] itself; the EventSpec constraint only hides its output type.
          const payload = parsed.data as Payload<T[typeof event]>;
          const result = handler(payload, { binary: args[1], reply });
          if (result instanceof Promise) result.then(answer, fail);
          else answer(result);
        } catch (error) {
          fail(error);
        }
      });
    },
  };
}
