import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haproxyBin, leaseRouting, type Service, startHaproxy } from '../testing/clusterServices';
import { HaproxyRuntime, parseRuntimeAddress } from './HaproxyRuntime';

/** A stand-in gateway: ready for HAProxy's health check, and says its name to anyone else. */
async function nameServer(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(req.url === '/api/health/ready' ? 'ready' : name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const port = (server: Server) => (server.address() as AddressInfo).port;

describe('parseRuntimeAddress', () => {
  it('reads a unix socket or host:port and refuses anything else', () => {
    expect(parseRuntimeAddress('unix:/run/haproxy/admin.sock')).toEqual({
      path: '/run/haproxy/admin.sock',
    });
    expect(parseRuntimeAddress('/run/haproxy/admin.sock')).toEqual({
      path: '/run/haproxy/admin.sock',
    });
    expect(parseRuntimeAddress('10.0.0.2:9999')).toEqual({ host: '10.0.0.2', port: 9999 });
    for (const bad of ['', 'haproxy', '10.0.0.2:0', '10.0.0.2:70000', 'http://10.0.0.2:9999'])
      expect(() => parseRuntimeAddress(bad), bad).toThrow(/not a runtime API address/);
  });
});

describe.skipIf(haproxyBin() === null)('route by lease through a real HAProxy', () => {
  const servers = new Map<string, Server>();
  const routing = leaseRouting();
  let haproxy: Service;
  let runtime: HaproxyRuntime;
  /** A run the consistent hash sends to g1 while both gateways are up. */
  let run = '';

  const servedBy = async (id: string) => (await fetch(`${haproxy.url}/x?run=${id}`)).text();
  /** A run's REST call (the timeline's), which names the run in its path, not in its query. */
  const restServedBy = async (id: string) =>
    (await fetch(`${haproxy.url}/api/runs/${id}/frames?stream=full%2Fxy`)).text();

  beforeAll(async () => {
    for (const name of ['g1', 'g2']) servers.set(name, await nameServer(name));
    haproxy = await startHaproxy(
      [...servers].map(([name, s]) => ({ name, address: `127.0.0.1:${port(s)}` })),
      undefined,
      routing,
    );
    runtime = new HaproxyRuntime({ balancers: [{ path: routing.socket }], map: routing.map });
    // Both up (two passing checks a second apart), then a run hashed to g1.
    for (
      let i = 0;
      i < 100 && new Set(await Promise.all(['a', 'b', 'c', 'd'].map(servedBy))).size < 2;
      i++
    )
      await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 50 && !run; i++)
      if ((await servedBy(`run-${i}`)) === 'g1') run = `run-${i}`;
    expect(run).not.toBe('');
  }, 60_000);

  afterAll(async () => {
    await haproxy?.stop();
    for (const s of servers.values()) s.close();
  });

  it('sends a run’s REST calls where its sockets go, by the hash alone too', async () => {
    for (let i = 0; i < 20; i++)
      expect(await restServedBy(`run-${i}`), `run-${i}`).toBe(await servedBy(`run-${i}`));
    // Requests for no run are spread, not all sent to one gateway.
    const spread = new Set<string>();
    for (let i = 0; i < 20; i++) spread.add(await (await fetch(`${haproxy.url}/api/runs`)).text());
    expect(spread.size).toBe(2);
  });

  it('sends a run to the gateway its route names, and back to the hash when that gateway forgets it', async () => {
    await runtime.route(run, 'g2');
    expect(await runtime.lookup(run)).toBe('g2');
    expect(await servedBy(run)).toBe('g2');
    expect(await restServedBy(run)).toBe('g2');
    // Routing again leaves one entry (del, then add): forgetting it once forgets it.
    await runtime.route(run, 'g2');
    // g1 gave the run up long ago: its unroute must not remove g2's route.
    await runtime.unroute(run, 'g1');
    expect(await servedBy(run)).toBe('g2');
    await runtime.unroute(run, 'g2');
    expect(await runtime.lookup(run)).toBeNull();
    expect(await servedBy(run)).toBe('g1');
  });

  it('refuses what cannot go into a command, and says which balancer did not answer', async () => {
    await expect(runtime.route('run 1;clear map', 'g2')).rejects.toThrow(
      /cannot go into a map command/,
    );
    const nowhere = new HaproxyRuntime({
      balancers: [{ path: `${routing.dir}/none.sock` }],
      map: routing.map,
    });
    await expect(nowhere.route(run, 'g2')).rejects.toThrow(/none\.sock: .*ENOENT/);
    const wrongMap = new HaproxyRuntime({
      balancers: [{ path: routing.socket }],
      map: '/nowhere/owners.map',
    });
    await expect(wrongMap.route(run, 'g2')).rejects.toThrow(
      /HAProxy runtime API at .*: Unknown map/,
    );
  });

  it('falls back to the hash while the routed gateway is down', async () => {
    await runtime.route(run, 'g2');
    await new Promise<void>((resolve) => servers.get('g2')!.close(() => resolve()));
    servers.get('g2')!.closeAllConnections();
    // Out after two failed checks a second apart; meanwhile requests to g2 fail (502/503).
    let served = '';
    for (let i = 0; i < 60 && served !== 'g1'; i++) {
      served = await servedBy(run).catch(() => '');
      if (served !== 'g1') await new Promise((r) => setTimeout(r, 250));
    }
    expect(served).toBe('g1');
    expect(await runtime.lookup(run)).toBe('g2');
  }, 30_000);
});
