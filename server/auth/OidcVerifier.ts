import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { type Identity, Role, type TokenVerifier } from './Identity';

export interface OidcOptions {
  /** The identity provider's issuer, e.g. https://auth.globus.org. */
  issuer: string;
  /** This gateway's client id / audience as the provider puts it in `aud`. */
  audience: string;
  /** The provider's JWKS URL (from its discovery document). */
  jwksUrl: string;
  /** Claim holding the Loupe role (default `loupe_role`); without it a user is a viewer. */
  roleClaim?: string;
  /** Claim listing the runs a scientist belongs to (default `loupe_runs`). */
  runsClaim?: string;
}

/**
 * Verifies OIDC access tokens (JWTs) against the provider's published keys with jose, which caches
 * the key set and refetches it when a token names an unknown key id.
 */
export class OidcVerifier implements TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: OidcOptions) {
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  }

  async verify(token: string): Promise<Identity | null> {
    // Not a JWT at all (e.g. a local token): not ours, and not worth a key lookup.
    if (token.split('.').length !== 3) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
      }));
    } catch {
      return null;
    }
    const role = Role.safeParse(payload[this.options.roleClaim ?? 'loupe_role']);
    const runs = payload[this.options.runsClaim ?? 'loupe_runs'];
    if (!payload.sub) return null;
    return {
      subject: String(payload.sub),
      // Producers authenticate with their own credentials, never through a person's login.
      role: role.success && role.data !== 'producer' ? role.data : 'viewer',
      runs: Array.isArray(runs) ? runs.filter((r): r is string => typeof r === 'string') : [],
      anonymous: false,
      source: 'oidc',
      ...(payload.exp !== undefined && { expiresAt: payload.exp * 1000 }),
    };
  }
}
