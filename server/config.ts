import { resolve } from 'node:path';

/** Settings of the gateway and of `npm start`, from the environment, with the embedded defaults. */
export interface LoupeConfig {
  /** Port of the UI (Next.js). */
  uiPort: number;
  gatewayHost: string;
  gatewayPort: number;
  dbPath: string;
  usersFile: string;
  allowAnonymousViewers: boolean;
  allowedOrigins: string[];
  demo: boolean;
  /** Secret for share links, created on first start. */
  shareSecretFile: string;
  /** OIDC (e.g. Globus Auth) when LOUPE_OIDC_ISSUER is set. */
  oidc: {
    issuer: string;
    audience: string;
    jwksUrl: string;
    roleClaim?: string;
    runsClaim?: string;
  } | null;
  /** Serve the local users' tokens to the sign-in page (the embedded default; off with OIDC). */
  devSignIn: boolean;
  /** Where facility state comes from: the embedded simulator, the real services, or nowhere. */
  facilities: 'simulator' | 'real' | 'off';
  /** Simulated seconds per real second, and the seed, of the embedded simulator. */
  simSpeed: number;
  simSeed: number;
  /** Port of the embedded simulator (0: any free one). */
  simPort: number;
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${name} must be a port number, got ${value}`);
  return n;
}

function flag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

function facilitySource(value: string | undefined): LoupeConfig['facilities'] {
  if (value === undefined || value === '') return 'simulator';
  if (value === 'simulator' || value === 'real' || value === 'off') return value;
  throw new Error(`LOUPE_FACILITIES must be simulator, real or off, got ${value}`);
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number, got ${value}`);
  return n;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is required when LOUPE_OIDC_ISSUER is set`);
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): LoupeConfig {
  const uiPort = int(env.PORT, 3000, 'PORT');
  return {
    uiPort,
    gatewayHost: env.LOUPE_GATEWAY_HOST ?? '127.0.0.1',
    gatewayPort: int(env.LOUPE_GATEWAY_PORT, 4000, 'LOUPE_GATEWAY_PORT'),
    dbPath: resolve(env.LOUPE_DB ?? 'data/loupe.db'),
    usersFile: resolve(env.LOUPE_USERS_FILE ?? 'data/users.json'),
    allowAnonymousViewers: flag(env.LOUPE_ANONYMOUS_VIEWERS, true),
    allowedOrigins: (
      env.LOUPE_ALLOWED_ORIGINS ?? `http://localhost:${uiPort},http://127.0.0.1:${uiPort}`
    )
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    demo: flag(env.LOUPE_DEMO, true),
    shareSecretFile: resolve(env.LOUPE_SHARE_SECRET_FILE ?? 'data/share-secret'),
    oidc: env.LOUPE_OIDC_ISSUER
      ? {
          issuer: env.LOUPE_OIDC_ISSUER,
          audience: required(env, 'LOUPE_OIDC_AUDIENCE'),
          jwksUrl: required(env, 'LOUPE_OIDC_JWKS_URL'),
          ...(env.LOUPE_OIDC_ROLE_CLAIM && { roleClaim: env.LOUPE_OIDC_ROLE_CLAIM }),
          ...(env.LOUPE_OIDC_RUNS_CLAIM && { runsClaim: env.LOUPE_OIDC_RUNS_CLAIM }),
        }
      : null,
    devSignIn: flag(env.LOUPE_DEV_SIGNIN, !env.LOUPE_OIDC_ISSUER),
    facilities: facilitySource(env.LOUPE_FACILITIES),
    simSpeed: positive(env.LOUPE_SIM_SPEED, 60, 'LOUPE_SIM_SPEED'),
    simSeed: positive(env.LOUPE_SIM_SEED, 1, 'LOUPE_SIM_SEED'),
    simPort: int(env.LOUPE_SIM_PORT, 0, 'LOUPE_SIM_PORT'),
  };
}

/** Where the browser-facing Next.js server forwards /api and the Socket.IO path. */
export function gatewayUrl(config: Pick<LoupeConfig, 'gatewayHost' | 'gatewayPort'>): string {
  const host = config.gatewayHost === '0.0.0.0' ? '127.0.0.1' : config.gatewayHost;
  return `http://${host}:${config.gatewayPort}`;
}
