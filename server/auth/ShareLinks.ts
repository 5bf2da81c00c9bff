import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import type { Identity, TokenVerifier } from './Identity';

const ISSUER = 'loupe-share';

/**
 * Read-only links to one run: an HS256 JWT signed with the gateway's secret, naming the run and an
 * expiry. Whoever holds the link is a viewer of that run only.
 */
export class ShareLinks implements TokenVerifier {
  private readonly key: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < 32) throw new Error('the share-link secret must be at least 32 bytes');
    this.key = secret;
  }

  /** Reads the secret from `path`, creating a random one on first use, so links survive restarts. */
  static secretFromFile(path: string): Uint8Array {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600 });
    }
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  }

  async create(
    run: string,
    createdBy: string,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = await new SignJWT({ run, by: createdBy })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(`share:${run}`)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, expiresAt: expiresAt * 1000 };
  }

  async verify(token: string): Promise<Identity | null> {
    if (token.split('.').length !== 3) return null;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
      });
      if (typeof payload.run !== 'string') return null;
      return {
        subject: `share:${payload.run}:${String(payload.by ?? 'unknown')}`,
        role: 'viewer',
        runs: [payload.run],
        anonymous: false,
        source: 'share',
      };
    } catch {
      return null;
    }
  }
}
