import { IdentitySource, Role } from '@/lib/protocol';

// The roles and sources are the protocol's (GET /api/session answers them to the browser).
export { IdentitySource, Role };

/** The authenticated caller of one request or socket. Never carries the token itself. */
export interface Identity {
  subject: string;
  role: Role;
  /**
   * Runs a scientist belongs to, the runs a share link opens, or the runs a producer may publish
   * (`*`: any run no other producer identity owns). Ignored for staff and plain viewers.
   */
  runs: readonly string[];
  /** True for a caller without a token, admitted read-only where the gateway allows it. */
  anonymous: boolean;
  source: IdentitySource;
  /** When the credential stops being valid (Unix epoch ms); absent for tokens that do not expire. */
  expiresAt?: number;
  /** The credential's own id (a share link's `jti`), for revocation. */
  tokenId?: string;
}

export const ANONYMOUS_VIEWER: Identity = Object.freeze({
  subject: 'anonymous',
  role: 'viewer',
  runs: [],
  anonymous: true,
  source: 'anonymous',
});

/** Turns a bearer token into an identity, or null when the token is not one of this verifier's. */
export interface TokenVerifier {
  verify(token: string): Promise<Identity | null>;
}

/** Asks each verifier in turn; the first that recognises the token decides. */
export class CompositeVerifier implements TokenVerifier {
  constructor(private readonly verifiers: readonly TokenVerifier[]) {}

  async verify(token: string): Promise<Identity | null> {
    for (const verifier of this.verifiers) {
      const identity = await verifier.verify(token);
      if (identity) return identity;
    }
    return null;
  }
}
