import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CommandSendReply, DisconnectNotice } from '@/lib/protocol';
import { LocalUsers } from '../auth/LocalUsers';
import type { GatewayOptions } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TEST_USERS,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';
import { Opened, producerOf, share, sleep, stream, watcher } from './authFixtures';

// Scenario 15: every kind of bad credential is refused at the handshake (viewer and producer
// sockets, and REST); a credential that expires or is revoked mid-session loses its rights within
// the re-check interval, and a revocation survives a gateway restart.

const opened = new Opened();
afterEach(() => opened.closeAll());

const ISSUER = 'https://auth.example.org';
const AUDIENCE = 'loupe';
const SECRET = new Uint8Array(32).fill(7);
let idp: Server;
let jwksUrl: string;
let signOidc: (
  claims: Record<string, unknown>,
  o?: { issuer?: string; audience?: string; exp?: number | string },
) => Promise<string>;

beforeAll(async () => {
  // A stand-in identity provider publishing its JWKS on loopback, as Globus Auth does.
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  idp = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;
  signOidc = (claims, o = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(o.issuer ?? ISSUER)
      .setAudience(o.audience ?? AUDIENCE)
      .setSubject('oidc-user')
      .setIssuedAt()
      .setExpirationTime(o.exp ?? '5m')
      .sign(privateKey);
});
afterAll(() => new Promise<void>((resolve) => idp.close(() => resolve())));

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

function start(over: Partial<GatewayOptions> = {}) {
  return startTestGateway({
    allowAnonymousViewers: false,
    shareSecret: SECRET,
    oidc: { issuer: ISSUER, audience: AUDIENCE, jwksUrl },
    sessionRecheckMs: 1000,
    ...over,
  }).then((gw) => opened.add(gw));
}

/** The refusal code of a socket handshake, or null when it connected. */
async function handshake(socket: ReturnType<typeof viewerClient>): Promise<string | null> {
  opened.add(socket);
  return connected(socket).then(
    () => null,
    (e: Error & { data?: { code?: string } }) => e.data?.code ?? e.message,
  );
}

describe('s15: authentication edge cases', () => {
  it('refuses none, garbage, alg:none, expired, wrong iss/aud, bad signature and never-issued links at the handshake and over REST', async () => {
    const gw = await start();
    await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const link = (await (await share(gw, TOKENS.staff, 'run-1')).json()) as { path: string };
    const goodLink = link.path.split('#share=')[1]!;
    const [h, p, s] = goodLink.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const bad: Record<string, string | undefined> = {
      none: undefined,
      garbage: 'garbage-not-a-token-at-all',
      'alg:none share link': `${b64({ alg: 'none' })}.${p}.`,
      'alg:none OIDC token': `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'x', exp, loupe_role: 'staff' })}.`,
      'share link with a tampered run': `${h}.${b64({ ...claims, run: 'run-2' })}.${s}`,
      'share link with a bad signature': `${h}.${p}.${s.slice(0, -4)}AAAA`,
      'share link signed right but never issued': await new SignJWT({
        run: 'run-1',
        by: 'sam',
      })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('loupe-share')
        .setJti(crypto.randomUUID())
        .setExpirationTime(exp)
        .sign(SECRET),
      'share link from another issuer': await new SignJWT({ run: 'run-1', jti: 'x' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('evil')
        .setExpirationTime(exp)
        .sign(SECRET),
      'expired OIDC token': await signOidc({ loupe_role: 'staff' }, { exp: '-1m' }),
      'OIDC token of another issuer': await signOidc(
        { loupe_role: 'staff' },
        { issuer: 'https://evil.example' },
      ),
      'OIDC token for another audience': await signOidc(
        { loupe_role: 'staff' },
        { audience: 'other-app' },
      ),
      'OIDC token with a forged role': ((t) => {
        const [th, tp, ts] = t.split('.') as [string, string, string];
        const body = JSON.parse(Buffer.from(tp, 'base64url').toString()) as object;
        return `${th}.${b64({ ...body, loupe_role: 'staff' })}.${ts}`;
      })(await signOidc({ loupe_role: 'viewer' })),
    };
    for (const [name, token] of Object.entries(bad)) {
      expect(await handshake(viewerClient(gw.url, token)), `viewer socket, ${name}`).toBe(
        'unauthorized',
      );
      // The producer engine checks the token at the engine handshake (no session at all), so the
      // refusal is the transport's, not a typed code; what counts is that no producer got in.
      const producersBefore = gw.producers.sockets.size;
      expect(
        await handshake(producerClient(gw.url, token)),
        `producer socket, ${name}`,
      ).not.toBeNull();
      expect(gw.producers.sockets.size, `producer socket, ${name}`).toBe(producersBefore);
      const rest = await fetch(`${gw.url}/api/runs/run-1`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      expect(rest.status, `REST, ${name}`).toBe(401);
    }
    // The valid ones pass, so the refusals above are about the credential, not the harness.
    expect(await handshake(viewerClient(gw.url, goodLink))).toBeNull();
    expect(
      await handshake(viewerClient(gw.url, await signOidc({ loupe_role: 'staff' }))),
    ).toBeNull();
    // A refused handshake changes nothing: no run, no command.
    expect(gw.registry.list().map((r) => r.id)).toEqual(['run-1']);
    expect(await gw.commands.list('run-1')).toEqual([]);
  });

  it('a share link that expires mid-session ends its stream at once, and a scientist’s expired token steers nothing', async () => {
    const gw = await start({ commands: { ratePoints: 1000 } });
    const p = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const applied: string[] = [];
    p.on('command', (command, reply) => {
      applied.push(command.kind);
      reply({ id: command.id, status: 'applied' });
    });
    const feed = opened.add(stream(p, 'run-1', 20));
    const created = await gw.shares.create('run-1', 'sam', 2);
    const viewer = await watcher(opened, gw, created.token, 'run-1');
    const notices: DisconnectNotice[] = [];
    viewer.socket.on('viewer:disconnect', (n) => notices.push(n));
    // A scientist signed in through OIDC with a token as short-lived.
    const sciExp = Math.floor(Date.now() / 1000) + 2;
    const sci = opened.add(
      viewerClient(
        gw.url,
        await signOidc({ loupe_role: 'scientist', loupe_runs: ['run-1'] }, { exp: sciExp }),
      ),
    );
    await connected(sci);
    const steer = (key: string) =>
      sci
        .timeout(2000)
        .emitWithAck('command:send', {
          run: 'run-1',
          idempotencyKey: key,
          request: { kind: 'pause' },
        })
        .then(
          (r: CommandSendReply) => r,
          () => null, // no answer: the session was closed first
        );
    const before = await steer('before-expiry');
    expect(before?.ok).toBe(true);

    await eventually(() => viewer.closedAt() !== null, 10_000, 'share-link viewer cut off');
    const cutOff = viewer.closedAt()!;
    const framesAfterExpiry = viewer.frames.filter(
      (f) => (f.acceptedAt ?? f.publishedAt) > created.expiresAt,
    ).length;
    expect(notices).toEqual([
      expect.objectContaining({ code: 'session-expired', limit: created.expiresAt }),
    ]);
    // ≤ 30 s is the requirement; the session's own timer makes it the expiry itself.
    expect(cutOff - created.expiresAt).toBeLessThan(30_000);
    expect(framesAfterExpiry).toBe(0);
    console.log(
      `s15 expiry: cut off ${cutOff - created.expiresAt} ms after expiry, ${framesAfterExpiry} frames after it (${viewer.frames.length} before, producer sent ${feed.sent})`,
    );

    await eventually(() => Date.now() > sciExp * 1000, 5000, 'scientist token expired');
    const after = await steer('after-expiry');
    expect(after === null || (after.ok === false && after.code === 'session_expired')).toBe(true);
    await eventually(async () => !sci.connected, 5000, 'scientist session closed');
    await sleep(200);
    expect(applied).toEqual(['pause']);
    expect(await gw.commands.list('run-1')).toHaveLength(1);
    expect(
      (await gw.audit.query({ action: 'session:end', limit: 10 })).map((e) => e.reason),
    ).toEqual(['session-expired', 'session-expired']);
    // Reconnecting with the expired link is refused at the handshake.
    expect(await handshake(viewerClient(gw.url, created.token))).toBe('unauthorized');
  });

  it('a revoked share link is cut off at once, staff see the run’s active links, and the revocation survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-s15-'));
    opened.add({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const dbPath = join(dir, 'loupe.db');
    const gw = await start({ db: dbPath });
    const p = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const feed = opened.add(stream(p, 'run-1', 20));
    const made = await Promise.all([
      share(gw, TOKENS.scientist, 'run-1'),
      share(gw, TOKENS.staff, 'run-1'),
    ]);
    const [revoked, kept] = (await Promise.all(made.map((r) => r.json()))) as {
      path: string;
      id: string;
    }[];
    const token = revoked!.path.split('#share=')[1]!;
    const keptToken = kept!.path.split('#share=')[1]!;
    const list = async (who: string) =>
      fetch(`${gw.url}/api/runs/run-1/share`, { headers: { authorization: `Bearer ${who}` } });
    const listed = (await (await list(TOKENS.staff)).json()) as { links: { id: string }[] };
    expect(listed.links.map((l) => l.id).sort()).toEqual([revoked!.id, kept!.id].sort());
    expect((await list(TOKENS.viewer)).status).toBe(403);
    expect((await list(TOKENS.otherScientist)).status).toBe(403);
    expect(JSON.stringify(listed)).not.toContain(token);

    const viewer = await watcher(opened, gw, token, 'run-1');
    const other = await watcher(opened, gw, keptToken, 'run-1');
    const notices: DisconnectNotice[] = [];
    viewer.socket.on('viewer:disconnect', (n) => notices.push(n));
    await eventually(() => viewer.frames.length >= 5, 5000, 'link viewer streaming');

    const revoke = (who: string, id: string) =>
      fetch(`${gw.url}/api/runs/run-1/share/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${who}` },
      });
    // Neither a viewer nor a scientist of another run may revoke; nothing changes when they try.
    expect((await revoke(TOKENS.viewer, revoked!.id)).status).toBe(403);
    expect((await revoke(TOKENS.otherScientist, revoked!.id)).status).toBe(403);
    expect(viewer.socket.connected).toBe(true);
    const revokedAt = Date.now();
    expect((await revoke(TOKENS.staff, revoked!.id)).status).toBe(200);
    await eventually(() => viewer.closedAt() !== null, 30_000, 'revoked viewer cut off');
    const framesAfter = viewer.frames.filter(
      (f) => (f.acceptedAt ?? f.publishedAt) > revokedAt,
    ).length;
    console.log(
      `s15 revocation: cut off ${viewer.closedAt()! - revokedAt} ms after the DELETE answered, ${framesAfter} frames after it (producer sent ${feed.sent})`,
    );
    expect(viewer.closedAt()! - revokedAt).toBeLessThan(30_000);
    expect(notices.map((n) => n.code)).toEqual(['session-revoked']);
    expect((await revoke(TOKENS.staff, revoked!.id)).status).toBe(409);
    // The other link is untouched.
    const seen = other.frames.length;
    await eventually(() => other.frames.length > seen + 3, 5000, 'other link keeps streaming');
    expect(other.socket.connected).toBe(true);
    const active = (await (await list(TOKENS.staff)).json()) as { links: { id: string }[] };
    expect(active.links.map((l) => l.id)).toEqual([kept!.id]);
    expect(
      (await fetch(`${gw.url}/api/runs/run-1`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(401);

    // Restart on the same database and secret: the link is still revoked, the other still works.
    feed.stop();
    await gw.close();
    const again = await start({ db: dbPath });
    expect(await handshake(viewerClient(again.url, token))).toBe('unauthorized');
    expect(
      (
        await fetch(`${again.url}/api/runs/run-1`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(401);
    expect(await handshake(viewerClient(again.url, keptToken))).toBeNull();
    expect(
      (await again.audit.query({ action: 'share:revoke', limit: 10 })).map((e) => e.outcome),
    ).toEqual(['allowed', 'denied', 'denied']);
  });

  it('checks the credential on every steering message, not only on the timer', async () => {
    // A users source whose entries can be withdrawn, as an operator removing a user would.
    class WithdrawableUsers extends LocalUsers {
      readonly withdrawn = new Set<string>();
      override verifySync(token: string) {
        return this.withdrawn.has(token) ? null : super.verifySync(token);
      }
    }
    const users = new WithdrawableUsers(TEST_USERS);
    // The periodic re-check is far away: only the per-message check can catch the withdrawal.
    const gw = await start({ users, sessionRecheckMs: 600_000 });
    const p = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    const received: string[] = [];
    p.on('command', (c, reply) => {
      received.push(c.kind);
      reply({ id: c.id, status: 'applied' });
    });
    const sci = opened.add(viewerClient(gw.url, TOKENS.scientist));
    await connected(sci);
    const send = (key: string) =>
      sci.emitWithAck('command:send', {
        run: 'run-1',
        idempotencyKey: key,
        request: { kind: 'pause' },
      }) as Promise<CommandSendReply>;
    expect((await send('k1')).ok).toBe(true);
    users.withdrawn.add(TOKENS.scientist);
    expect(await send('k2')).toMatchObject({ ok: false, status: 401, code: 'session_revoked' });
    await eventually(async () => !sci.connected, 5000, 'session closed after the refused command');
    await sleep(100);
    expect(received).toEqual(['pause']);
    expect(await gw.commands.list('run-1')).toHaveLength(1);
  });

  it('ends a session whose credential was withdrawn within the re-check interval, without any message', async () => {
    class WithdrawableUsers extends LocalUsers {
      readonly withdrawn = new Set<string>();
      override verifySync(token: string) {
        return this.withdrawn.has(token) ? null : super.verifySync(token);
      }
    }
    const users = new WithdrawableUsers(TEST_USERS);
    const gw = await start({ users, sessionRecheckMs: 500 });
    const p = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    opened.add(stream(p, 'run-1', 20));
    const v = await watcher(opened, gw, TOKENS.viewer, 'run-1');
    const notices: DisconnectNotice[] = [];
    v.socket.on('viewer:disconnect', (n) => notices.push(n));
    await eventually(() => v.frames.length >= 3, 5000, 'streaming');
    const withdrawnAt = Date.now();
    users.withdrawn.add(TOKENS.viewer);
    await eventually(() => v.closedAt() !== null, 5000, 'session ended by the re-check');
    console.log(
      `s15 re-check: withdrawn credential cut off after ${v.closedAt()! - withdrawnAt} ms (interval 500 ms)`,
    );
    expect(notices.map((n) => n.code)).toEqual(['session-revoked']);
    // The producer, whose credential is intact, keeps its session.
    expect(p.connected).toBe(true);
  });
});
