import type { Socket } from 'socket.io';
import {
  ConnectAuth,
  type ConnectRefusal,
  PROTOCOL_VERSION,
  type RefusalCode,
} from '@/lib/protocol';
import { ANONYMOUS_VIEWER, type Identity, type Role, type TokenVerifier } from './Identity';

export class RefusedError extends Error {
  readonly data: ConnectRefusal;
  constructor(code: RefusalCode, message: string) {
    super(message);
    this.data = { code, message, serverVersion: PROTOCOL_VERSION };
  }
}

export interface SocketAuthOptions {
  users: TokenVerifier;
  /** Roles admitted on this namespace. */
  roles: readonly Role[];
  /** Admit callers without a token as read-only viewers. */
  allowAnonymous: boolean;
}

/**
 * Socket.IO middleware: checks the protocol version first (so an old client learns it is old, not
 * that its token is wrong), then the bearer token and the role; stores the identity on the socket.
 */
export function authenticateSocket(options: SocketAuthOptions) {
  return async (socket: Socket, next: (err?: Error) => void): Promise<void> => {
    const parsed = ConnectAuth.safeParse(socket.handshake.auth);
    if (!parsed.success) {
      next(
        new RefusedError(
          'bad-request',
          'handshake auth must be { protocolVersion: number, token?: string }',
        ),
      );
      return;
    }
    const { protocolVersion, token } = parsed.data;
    if (protocolVersion < PROTOCOL_VERSION) {
      next(
        new RefusedError(
          'client-too-old',
          `client speaks protocol ${protocolVersion}, this gateway ${PROTOCOL_VERSION}: update the client`,
        ),
      );
      return;
    }
    if (protocolVersion > PROTOCOL_VERSION) {
      next(
        new RefusedError(
          'server-too-old',
          `client speaks protocol ${protocolVersion}, this gateway only ${PROTOCOL_VERSION}: update the gateway`,
        ),
      );
      return;
    }
    let identity: Identity | null;
    if (token === undefined) {
      identity = options.allowAnonymous ? ANONYMOUS_VIEWER : null;
      if (!identity) {
        next(new RefusedError('unauthorized', 'a bearer token is required'));
        return;
      }
    } else {
      identity = await options.users.verify(token);
      if (!identity) {
        next(new RefusedError('unauthorized', 'invalid token'));
        return;
      }
    }
    if (!options.roles.includes(identity.role)) {
      next(new RefusedError('forbidden', `role ${identity.role} may not connect here`));
      return;
    }
    socket.data.identity = identity;
    next();
  };
}
