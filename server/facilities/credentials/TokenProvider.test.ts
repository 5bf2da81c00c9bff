import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey as JoseKey } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../adapters/fetchJson';
import {
  ClientCredentialsTokenProvider,
  FileTokenProvider,
  RefreshTokenProvider,
} from './TokenProvider';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const dir = () => mkdtempSync(join(tmpdir(), 'loupe-tokens-'));

const body = (req: IncomingMessage) =>
  new Promise<URLSearchParams>((resolve) => {
    let t = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (t += c));
    req.on('end', () => resolve(new URLSearchParams(t)));
  });

/** A token endpoint on loopback; `handle` answers each form-encoded request. */
async function tokenEndpoint(
  handle: (form: URLSearchParams, url: string) => Promise<{ status: number; json: unknown }>,
) {
  const requests: URLSearchParams[] = [];
  let url = '';
  const server = createServer((req, res) => {
    void body(req).then(async (form) => {
      requests.push(form);
      const { status, json } = await handle(form, url);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/c2id/token`;
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url, requests };
}

describe('FileTokenProvider', () => {
  it('re-reads the file when it changes, and refuses an empty or missing one', async () => {
    const path = join(dir(), 'token');
    writeFileSync(path, 'first\n');
    const p = new FileTokenProvider(path);
    expect(await p.token()).toBe('first');
    writeFileSync(path, 'second-token\n');
    // Same second on a coarse filesystem clock: the size differs, so it is still seen.
    expect(await p.token()).toBe('second-token');
    writeFileSync(path, 'third-token\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(await p.token()).toBe('third-token');
    writeFileSync(path, '  \n');
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    await expect(p.token()).rejects.toThrow(/is empty/);
    await expect(new FileTokenProvider(join(dir(), 'nope')).token()).rejects.toBeInstanceOf(
      SourceError,
    );
  });
});

describe('ClientCredentialsTokenProvider (private_key_jwt, as the NERSC SF API)', () => {
  it('signs an assertion the endpoint verifies, caches the ~10 min token and renews it before expiry', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const keyFile = join(dir(), 'client.pem');
    writeFileSync(keyFile, await exportPKCS8(privateKey as JoseKey));
    let issued = 0;
    const ep = await tokenEndpoint(async (form, url) => {
      if (form.get('grant_type') !== 'client_credentials')
        return { status: 400, json: { error: 'unsupported_grant_type' } };
      if (
        form.get('client_assertion_type') !==
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
      )
        return { status: 401, json: { error: 'invalid_client' } };
      try {
        const { payload } = await jwtVerify(form.get('client_assertion') ?? '', publicKey, {
          audience: url,
          issuer: 'loupe-client',
          subject: 'loupe-client',
        });
        if (!payload.jti || !payload.exp) throw new Error('no jti/exp');
      } catch (e) {
        return {
          status: 401,
          json: { error: 'invalid_client', error_description: (e as Error).message },
        };
      }
      issued++;
      return {
        status: 200,
        json: { access_token: `at-${issued}`, token_type: 'Bearer', expires_in: 600 },
      };
    });
    let now = Date.UTC(2025, 0, 8, 12);
    const p = new ClientCredentialsTokenProvider({
      tokenUrl: ep.url,
      clientId: 'loupe-client',
      privateKeyFile: keyFile,
      now: () => now,
    });
    // Concurrent callers share one request.
    expect(await Promise.all([p.token(), p.token(), p.token()])).toEqual(['at-1', 'at-1', 'at-1']);
    expect(ep.requests).toHaveLength(1);
    now += 8 * 60_000;
    expect(await p.token()).toBe('at-1');
    // A minute before the 10 min are up it renews, so no request carries an expiring token.
    now += 61_000;
    expect(await p.token()).toBe('at-2');
    expect(ep.requests).toHaveLength(2);
  });

  it('reports a refused client as a credentials error with the server’s words', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const keyFile = join(dir(), 'client.pem');
    writeFileSync(keyFile, await exportPKCS8(privateKey as JoseKey));
    const ep = await tokenEndpoint(async () => ({
      status: 401,
      json: { error: 'invalid_client', error_description: 'unknown key' },
    }));
    const p = new ClientCredentialsTokenProvider({
      tokenUrl: ep.url,
      clientId: 'c',
      privateKeyFile: keyFile,
    });
    const error = await p.token().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).auth).toBe(true);
    expect((error as Error).message).toMatch(/invalid_client: unknown key/);
  });
});

describe('RefreshTokenProvider (Globus-issued tokens)', () => {
  it('exchanges the refresh token as access tokens expire and keeps a rotated one', async () => {
    const d = dir();
    const refreshFile = join(d, 'refresh');
    writeFileSync(refreshFile, 'rt-1\n');
    const secretFile = join(d, 'secret');
    writeFileSync(secretFile, 's3cret\n');
    let n = 0;
    const ep = await tokenEndpoint(async (form) => {
      if (form.get('grant_type') !== 'refresh_token' || form.get('client_secret') !== 's3cret')
        return { status: 400, json: { error: 'invalid_request' } };
      const rt = form.get('refresh_token');
      if (rt !== `rt-${n + 1}`) return { status: 400, json: { error: 'invalid_grant' } };
      n++;
      return {
        status: 200,
        json: {
          access_token: `at-${n}`,
          token_type: 'Bearer',
          expires_in: 172_800,
          refresh_token: `rt-${n + 1}`,
        },
      };
    });
    let now = 0;
    const saved: string[] = [];
    const p = new RefreshTokenProvider({
      tokenUrl: ep.url,
      clientId: 'loupe',
      clientSecretFile: secretFile,
      refreshTokenFile: refreshFile,
      now: () => now,
      saveRefreshToken: async (t) => {
        saved.push(t);
        writeFileSync(refreshFile, `${t}\n`);
      },
    });
    expect(await p.token()).toBe('at-1');
    expect(saved).toEqual(['rt-2']);
    now += 172_800_000;
    // The rotated refresh token is the one used next.
    expect(await p.token()).toBe('at-2');
    expect(ep.requests.map((r) => r.get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
    expect(readFileSync(refreshFile, 'utf8').trim()).toBe('rt-3');
  });
});
