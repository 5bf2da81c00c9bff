import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Identity } from '../auth/Identity';
import { OlcfS3mAdapter } from './adapters/OlcfS3mAdapter';
import { facilityRoutes } from './facilityRoutes';
import { FacilityService } from './FacilityService';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function app() {
  // No source answers: the routes must still work on unknown snapshots.
  const service = new FacilityService({
    adapters: [
      new OlcfS3mAdapter({
        baseUrl: 'http://127.0.0.1:9',
        systems: [{ system: 'frontier', name: 'Frontier' }],
        timeoutMs: 200,
      }),
    ],
    db: ':memory:',
    historyEveryMs: 0,
  });
  await service.pollOnce();
  const a = Fastify();
  a.decorateRequest('identity', null as unknown as Identity);
  // Stands in for the gateway's auth hook: the role comes from a test header.
  a.addHook('onRequest', async (request) => {
    const role = (request.headers['x-role'] as Identity['role'] | undefined) ?? 'viewer';
    request.identity = {
      subject: `${role}@test`,
      role,
      runs: [],
      anonymous: false,
      source: 'local',
    };
  });
  await a.register(facilityRoutes, { service });
  apps.push(a);
  return a;
}

describe('facility routes', () => {
  it('lists systems and their history', async () => {
    const a = await app();
    const list = await a.inject({ method: 'GET', url: '/api/facilities' });
    expect(list.statusCode).toBe(200);
    expect(list.json().systems[0]).toMatchObject({
      system: 'frontier',
      status: 'unknown',
      stale: true,
    });
    const h = await a.inject({ method: 'GET', url: '/api/facilities/frontier/history?from=0' });
    expect(h.statusCode).toBe(200);
    expect(h.json().points.length).toBe(1);
    expect(
      (await a.inject({ method: 'GET', url: '/api/facilities/nowhere/history' })).statusCode,
    ).toBe(404);
    expect(
      (await a.inject({ method: 'GET', url: '/api/facilities/frontier/history?from=abc' }))
        .statusCode,
    ).toBe(400);
  });

  it('estimates with a ranking and refuses bad input with a clear message', async () => {
    const a = await app();
    const ok = await a.inject({
      method: 'POST',
      url: '/api/estimate',
      payload: { nodes: 8, walltime: 3600 },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ recommended: null, ranked: [] });
    expect(ok.json().excluded[0].reasons[0]).toMatch(/unknown/);
    const bad = await a.inject({
      method: 'POST',
      url: '/api/estimate',
      payload: { nodes: 0, walltime: 'long' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/nodes: .*walltime/);
  });

  it('lets only staff record a site decision, with who and when', async () => {
    const a = await app();
    const body = { system: 'frontier', recommended: null, note: 'only one up' };
    const denied = await a.inject({
      method: 'POST',
      url: '/api/facilities/decisions',
      payload: body,
      headers: { 'x-role': 'scientist' },
    });
    expect(denied.statusCode).toBe(403);
    const made = await a.inject({
      method: 'POST',
      url: '/api/facilities/decisions',
      payload: { ...body, recommended: 'polaris' },
      headers: { 'x-role': 'staff' },
    });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({
      who: 'staff@test',
      role: 'staff',
      system: 'frontier',
      override: true,
    });
    const list = await a.inject({ method: 'GET', url: '/api/facilities/decisions' });
    expect(list.json().decisions).toHaveLength(1);
    const producer = await a.inject({
      method: 'GET',
      url: '/api/facilities',
      headers: { 'x-role': 'producer' },
    });
    expect(producer.statusCode).toBe(403);
  });
});
