import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import proxyAddr from '@fastify/proxy-addr';

/** Settings of the gateway and of `npm start`, from the environment, with the embedded defaults. */
export interface LoupeConfig {
  /** Port of the UI (Next.js). */
  uiPort: number;
  /** Interface the UI listens on. */
  uiHost: string;
  gatewayHost: string;
  gatewayPort: number;
  dbPath: string;
  /** Where consumers on this host (or a shared file system) write captures; served for download. */
  capturesDir: string;
  /** LOUPE_DATABASE_URL: a postgres:// URL selects PostgreSQL as the store instead of dbPath. */
  databaseUrl: string | undefined;
  usersFile: string;
  allowAnonymousViewers: boolean;
  allowedOrigins: string[];
  /**
   * Host header values (`host:port`, or `host` for any port) the UI and the gateway answer; any
   * other Host is refused, which defeats DNS rebinding.
   */
  allowedHosts: string[];
  /** Proxies (IPs, CIDRs, or proxy-addr's `loopback`) whose X-Forwarded-* headers are believed. */
  trustedProxies: string[];
  /** Where the embedded simulator's control token is written for tools and tests (per start). */
  simControlTokenFile: string;
  logLevel: LogLevel;
  demo: boolean;
  /** Secret for share links, created on first start. */
  shareSecretFile: string;
  /** LOUPE_METRICS_TOKEN_FILE: the bearer token a /metrics scrape presents; unset: no /metrics. */
  metricsTokenFile: string | undefined;
  /** OIDC (e.g. Globus Auth) when LOUPE_OIDC_ISSUER is set. */
  oidc: {
    issuer: string;
    audience: string;
    jwksUrl: string;
    roleClaim?: string;
    runsClaim?: string;
  } | null;
  /**
   * Serve the local users' tokens to the sign-in page: only in the embedded default (no OIDC) or
   * when enabled explicitly, and only while the gateway and the UI listen on loopback only.
   */
  devSignIn: boolean;
  /** Where facility state comes from: the embedded simulator, the real services, or nowhere. */
  facilities: 'simulator' | 'real' | 'off';
  /** Simulated seconds per real second, and the seed, of the embedded simulator. */
  simSpeed: number;
  simSeed: number;
  /** Port of the embedded simulator (0: any free one). */
  simPort: number;
  /** One hand on the controls: how long a control request waits for the holder's answer (s). */
  controlRequestTimeoutS: number;
  /** How long a holder whose last page of the run closed keeps control (s): a reload. */
  controlReleaseGraceS: number;
  /** Recording of every run's frames (docs/recording.md); null when LOUPE_RECORDING=off. */
  recording: RecordingConfig | null;
}

export interface RecordingConfig {
  dir: string;
  maxBytesPerRun: number;
  maxBytes: number;
  maxAgeMs: number;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A size in bytes: an integer, optionally with KiB, MiB, GiB or TiB (binary units only). */
function bytes(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(n) || n <= 0)
    throw new ConfigError(
      `${name} must be a size like 2GiB, 500MiB or a byte count; got "${value}"`,
    );
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/** A setting that is not one of the values it allows stops start-up, naming both. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`${name} must be a port number (0–65535), got "${value}"`);
  return n;
}

/**
 * Strict booleans: an unknown word (`never`, `disabled`, a typo) is an error, never "true", so a
 * setting meant to turn something off cannot turn it on.
 */
function flag(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new ConfigError(`${name} must be one of ${[...TRUE, ...FALSE].join(', ')}; got "${value}"`);
}

function oneOf<const T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
  name: string,
): T {
  if (value === undefined || value === '') return fallback;
  const found = allowed.find((a) => a === value.trim());
  if (found === undefined)
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${value}"`);
  return found;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new ConfigError(`${name} must be a positive number, got "${value}"`);
  return n;
}

