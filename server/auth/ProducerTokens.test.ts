import { describe, expect, it } from 'vitest';
import { ProducerTokens } from './ProducerTokens';

const secret = new Uint8Array(32).fill(7);

describe('per-run producer tokens', () => {
  it('publish their run only, until revoked or cut short, each on its own', async () => {
    let now = 1_764_633_600_000;
    const tokens = new ProducerTokens(secret, () => now);
    const a = await tokens.mint('run-1', 'job:beamline-cluster/c1', 3600);
    const b = await tokens.mint('run-1', 'job:beamline-cluster/c2', 3600);
    expect(await tokens.verify(a.token)).toMatchObject({
      role: 'producer',
      runs: ['run-1'],
      source: 'job',
      expiresAt: now + 3600_000,
    });
    // The job started: it may run 10 min, and its token no longer than that.
    tokens.limit(a.id, now + 600_000, a.expiresAt);
    expect((await tokens.verify(a.token))?.expiresAt).toBe(now + 600_000);
    // A later limit does not lengthen it.
    tokens.limit(a.id, now + 1_200_000, a.expiresAt);
    expect((await tokens.verify(a.token))?.expiresAt).toBe(now + 600_000);
    now += 600_000;
    expect(await tokens.verify(a.token)).toBeNull();
    expect(await tokens.verify(b.token)).not.toBeNull();
    tokens.revoke(b.id, b.expiresAt);
    expect(await tokens.verify(b.token)).toBeNull();
    // A new gateway with the same secret knows nothing of revocations (documented).
    expect(await new ProducerTokens(secret, () => now).verify(b.token)).not.toBeNull();
    // Tokens expired anyway are forgotten.
    now += 3600_000;
    tokens.limit('other', now + 1, now + 2);
    expect(await tokens.verify(b.token)).toBeNull();
  });
});
