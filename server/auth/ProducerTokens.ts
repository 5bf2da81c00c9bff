import { hkdfSync, randomUUID } from 'node:crypto';
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
  /**
   * Tokens cut short (by id): refused from the given time (epoch ms) on — at once when revoked,
   * at walltime + slack once the job started. Kept until the token would have expired anyway,
   * so the map holds at most the tokens still alive. In memory: on a restart the gateway's
   * secret is new (or the job is followed again), see docs.
   */
  private readonly cutOff = new Map<string, { at: number; expiresAt: number }>();

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
  ): Promise<{ token: string; id: string; expiresAt: number }> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = issuedAt + Math.max(1, Math.ceil(ttlSeconds));
    const id = randomUUID();
    const token = await new SignJWT({ run })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(subject)
      .setJti(id)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, id, expiresAt: expiresAt * 1000 };
  }

  /** Refuses token `id` from now on (its job ended). `expiresAt` is the token's own expiry (ms). */
  revoke(id: string, expiresAt: number): void {
    this.limit(id, this.now(), expiresAt);
  }

  /**
   * Refuses token `id` from `at` (epoch ms) on, when that is sooner than its own expiry or an
   * earlier limit: a job that started can run no longer than its walltime.
   */
  limit(id: string, at: number, expiresAt: number): void {
    const t = this.now();
    for (const [k, v] of this.cutOff) if (v.expiresAt <= t) this.cutOff.delete(k);
    const previous = this.cutOff.get(id)?.at ?? Infinity;
    if (at < Math.min(previous, expiresAt)) this.cutOff.set(id, { at, expiresAt });
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
      const cut = payload.jti === undefined ? undefined : this.cutOff.get(payload.jti)?.at;
      if (cut !== undefined && this.now() >= cut) return null;
      return {
        subject: payload.sub,
        role: 'producer',
        runs: [payload.run],
        anonymous: false,
        source: 'job',
        expiresAt: Math.min(payload.exp * 1000, cut ?? Infinity),
      };
    } catch {
      return null;
    }
  }
}