/** Whole seconds from 1 to one day: a timeout of 0 or a week is a typo, not a choice. */
function seconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 86_400)
    throw new ConfigError(`${name} must be whole seconds from 1 to 86400, got "${value}"`);
  return n;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${name} is required when LOUPE_OIDC_ISSUER is set`);
  return value;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Loopback interfaces: nothing listening there is reachable from another machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

function origins(value: string, name: string): string[] {
  return list(value).map((o) => {
    let parsed: URL | null = null;
    try {
      parsed = new URL(o);
    } catch {
      // reported below
    }
    // Exact-match comparison later: only a bare scheme://host[:port] can ever match an Origin.
    if (!parsed || parsed.origin !== o || !/^https?:$/.test(parsed.protocol))
      throw new ConfigError(
        `${name} must list origins like http://host:port (no path, no trailing slash); got "${o}"`,
      );
    return o;
  });
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`, lower-cased; anything else is an error. */
function hosts(value: string, name: string): string[] {
  return list(value).map((h) => {
    const v = h.toLowerCase();
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/.test(v))
      throw new ConfigError(
        `${name} must list host names or host:port (e.g. localhost:3000, [::1]:4000); got "${h}"`,
      );
    return v;
  });
}

function proxies(value: string, name: string): string[] {
  if (value.trim().toLowerCase() === 'none') return [];
  const entries = list(value);
  try {
    proxyAddr.compile(entries);
  } catch (error) {
    throw new ConfigError(
      `${name} must list IP addresses, CIDR ranges, loopback, linklocal, uniquelocal, or be none; ${(error as Error).message}`,
    );
  }
  return entries;
}

/**
 * Reads and checks every setting; a bad one throws a ConfigError naming the variable and the
 * values it allows, so a gateway never starts more permissive than its operator asked.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): LoupeConfig {
  const uiPort = int(env.PORT, 3000, 'PORT');
  const uiHost = env.LOUPE_UI_HOST || '127.0.0.1';
  const gatewayHost = env.LOUPE_GATEWAY_HOST || '127.0.0.1';
  const gatewayPort = int(env.LOUPE_GATEWAY_PORT, 4000, 'LOUPE_GATEWAY_PORT');
  const usersFile = resolve(env.LOUPE_USERS_FILE ?? 'data/users.json');
  const ports = [uiPort, gatewayPort];
  // The names a browser on this machine uses, on the two ports Loupe serves, plus any specific
  // interface the servers were told to listen on.
  const defaultHosts = [
    ...['localhost', '127.0.0.1', '[::1]'].flatMap((h) => ports.map((p) => `${h}:${p}`)),
    ...(uiHost !== '0.0.0.0' && uiHost !== '::' && !isLoopbackHost(uiHost)
      ? [`${uiHost}:${uiPort}`]
      : []),
    ...(gatewayHost !== '0.0.0.0' && gatewayHost !== '::' && !isLoopbackHost(gatewayHost)
      ? [`${gatewayHost}:${gatewayPort}`]
      : []),
  ];
  const oidcIssuer = env.LOUPE_OIDC_ISSUER;
  const devSignInExplicit = env.LOUPE_DEV_SIGNIN !== undefined && env.LOUPE_DEV_SIGNIN !== '';
  let devSignIn = flag(env.LOUPE_DEV_SIGNIN, !oidcIssuer, 'LOUPE_DEV_SIGNIN');
  const loopbackOnly = isLoopbackHost(gatewayHost) && isLoopbackHost(uiHost);
  if (devSignIn && !loopbackOnly) {
    // Handing out tokens is only safe where nobody but this machine's users can ask.
    if (devSignInExplicit)
      throw new ConfigError(
        `LOUPE_DEV_SIGNIN=${env.LOUPE_DEV_SIGNIN} serves every local user's token and needs the gateway and the UI on loopback only; LOUPE_GATEWAY_HOST is "${gatewayHost}" and LOUPE_UI_HOST is "${uiHost}"`,
      );
    devSignIn = false;
  }
  return {
    uiPort,
    uiHost,
    gatewayHost,
    gatewayPort,
    dbPath: resolve(env.LOUPE_DB ?? 'data/loupe.db'),
    capturesDir: resolve(env.LOUPE_CAPTURES_DIR ?? 'captures'),
    databaseUrl: env.LOUPE_DATABASE_URL || undefined,
    usersFile,
    allowAnonymousViewers: flag(env.LOUPE_ANONYMOUS_VIEWERS, true, 'LOUPE_ANONYMOUS_VIEWERS'),
    allowedOrigins: origins(
      env.LOUPE_ALLOWED_ORIGINS ?? `http://localhost:${uiPort},http://127.0.0.1:${uiPort}`,
      'LOUPE_ALLOWED_ORIGINS',
    ),
    allowedHosts: hosts(env.LOUPE_ALLOWED_HOSTS ?? defaultHosts.join(','), 'LOUPE_ALLOWED_HOSTS'),
    // The UI's Next server forwards /api on this machine; nobody else is believed by default.
    trustedProxies: proxies(env.LOUPE_TRUSTED_PROXIES ?? 'loopback', 'LOUPE_TRUSTED_PROXIES'),
    simControlTokenFile: resolve(
      env.LOUPE_SIM_CONTROL_TOKEN_FILE ?? join(dirname(usersFile), 'sim-control-token'),
    ),
    logLevel: oneOf(env.LOUPE_LOG_LEVEL, LOG_LEVELS, 'warn', 'LOUPE_LOG_LEVEL'),
    demo: flag(env.LOUPE_DEMO, true, 'LOUPE_DEMO'),
    shareSecretFile: resolve(env.LOUPE_SHARE_SECRET_FILE ?? 'data/share-secret'),
    metricsTokenFile: env.LOUPE_METRICS_TOKEN_FILE
      ? resolve(env.LOUPE_METRICS_TOKEN_FILE)
      : undefined,
    oidc: oidcIssuer
      ? {
          issuer: oidcIssuer,
          audience: required(env, 'LOUPE_OIDC_AUDIENCE'),
          jwksUrl: required(env, 'LOUPE_OIDC_JWKS_URL'),
          ...(env.LOUPE_OIDC_ROLE_CLAIM && { roleClaim: env.LOUPE_OIDC_ROLE_CLAIM }),
          ...(env.LOUPE_OIDC_RUNS_CLAIM && { runsClaim: env.LOUPE_OIDC_RUNS_CLAIM }),
        }
      : null,
    devSignIn,
    facilities: oneOf(
      env.LOUPE_FACILITIES,
      ['simulator', 'real', 'off'] as const,
      'simulator',
      'LOUPE_FACILITIES',
    ),
    simSpeed: positive(env.LOUPE_SIM_SPEED, 60, 'LOUPE_SIM_SPEED'),
    simSeed: positive(env.LOUPE_SIM_SEED, 1, 'LOUPE_SIM_SEED'),
    simPort: int(env.LOUPE_SIM_PORT, 0, 'LOUPE_SIM_PORT'),
    controlRequestTimeoutS: seconds(
      env.LOUPE_CONTROL_REQUEST_TIMEOUT_S,
      60,
      'LOUPE_CONTROL_REQUEST_TIMEOUT_S',
    ),
    controlReleaseGraceS: seconds(
      env.LOUPE_CONTROL_RELEASE_GRACE_S,
      30,
      'LOUPE_CONTROL_RELEASE_GRACE_S',
    ),
    // Laptop-sized defaults: a few runs of a day's beamtime fit, the disk never fills.
    recording: flag(env.LOUPE_RECORDING, true, 'LOUPE_RECORDING')
      ? {
          dir: resolve(env.LOUPE_RECORDING_DIR ?? 'data/recordings'),
          maxBytesPerRun: bytes(
            env.LOUPE_RECORDING_MAX_BYTES_PER_RUN,
            2 * 2 ** 30,
            'LOUPE_RECORDING_MAX_BYTES_PER_RUN',
          ),
          maxBytes: bytes(env.LOUPE_RECORDING_MAX_BYTES, 10 * 2 ** 30, 'LOUPE_RECORDING_MAX_BYTES'),
          maxAgeMs:
            positive(env.LOUPE_RECORDING_MAX_AGE_HOURS, 7 * 24, 'LOUPE_RECORDING_MAX_AGE_HOURS') *
            3_600_000,
        }
      : null,
  };
}

/** Where the browser-facing Next.js server forwards /api and the Socket.IO path. */
export function gatewayUrl(config: Pick<LoupeConfig, 'gatewayHost' | 'gatewayPort'>): string {
  const host = config.gatewayHost === '0.0.0.0' ? '127.0.0.1' : config.gatewayHost;
  return `http://${host}:${config.gatewayPort}`;
}
