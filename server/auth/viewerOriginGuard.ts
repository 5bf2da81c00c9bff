import type { Socket } from 'socket.io';
import { RefusedError } from './authenticateSocket';

/**
 * Browsers' namespace: a handshake must show it comes from a page Loupe serves. Browsers send
 * Origin on every WebSocket handshake and cross-origin request (checked, exact match, at the
 * engine's allowRequest), and Sec-Fetch-Site on the same-origin long-polling GET that carries no
 * Origin. A handshake with neither is not a browser on Loupe's page: it must present a bearer
 * token (tests, scripts, benches), or it is refused. `Origin: null` (sandboxed frames, file:)
 * never passes.
 */
export function viewerOriginGuard() {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const headers = socket.handshake.headers;
    const origin = headers.origin;
    const fetchSite = headers['sec-fetch-site'];
    if (origin === 'null') {
      next(new RefusedError('forbidden', 'origin null is not allowed'));
      return;
    }
    if (fetchSite !== undefined && fetchSite !== 'same-origin' && origin === undefined) {
      next(new RefusedError('forbidden', `a ${String(fetchSite)} request may not open a viewer`));
      return;
    }
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const hasToken = typeof auth?.token === 'string' && auth.token.length > 0;
    if (origin === undefined && fetchSite !== 'same-origin' && !hasToken) {
      next(
        new RefusedError(
          'forbidden',
          'no Origin: a browser page of this Loupe, or a bearer token, is required',
        ),
      );
      return;
    }
    next();
  };
}
