import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config';
import { clusterFromEnv } from './clusterFromEnv';

/** A member's settings; the database is never reached: each case fails before it connects. */
const member = {
  LOUPE_GATEWAY_ID: 'g1',
  LOUPE_DATABASE_URL: 'postgres://loupe@127.0.0.1:1/loupe',
  LOUPE_ADVERTISE_URL: 'http://127.0.0.1:4001',
};

/** An environment of only these variables (NodeJS.ProcessEnv types NODE_ENV as always present). */
const env = (vars: Record<string, string>) => vars as NodeJS.ProcessEnv;

describe('clusterFromEnv', () => {
  it('is no cluster without a gateway id', async () => {
    expect(await clusterFromEnv(env({}))).toBeNull();
  });

  it.each([
    [{ LOUPE_HAPROXY_RUNTIME: 'unix:/run/haproxy/admin.sock' }, /needs both/],
    [{ LOUPE_HAPROXY_OWNERS_MAP: '/etc/haproxy/loupe-owners.map' }, /needs both/],
    [
      { LOUPE_HAPROXY_RUNTIME: 'haproxy', LOUPE_HAPROXY_OWNERS_MAP: '/etc/haproxy/o.map' },
      /"haproxy" is not a runtime API address/,
    ],
    [
      { LOUPE_HAPROXY_RUNTIME: '10.0.0.2:9999', LOUPE_HAPROXY_OWNERS_MAP: 'owners map.txt' },
      /owners map "owners map.txt": an absolute path/,
    ],
    [{ LOUPE_LEASE_TTL_MS: '10' }, /LOUPE_LEASE_TTL_MS must be an integer/],
  ])('refuses route-by-lease and lease settings that cannot work: %j', async (extra, message) => {
    const attempt = clusterFromEnv(env({ ...member, ...extra }));
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(message);
  });
});
