import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mbit, TcpProxy, type TcpProxyOptions } from './TcpProxy';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** A loopback server that sends `bytes` (a seeded pattern) to each client, or echoes. */
async function server(
  mode: { send: number } | 'echo' | 'sink',
): Promise<net.Server & { received: number }> {
  const s = Object.assign(
    net.createServer((socket) => {
      socket.on('error', () => undefined);
      if (mode === 'echo') socket.pipe(socket);
      else if (mode === 'sink') socket.on('data', (d: Buffer) => (s.received += d.byteLength));
      else socket.end(pattern(mode.send));
    }),
    { received: 0 },
  );
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise((r) => s.close(r)) });
  return s;
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

async function proxyTo(s: net.Server, options: Omit<TcpProxyOptions, 'target'> = {}) {
  const address = s.address() as net.AddressInfo;
  const proxy = await TcpProxy.start({ target: { port: address.port }, ...options });
  open.push(proxy);
  return proxy;
}

function client(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  const got: Buffer[] = [];
  const state = { bytes: 0, ended: false, error: null as NodeJS.ErrnoException | null };
  socket.on('data', (d: Buffer) => {
    got.push(d);
    state.bytes += d.byteLength;
  });
  socket.on('end', () => (state.ended = true));
  socket.on('error', (e: NodeJS.ErrnoException) => (state.error = e));
  open.push({ close: () => socket.destroy() });
  return { socket, state, all: () => Buffer.concat(got) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate() && Date.now() < end) await sleep(10);
}

describe('TcpProxy', () => {
  it('forwards bytes unchanged and passes the FIN on', async () => {
    const s = await server({ send: 300_000 });
    const proxy = await proxyTo(s);
    const c = client(proxy.port);
    await until(() => c.state.ended, 5000);
    expect(c.state.ended).toBe(true);
    expect(c.all().equals(pattern(300_000))).toBe(true);
  });

  it('limits bandwidth to the configured bytes per second', async () => {
    const RATE = 50_000;
    const s = await server({ send: 2_000_000 });
    const proxy = await proxyTo(s, { down: { bytesPerSecond: RATE } });
    const c = client(proxy.port);
    await until(() => c.state.bytes > 0, 2000);
    const t0 = Date.now();
    const b0 = c.state.bytes;
    await sleep(1500);
    const seconds = (Date.now() - t0) / 1000;
    const rate = (c.state.bytes - b0) / seconds;
    // Never faster than the limit (plus one 20 ms pacing piece of slack), and not stuck either: a
    // busy 2-core machine may be slow to deliver, so the lower bound is loose.
    expect(rate).toBeLessThanOrEqual(RATE * 1.1);
    expect(rate).toBeGreaterThan(RATE * 0.4);
    // Bounded: the proxy holds at most its queue limit, the rest waits in the sender.
    expect(proxy.queuedBytes).toBeLessThanOrEqual(1024 * 1024 + 65_536);
  });

  it('periodic stalls forward nothing for their share of each period', async () => {
    const RATE = 100_000;
    const s = await server({ send: 2_000_000 });
    // Stalled for the last 500 ms of every 1000 ms: at most half the rate on average.
    const proxy = await proxyTo(s, {
      down: { bytesPerSecond: RATE, stalls: { everyMs: 1000, forMs: 500 } },
    });
    const c = client(proxy.port);
    await until(() => c.state.bytes > 0, 2000);
    const t0 = Date.now();
    const b0 = c.state.bytes;
    await sleep(2000);
    const rate = (c.state.bytes - b0) / ((Date.now() - t0) / 1000);
    // Two whole periods: 2 × 500 ms at the rate, plus a pacing piece or two of slack.
    expect(rate).toBeLessThanOrEqual(RATE * 0.5 * 1.15);
    expect(rate).toBeGreaterThan(RATE * 0.15);
  });

  it('mbit() converts megabits per second to bytes per second', () => {
    expect(mbit(20)).toBe(2_500_000);
    expect(mbit(5)).toBe(625_000);
  });

  it('adds latency to every chunk', async () => {
    const s = await server('echo');
    const proxy = await proxyTo(s, {
      up: { latencyMs: 100 },
      down: { latencyMs: 100, jitterMs: 50 },
    });
    const c = client(proxy.port);
    const t0 = Date.now();
    c.socket.write('ping');
    await until(() => c.state.bytes === 4, 5000);
    expect(c.all().toString()).toBe('ping');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  });

  it('a stall stops forwarding both ways without closing, and resume delivers everything', async () => {
    const s = await server('sink');
    const proxy = await proxyTo(s);
    const c = client(proxy.port);
    c.socket.write(pattern(10_000));
    await until(() => s.received === 10_000, 5000);
    expect(s.received).toBe(10_000);

    proxy.stall();
    c.socket.write(pattern(50_000));
    await sleep(500);
    expect(s.received).toBe(10_000);
    expect(c.state.ended).toBe(false);
    expect(c.state.error).toBeNull();
    expect(proxy.connections).toHaveLength(1);

    proxy.resume();
    await until(() => s.received === 60_000, 5000);
    expect(s.received).toBe(60_000);
  });

  it('a stalled downstream stops the bytes a server sends, and never sends a FIN', async () => {
    const s = await server({ send: 4_000_000 });
    const proxy = await proxyTo(s);
    proxy.stall();
    const c = client(proxy.port);
    await sleep(500);
    expect(c.state.bytes).toBe(0);
    expect(c.state.ended).toBe(false);
    proxy.resume();
    await until(() => c.state.ended, 10_000);
    expect(c.all().equals(pattern(4_000_000))).toBe(true);
  });

  it('reset() ends connections abruptly with ECONNRESET', async () => {
    const s = await server('echo');
    const proxy = await proxyTo(s);
    const c = client(proxy.port);
    c.socket.write('x');
    await until(() => c.state.bytes === 1, 5000);
    proxy.reset();
    await until(() => c.state.error !== null, 5000);
    expect(c.state.error?.code).toBe('ECONNRESET');
    expect(c.state.ended).toBe(false);
  });

  it('refuses connections beyond maxConnections', async () => {
    const s = await server('echo');
    const proxy = await proxyTo(s, { maxConnections: 2 });
    const cs = [client(proxy.port), client(proxy.port), client(proxy.port)];
    await until(() => proxy.accepted + proxy.refused === 3, 5000);
    expect(proxy.accepted).toBe(2);
    expect(proxy.refused).toBe(1);
    expect(cs).toHaveLength(3);
  });
});
