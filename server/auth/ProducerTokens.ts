import { hkdfSync } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Identity, TokenVerifier } from './Identity';

const ISSUER = 'loupe-job';
const AUDIENCE = 'loupe-producer';

/**
 * Short-lived producer credentials for one run: what the gateway hands a job it submits
 * (resubmit), so the job's consumer may publish that run and nothing else, and only until the job
 * could no longer be running. HS256 with a key of their own, derived from the gateway's secret
 * (HKDF), so a share link can never pass for a producer token nor the other way round.
 */
export class ProducerTokens implements TokenVerifier {
  private readonly key: Uint8Array;

  constructor(
    secret: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {
    if (secret.byteLength < 32)
      throw new Error('the producer-token secret must be at least 32 bytes');
    this.key = new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), 'loupe-job-token', 32));
  }

  /** A token publishing `run` only, as `subject` (e.g. `job:<command id>`), for `ttlSeconds`. */
  async mint(
    run: string,
    subject: string,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = issuedAt + Math.max(1, Math.ceil(ttlSeconds));
    const token = await new SignJWT({ run })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, expiresAt: expiresAt * 1000 };
  }

  async verify(token: string): Promise<Identity | null> {
    if (token.split('.').length !== 3) return null;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(this.now()),
      });
      if (typeof payload.run !== 'string' || !payload.sub || payload.exp === undefined) return null;
      return {
        subject: payload.sub,
        role: 'producer',
        runs: [payload.run],
        anonymous: false,
        source: 'job',
        expiresAt: payload.exp * 1000,
      };
    } catch {
      return null;
    }
  }
}
