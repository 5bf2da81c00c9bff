import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, readConfig } from './config';

const read = (env: Record<string, string>) => readConfig(env as NodeJS.ProcessEnv);

describe('readConfig', () => {
  it('reads the embedded defaults: loopback hosts on both ports, loopback proxies, dev sign-in on', () => {
    const c = read({});
    expect(c.allowedHosts).toEqual([
      'localhost:3000',
      'localhost:4000',
      '127.0.0.1:3000',
      '127.0.0.1:4000',
      '[::1]:3000',
      '[::1]:4000',
    ]);
    expect(c.trustedProxies).toEqual(['loopback']);
    expect(c.devSignIn).toBe(true);
    expect(c.allowAnonymousViewers).toBe(true);
    expect(c.logLevel).toBe('warn');
  });

  it.each([
    ['LOUPE_DEV_SIGNIN', 'never'],
    ['LOUPE_DEV_SIGNIN', 'disabled'],
    ['LOUPE_ANONYMOUS_VIEWERS', 'nope'],
    ['LOUPE_DEMO', '2'],
  ])('stops on %s=%s, naming the variable and the values allowed', (name, value) => {
    expect(() => read({ [name]: value })).toThrow(ConfigError);
    expect(() => read({ [name]: value })).toThrow(
      new RegExp(`^${name} must be one of 1, true, yes, on, 0, false, no, off; got "${value}"$`),
    );
  });

  it.each(['1', 'true', 'YES', 'on', ' On '])('reads %j as true', (v) => {
    expect(read({ LOUPE_ANONYMOUS_VIEWERS: v }).allowAnonymousViewers).toBe(true);
  });
  it.each(['0', 'false', 'No', 'OFF'])('reads %j as false', (v) => {
    expect(read({ LOUPE_ANONYMOUS_VIEWERS: v }).allowAnonymousViewers).toBe(false);
    expect(read({ LOUPE_DEV_SIGNIN: v }).devSignIn).toBe(false);
  });

  it('reads the control timeouts as whole seconds, refusing 0, fractions and words', () => {
    expect(read({}).controlRequestTimeoutS).toBe(60);
    expect(read({ LOUPE_CONTROL_REQUEST_TIMEOUT_S: '15' }).controlRequestTimeoutS).toBe(15);
    expect(read({ LOUPE_CONTROL_RELEASE_GRACE_S: '5' }).controlReleaseGraceS).toBe(5);
    for (const bad of ['0', '1.5', 'soon', '-3', '100000'])
      expect(() => read({ LOUPE_CONTROL_REQUEST_TIMEOUT_S: bad })).toThrow(
        `LOUPE_CONTROL_REQUEST_TIMEOUT_S must be whole seconds from 1 to 86400, got "${bad}"`,
      );
  });

  it('stops on an unknown enum value, listing the allowed ones', () => {
    expect(() => read({ LOUPE_FACILITIES: 'mock' })).toThrow(
      'LOUPE_FACILITIES must be one of simulator, real, off; got "mock"',
    );
    expect(() => read({ LOUPE_LOG_LEVEL: 'verbose' })).toThrow(
      'LOUPE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "verbose"',
    );
    expect(() => read({ PORT: '30x' })).toThrow('PORT must be a port number');
  });

  it('dev sign-in: off without loopback by default, a start-up error when asked for explicitly', () => {
    expect(read({ LOUPE_GATEWAY_HOST: '0.0.0.0' }).devSignIn).toBe(false);
    expect(read({ LOUPE_UI_HOST: '0.0.0.0' }).devSignIn).toBe(false);
    expect(() => read({ LOUPE_UI_HOST: '0.0.0.0', LOUPE_DEV_SIGNIN: '1' })).toThrow(
      /LOUPE_DEV_SIGNIN=1 .* needs the gateway and the UI on loopback only/,
    );
    // With OIDC it is off unless enabled explicitly.
    const oidc = {
      LOUPE_OIDC_ISSUER: 'https://auth.example',
      LOUPE_OIDC_AUDIENCE: 'loupe',
      LOUPE_OIDC_JWKS_URL: 'https://auth.example/jwks',
    };
    expect(read(oidc).devSignIn).toBe(false);
    expect(read({ ...oidc, LOUPE_DEV_SIGNIN: 'on' }).devSignIn).toBe(true);
  });

  it('allowed hosts, origins and proxies: configurable, and malformed entries stop start-up', () => {
    expect(read({ LOUPE_ALLOWED_HOSTS: 'Loupe.APS.gov:443, localhost' }).allowedHosts).toEqual([
      'loupe.aps.gov:443',
      'localhost',
    ]);
    expect(() => read({ LOUPE_ALLOWED_HOSTS: 'http://loupe.example' })).toThrow(
      /LOUPE_ALLOWED_HOSTS must list host names or host:port/,
    );
    expect(() => read({ LOUPE_ALLOWED_ORIGINS: 'http://loupe.example/' })).toThrow(
      /LOUPE_ALLOWED_ORIGINS must list origins/,
    );
    expect(() => read({ LOUPE_ALLOWED_ORIGINS: 'null' })).toThrow(/LOUPE_ALLOWED_ORIGINS/);
    expect(read({ LOUPE_TRUSTED_PROXIES: 'none' }).trustedProxies).toEqual([]);
    expect(read({ LOUPE_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.2' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '192.168.1.2',
    ]);
    expect(() => read({ LOUPE_TRUSTED_PROXIES: 'my-proxy' })).toThrow(/LOUPE_TRUSTED_PROXIES/);
    // A specific interface the gateway listens on is served by default too.
    expect(read({ LOUPE_GATEWAY_HOST: '10.1.2.3' }).allowedHosts).toContain('10.1.2.3:4000');
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'evil.example', '127.0.0.1.evil.example'])
      expect(isLoopbackHost(h)).toBe(false);
  });
});
