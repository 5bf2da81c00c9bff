import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../db/openStore';
import { startTestGateway } from '../testing/testGateway';
import { healthRoutes } from './healthRoutes';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

describe('liveness and readiness', () => {
  it('answer without a user token on a gateway that admits no anonymous viewer', async () => {
    const gw = await startTestGateway({ allowAnonymousViewers: false });
    open.push(gw);
    expect((await fetch(`${gw.url}/api/runs`)).status).toBe(401);
    expect(await (await fetch(`${gw.url}/api/health/live`)).json()).toEqual({ status: 'live' });
    expect(await (await fetch(`${gw.url}/api/health/ready`)).json()).toEqual({ status: 'ready' });
  });

  it('readiness turns 503 once the drain begins (liveness stays), and while the store fails', async () => {
    const store: Store = await openStore({ sqlite: ':memory:' });
    let draining = false;
    const app = Fastify();
    await app.register(healthRoutes, { store, draining: () => draining });
    open.push(app);
    const ready = () => app.inject({ method: 'GET', url: '/api/health/ready' });
    expect((await ready()).statusCode).toBe(200);
    draining = true;
    expect((await ready()).json()).toEqual({ status: 'draining' });
    expect((await ready()).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/api/health/live' })).statusCode).toBe(200);
    draining = false;
    await store.close();
    expect((await ready()).statusCode).toBe(503);
  });
});
