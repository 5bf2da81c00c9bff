import type { IncomingMessage } from 'node:http';

/**
 * Browsers send Origin on cross-site requests and WebSocket handshakes; a page on another site
 * must not steer. Allowed: the configured origins, and the origin the request was addressed to
 * (the UI's, as Next forwards it in X-Forwarded-Host, or the gateway's own). No Origin (curl, a
 * consumer, a test client) is allowed: those authenticate with bearer tokens, never cookies.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const forwarded = req.headers['x-forwarded-host'];
  const addressed =
    (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() ??
    req.headers.host;
  return host === addressed;
}
