import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance } from 'fastify';
import { LOOPBACK_HOSTS, hostAllowed } from '@/lib/hostAllowed';

export interface RequestGuardOptions {
  /**
   * Host header values served: `host:port` exactly, or `host` on any port. Default: the loopback
   * names (localhost, 127.0.0.1, [::1]) on any port.
   */
  allowedHosts?: readonly string[];
  /** Proxies whose X-Forwarded-* headers are believed (IPs, CIDRs, `loopback`); default none. */
  trustedProxies?: readonly string[];
  /** Origins (exact `scheme://host[:port]`) allowed besides the one a request was addressed to. */
  allowedOrigins?: readonly string[];
}

/** How many requests each guard refused since start, by reason (for tests and figures). */
export interface GuardCounters {
  host: number;
  origin: number;
}

export interface RequestGuards {
  /** Fastify's `trustProxy`: the same rule decides for REST and for both Socket.IO engines. */
  readonly trust: (address: string, hop: number) => boolean;
  readonly refused: GuardCounters;
  /** Why this request names a Host Loupe does not serve, or null when it is fine. */
  hostRefusal(req: IncomingMessage): string | null;
  /** Why a browser's Origin on this request is not allowed, or null when it is fine. */
  originRefusal(req: IncomingMessage): string | null;
  /** The host the client addressed: X-Forwarded-Host from a trusted proxy, else Host. */
  addressedHost(req: IncomingMessage): string | undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim().toLowerCase() || undefined;
}

/**
 * The Host allow-list (DNS rebinding: a page on evil.example that resolves to 127.0.0.1 reaches
 * Loupe with `Host: evil.example`, and its Origin matches that Host, so only the Host tells), the
 * Origin check for browsers, and which proxies may speak for a client. One object so REST and
 * both Socket.IO engines apply the same rules.
 */
export function requestGuards(options: RequestGuardOptions = {}): RequestGuards {
  const allowed = options.allowedHosts ?? LOOPBACK_HOSTS;
  const trust = proxyAddr.compile([...(options.trustedProxies ?? [])]);
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const refused: GuardCounters = { host: 0, origin: 0 };
  const isAllowed = (host: string) => hostAllowed(host, allowed);
  const fromTrustedProxy = (req: IncomingMessage) => {
    const address = req.socket.remoteAddress;
    return address !== undefined && trust(address, 0);
  };
  const addressedHost = (req: IncomingMessage) => {
    const forwarded = fromTrustedProxy(req) ? first(req.headers['x-forwarded-host']) : undefined;
    return forwarded ?? first(req.headers.host);
  };

  return {
    trust,
    refused,
    addressedHost,
    hostRefusal(req) {
      const host = first(req.headers.host);
      let reason: string | null = null;
      if (!host) reason = 'a Host header is required';
      else if (!isAllowed(host)) reason = `host ${host} is not served here`;
      else {
        // A trusted proxy (the UI's Next server) names the host the browser asked for; that one
        // must be allowed too. From anyone else the header is ignored, never believed.
        const forwarded = fromTrustedProxy(req)
          ? first(req.headers['x-forwarded-host'])
          : undefined;
        if (forwarded !== undefined && !isAllowed(forwarded))
          reason = `host ${forwarded} is not served here`;
      }
      if (reason) refused.host++;
      return reason;
    },
    originRefusal(req) {
      const origin = req.headers.origin;
      if (origin === undefined) return null;
      if (allowedOrigins.has(origin)) return null;
      let host: string | null = null;
      try {
        const url = new URL(origin);
        // Exact match only: `null`, a path, or userinfo never pass as an origin.
        if (url.origin === origin) host = url.host;
      } catch {
        // not a URL (e.g. the opaque origin "null")
      }
      const addressed = addressedHost(req);
      if (host !== null && addressed !== undefined && host === addressed && isAllowed(host))
        return null;
      refused.origin++;
      return `origin ${origin} is not allowed`;
    },
  };
}

/**
 * The first hook of every request: a Host Loupe does not serve is refused before routing,
 * authentication or any body is read.
 */
export function installHostCheck(app: FastifyInstance, guards: RequestGuards): void {
  app.addHook('onRequest', async (request, reply) => {
    const refusal = guards.hostRefusal(request.raw);
    if (refusal) return reply.code(403).send({ error: refusal });
  });
}

/**
 * For a Socket.IO engine's `allowRequest`: the Host check on every engine request, and for the
 * browsers' engine the Origin check too (cross-site WebSocket hijacking).
 */
export function engineRequestRefusal(
  guards: RequestGuards,
  req: IncomingMessage,
  browser: boolean,
): string | null {
  return guards.hostRefusal(req) ?? (browser ? guards.originRefusal(req) : null);
}
