import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcVerifier } from './OidcVerifier';

// A stand-in identity provider on loopback: publishes a JWKS, as Globus Auth does at its jwks_uri.
let server: Server;
let jwksUrl: string;
let sign: (
  claims: Record<string, unknown>,
  opts?: { issuer?: string; audience?: string; expiresIn?: string },
) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  sign = (claims, opts = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setIssuer(opts.issuer ?? 'https://auth.example.org')
      .setAudience(opts.audience ?? 'loupe')
      .setSubject('user-123')
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? '5m')
      .sign(privateKey);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('OIDC bearer tokens', () => {
  const verifier = () =>
    new OidcVerifier({ issuer: 'https://auth.example.org', audience: 'loupe', jwksUrl });

  it('maps a valid token to its subject, role and runs', async () => {
    const identity = await verifier().verify(
      await sign({ loupe_role: 'scientist', loupe_runs: ['run-1'] }),
    );
    expect(identity).toEqual({
      expiresAt: expect.any(Number),
      subject: 'user-123',
      role: 'scientist',
      runs: ['run-1'],
      anonymous: false,
      source: 'oidc',
    });
  });

  it('makes a user without a role claim a viewer, and never a producer', async () => {
    expect((await verifier().verify(await sign({})))?.role).toBe('viewer');
    expect((await verifier().verify(await sign({ loupe_role: 'producer' })))?.role).toBe('viewer');
  });

  it('refuses another issuer, another audience, an expired token and a tampered one', async () => {
    const v = verifier();
    expect(
      await v.verify(await sign({ loupe_role: 'staff' }, { issuer: 'https://evil.example' })),
    ).toBeNull();
    expect(
      await v.verify(await sign({ loupe_role: 'staff' }, { audience: 'other-app' })),
    ).toBeNull();
    expect(await v.verify(await sign({ loupe_role: 'staff' }, { expiresIn: '-1m' }))).toBeNull();
    const token = await sign({ loupe_role: 'viewer' });
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(p, 'base64url').toString()),
        loupe_role: 'staff',
      }),
    ).toString('base64url');
    expect(await v.verify(`${h}.${forged}.${s}`)).toBeNull();
    expect(await v.verify('not-a-jwt')).toBeNull();
  });
});
