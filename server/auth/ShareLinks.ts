import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import type { Database, ShareLinksTable } from '../db/Database';
import type { Identity, TokenVerifier } from './Identity';

const ISSUER = 'loupe-share';

/** A share link as staff see it in the run's list: never the token itself. */
export interface ShareLinkRecord {
  id: string;
  run: string;
  createdBy: string;
  /** Unix epoch ms. */
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
}

type Row = ShareLinksTable;

const toRecord = (r: Row): ShareLinkRecord => ({
  id: r.id,
  run: r.run,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
});

/**
 * Read-only links to one run: an HS256 JWT signed with the gateway's secret, naming the run, an
 * expiry and an id (`jti`). Whoever holds the link is a viewer of that run only. Every link the
 * gateway issues is recorded in the store, so it can be listed and revoked before it expires; a link
 * is honoured only while its row exists unrevoked (the revocation survives a restart with the
 * database, and a link from another database is worth nothing even with the right secret).
 */
export class ShareLinks implements TokenVerifier {
  private readonly key: Uint8Array;

  constructor(
    secret: Uint8Array,
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {
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
  ): Promise<{ token: string; id: string; expiresAt: number }> {
    const id = randomUUID();
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = issuedAt + ttlSeconds;
    const token = await new SignJWT({ run, by: createdBy })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(`share:${run}`)
      .setJti(id)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    await this.db
      .insertInto('share_links')
      .values({
        id,
        run,
        created_by: createdBy,
        created_at: issuedAt * 1000,
        expires_at: expiresAt * 1000,
        revoked_at: null,
        revoked_by: null,
      })
      .execute();
    return { token, id, expiresAt: expiresAt * 1000 };
  }

  async verify(token: string): Promise<Identity | null> {
    if (token.split('.').length !== 3) return null;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        currentDate: new Date(this.now()),
      });
      if (typeof payload.run !== 'string' || typeof payload.jti !== 'string') return null;
      if (!(await this.honoured(payload.jti, payload.run))) return null;
      return {
        subject: `share:${payload.run}:${String(payload.by ?? 'unknown')}`,
        role: 'viewer',
        runs: [payload.run],
        anonymous: false,
        source: 'share',
        ...(payload.exp !== undefined && { expiresAt: payload.exp * 1000 }),
        tokenId: payload.jti,
      };
    } catch {
      return null;
    }
  }

  /** True while the link with this id was issued here for this run and has not been revoked. */
  async honoured(id: string, run: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('share_links')
      .select(['run', 'revoked_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row !== undefined && row.run === run && row.revoked_at === null;
  }

  /** Links of `run` that still open it: issued, not revoked, not expired. Newest first. */
  async active(run: string): Promise<ShareLinkRecord[]> {
    const rows = await this.db
      .selectFrom('share_links')
      .selectAll()
      .where('run', '=', run)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.now())
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  async get(id: string): Promise<ShareLinkRecord | undefined> {
    const row = await this.db
      .selectFrom('share_links')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Revokes a link of `run`; false when there is no such link or it was revoked already. */
  async revoke(run: string, id: string, by: string): Promise<boolean> {
    const result = await this.db
      .updateTable('share_links')
      .set({ revoked_at: this.now(), revoked_by: by })
      .where('id', '=', id)
      .where('run', '=', run)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
