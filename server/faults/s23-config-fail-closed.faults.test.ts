import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type MainGatewayProcess,
  spawnMainGateway,
  waitForHttp,
} from '../testing/spawnMainGateway';

/**
 * Scenario 23, policy/config fail-closed: Loupe's access rules come from its settings and its users
 * file (roles, runs). A setting it cannot read exactly, or an unreadable users file, stops the
 * gateway before it listens, with a message naming the variable and the values allowed; it never
 * starts more permissive than asked (the bug: LOUPE_DEV_SIGNIN=never meant "on").
 */
describe('s23: bad configuration fails closed at start', () => {
  const started: MainGatewayProcess[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'loupe-s23-'));
  afterEach(async () => {
    await Promise.all(started.splice(0).map((g) => g.stop()));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const BAD: [string, Record<string, string>, RegExp][] = [
    [
      'LOUPE_DEV_SIGNIN=never',
      { LOUPE_DEV_SIGNIN: 'never' },
      /LOUPE_DEV_SIGNIN must be one of 1, true, yes, on, 0, false, no, off; got "never"/,
    ],
    [
      'LOUPE_ANONYMOUS_VIEWERS=nobody',
      { LOUPE_ANONYMOUS_VIEWERS: 'nobody' },
      /LOUPE_ANONYMOUS_VIEWERS must be one of 1, true, yes, on, 0, false, no, off/,
    ],
    [
      'LOUPE_FACILITIES=mock',
      { LOUPE_FACILITIES: 'mock' },
      /LOUPE_FACILITIES must be one of simulator, real, off; got "mock"/,
    ],
    [
      'LOUPE_TRUSTED_PROXIES=everyone',
      { LOUPE_TRUSTED_PROXIES: 'everyone' },
      /LOUPE_TRUSTED_PROXIES must list IP addresses/,
    ],
    [
      'LOUPE_ALLOWED_HOSTS with a URL',
      { LOUPE_ALLOWED_HOSTS: 'https://loupe.example/' },
      /LOUPE_ALLOWED_HOSTS must list host names or host:port/,
    ],
    [
      'dev sign-in asked for on a non-loopback UI',
      { LOUPE_DEV_SIGNIN: '1', LOUPE_UI_HOST: '0.0.0.0' },
      /LOUPE_DEV_SIGNIN=1 serves every local user's token and needs the gateway and the UI on loopback only/,
    ],
  ];

  it.each(BAD)('%s: exits 1 before listening, naming the setting', async (_name, env, message) => {
    const gw = await spawnMainGateway(env);
    started.push(gw);
    expect(await gw.exited).toBe(1);
    expect(gw.output()).toMatch(message);
    await expect(fetch(`${gw.url}/api/health/live`)).rejects.toThrow();
  });

  it('an unreadable users file (bad JSON, unknown role) stops start-up; it is never "no rules"', async () => {
    const contents = [
      '{"users": [',
      '{"users":[{"name":"x","role":"admin","token":"0123456789abcdef0123"}]}',
    ];
    for (const [i, content] of contents.entries()) {
      const file = join(scratch, `bad-users-${i}.json`);
      writeFileSync(file, content);
      const bad = await spawnMainGateway({ LOUPE_USERS_FILE: file });
      started.push(bad);
      expect(await bad.exited).toBe(1);
      expect(bad.output()).toMatch(/users file .*bad-users-\d\.json/);
      await expect(fetch(`${bad.url}/api/health/live`)).rejects.toThrow();
    }
  });

  it('a good configuration without anonymous viewers starts, and its health needs no token', async () => {
    const gw = await spawnMainGateway({
      LOUPE_ANONYMOUS_VIEWERS: 'off',
      LOUPE_DEV_SIGNIN: 'false',
    });
    started.push(gw);
    const ready = await waitForHttp(`${gw.url}/api/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fetch(`${gw.url}/api/health/live`)).status).toBe(200);
    // Everything else still needs a token, and dev sign-in is off as asked.
    expect((await fetch(`${gw.url}/api/runs`)).status).toBe(401);
    expect((await fetch(`${gw.url}/api/dev/users`)).status).toBe(401);
  });
});
