import { readFile, stat } from 'node:fs/promises';
import { importJWK, importPKCS8, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { SourceError } from '../adapters/fetchJson';

/**
 * Where a source's bearer token comes from. Every adapter asks for the token at each request, so a
 * rotated file, a refreshed grant or an expired token is picked up without a restart.
 */
export interface TokenProvider {
  /** The token to present now, or null when the source is read without one. */
  token(): Promise<string | null>;
}

/** A token adapters accept: fixed, absent, or asked for at each request. */
export type TokenSource = string | null | undefined | TokenProvider | (() => string | null);

export async function resolveToken(source: TokenSource): Promise<string | null> {
  if (source === null || source === undefined) return null;
  if (typeof source === 'string') return source;
  if (typeof source === 'function') return source();
  return source.token();
}

/**
 * A token in a file that something else keeps fresh (a cron'd `globus` CLI, a Kubernetes secret).
 * The file is read again whenever its modification time or size changes.
 */
export class FileTokenProvider implements TokenProvider {
  private cached: { mtimeMs: number; size: number; token: string } | null = null;

  constructor(private readonly path: string) {}

  async token(): Promise<string> {
    let s;
    try {
      s = await stat(this.path);
    } catch (error) {
      throw new SourceError(
        `token file ${this.path} unreadable: ${(error as Error).message}`,
        true,
      );
    }
    if (this.cached && this.cached.mtimeMs === s.mtimeMs && this.cached.size === s.size)
      return this.cached.token;
    const token = (await readFile(this.path, 'utf8')).trim();
    if (!token) throw new SourceError(`token file ${this.path} is empty`, true);
    this.cached = { mtimeMs: s.mtimeMs, size: s.size, token };
    return token;
  }
}

interface GrantOptions {
  /** The authorization server's token endpoint. */
  tokenUrl: string;
  /** Its issuer identifier (defaults to the token URL's origin). */
  issuer?: string;
  clientId: string;
  scope?: string;
  /** Renew this long before `expires_in` runs out (ms). */
  renewBeforeMs?: number;
  /** Tokens without `expires_in` are renewed after this long (ms). */
  defaultLifetimeMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

/** Loopback token endpoints (tests, a local proxy) are plain HTTP; nothing else may be. */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** Shared caching of an OAuth2 grant: one request in flight, renewed before expiry. */
abstract class GrantTokenProvider implements TokenProvider {
  private current: { token: string; renewAt: number } | null = null;
  private inflight: Promise<string> | null = null;
  protected readonly as: oauth.AuthorizationServer;
  protected readonly client: oauth.Client;
  protected readonly requestOptions: oauth.TokenEndpointRequestOptions;

  constructor(protected readonly g: GrantOptions) {
    this.as = { issuer: g.issuer ?? new URL(g.tokenUrl).origin, token_endpoint: g.tokenUrl };
    this.client = { client_id: g.clientId };
    this.requestOptions = {
      signal: AbortSignal.timeout(g.timeoutMs ?? 5000),
      ...(isLoopback(g.tokenUrl) && { [oauth.allowInsecureRequests]: true }),
    };
  }

  private now(): number {
    return (this.g.now ?? Date.now)();
  }

  async token(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return this.current.token;
    this.inflight ??= this.renew().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async renew(): Promise<string> {
    let answer: oauth.TokenEndpointResponse;
    try {
      answer = await this.grant({
        ...this.requestOptions,
        signal: AbortSignal.timeout(this.g.timeoutMs ?? 5000),
      });
    } catch (error) {
      this.current = null;
      const e = error as Error & { error?: string; error_description?: string };
      const why = e.error
        ? `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
        : e.message;
      throw new SourceError(`token endpoint ${this.g.tokenUrl} refused: ${why}`, true);
    }
    const lifetimeMs =
      answer.expires_in !== undefined
        ? answer.expires_in * 1000
        : (this.g.defaultLifetimeMs ?? 10 * 60_000);
    // Renew a minute early (or at half-life for very short tokens) so no request carries an
    // access token that expires on its way.
    const early = Math.min(this.g.renewBeforeMs ?? 60_000, lifetimeMs / 2);
    this.current = { token: answer.access_token, renewAt: this.now() + lifetimeMs - early };
    this.onAnswer(answer);
    return answer.access_token;
  }

  protected abstract grant(
    options: oauth.TokenEndpointRequestOptions,
  ): Promise<oauth.TokenEndpointResponse>;
  protected onAnswer(_answer: oauth.TokenEndpointResponse): void {}
}

export interface ClientCredentialsOptions extends GrantOptions {
  /** PEM (PKCS#8) or JWK file of the client's private key. */
  privateKeyFile: string;
  /** JWS algorithm of the key (NERSC's Iris issues RSA keys: RS256). */
  alg?: string;
  kid?: string;
  /**
   * `aud` of the client assertion. NERSC's sfapi_client signs with the token endpoint as audience
   * (authlib's PrivateKeyJWT(token_url)); oauth4webapi's default is the issuer.
   */
  assertionAudience?: 'token-endpoint' | 'issuer';
}

/**
 * OAuth2 client credentials with `private_key_jwt` (RFC 7523), as the NERSC SF API hands out:
 * the client signs a short assertion with its key and gets an access token of about ten minutes.
 */
export class ClientCredentialsTokenProvider extends GrantTokenProvider {
  private key: Promise<oauth.PrivateKey> | null = null;

  constructor(private readonly c: ClientCredentialsOptions) {
    super(c);
  }

  private loadKey(): Promise<oauth.PrivateKey> {
    this.key ??= (async () => {
      const text = (await readFile(this.c.privateKeyFile, 'utf8')).trim();
      const alg = this.c.alg ?? 'RS256';
      if (text.startsWith('{')) {
        const jwk = JSON.parse(text) as JWK;
        const key = (await importJWK(jwk, jwk.alg ?? alg)) as CryptoKey;
        const kid = this.c.kid ?? jwk.kid;
        return kid ? { key, kid } : { key };
      }
      const key = await importPKCS8(text, alg);
      return this.c.kid ? { key, kid: this.c.kid } : { key };
    })().catch((error: unknown) => {
      this.key = null;
      throw new Error(`private key ${this.c.privateKeyFile}: ${(error as Error).message}`);
    });
    return this.key;
  }

  protected async grant(options: oauth.TokenEndpointRequestOptions) {
    const key = await this.loadKey();
    const tokenUrl = this.c.tokenUrl;
    const auth = oauth.PrivateKeyJwt(key, {
      [oauth.modifyAssertion]: (_header, payload) => {
        if ((this.c.assertionAudience ?? 'token-endpoint') === 'token-endpoint')
          payload.aud = tokenUrl;
      },
    });
    const params: Record<string, string> = {};
    if (this.c.scope) params.scope = this.c.scope;
    const response = await oauth.clientCredentialsGrantRequest(
      this.as,
      this.client,
      auth,
      params,
      options,
    );
    return oauth.processClientCredentialsResponse(this.as, this.client, response);
  }
}

export interface RefreshTokenOptions extends GrantOptions {
  /** File holding the refresh token; rewritten when the server rotates it. */
  refreshTokenFile: string;
  /** Confidential clients (Globus "portal" apps) send a secret; native apps send none. */
  clientSecretFile?: string;
  /** Writes a rotated refresh token back (defaults to rewriting `refreshTokenFile`). */
  saveRefreshToken?: (token: string) => Promise<void>;
}

/**
 * Access tokens from a refresh token (Globus Auth issues 48 h access tokens with refresh tokens for
 * the IRI APIs). A rotated refresh token is kept and written back so a restart can go on.
 */
export class RefreshTokenProvider extends GrantTokenProvider {
  private refresh: string | null = null;
  private secret: string | null = null;

  constructor(private readonly r: RefreshTokenOptions) {
    super(r);
  }

  protected async grant(options: oauth.TokenEndpointRequestOptions) {
    this.refresh ??= (await readFile(this.r.refreshTokenFile, 'utf8')).trim();
    if (this.r.clientSecretFile && this.secret === null)
      this.secret = (await readFile(this.r.clientSecretFile, 'utf8')).trim();
    const auth = this.secret ? oauth.ClientSecretPost(this.secret) : oauth.None();
    const response = await oauth.refreshTokenGrantRequest(
      this.as,
      this.client,
      auth,
      this.refresh,
      options,
    );
    return oauth.processRefreshTokenResponse(this.as, this.client, response);
  }

  protected override onAnswer(answer: oauth.TokenEndpointResponse): void {
    if (!answer.refresh_token || answer.refresh_token === this.refresh) return;
    this.refresh = answer.refresh_token;
    const save =
      this.r.saveRefreshToken ??
      (async (t: string) => {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(this.r.refreshTokenFile, `${t}\n`, { mode: 0o600 });
      });
    // Losing the write costs a re-login after a restart, never the running poller.
    save(answer.refresh_token).catch(() => {});
  }
}
