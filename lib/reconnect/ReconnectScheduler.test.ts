import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReconnectScheduler, type ReconnectableSocket } from './ReconnectScheduler';

/** A socket.io-client stand-in: the scheduler only listens to its events and calls connect(). */
class FakeSocket extends EventEmitter implements ReconnectableSocket {
  connected = true;
  connects = 0;
  connect(): void {
    this.connects++;
  }
}

describe('ReconnectScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => vi.useRealTimers());

  it('comes back after the jittered retry-after of a restart notice, even on a server disconnect', () => {
    const socket = new FakeSocket();
    const s = new ReconnectScheduler(socket, { random: () => 0.5 });
    socket.emit('gateway:restarting', { reason: 'the gateway is restarting', retryAfterMs: 2000 });
    socket.connected = false;
    socket.emit('disconnect', 'io server disconnect');
    expect(s.current).toMatchObject({ phase: 'waiting', retryAt: 2000, restarting: true });
    vi.advanceTimersByTime(1999);
    expect(socket.connects).toBe(0);
    vi.advanceTimersByTime(1);
    expect(socket.connects).toBe(1);
    // Refused while the gateway is still starting: retried at the announced cadence, not longer.
    socket.emit('connect_error', new Error('xhr poll error'));
    socket.emit('connect_error', new Error('xhr poll error'));
    socket.emit('connect_error', new Error('xhr poll error'));
    expect(s.current.retryAt! - Date.now()).toBeLessThanOrEqual(2000);
  });

  it('does not retry a server disconnect without a notice, nor a client disconnect', () => {
    const socket = new FakeSocket();
    const s = new ReconnectScheduler(socket);
    socket.connected = false;
    socket.emit('disconnect', 'io server disconnect');
    expect(s.current.phase).toBe('stopped');
    vi.advanceTimersByTime(60_000);
    expect(socket.connects).toBe(0);
  });

  it('backs off exponentially with jitter after a transport loss, up to the cap, and resets on connect', () => {
    const socket = new FakeSocket();
    const s = new ReconnectScheduler(socket, {
      firstDelayMs: 500,
      maxDelayMs: 5000,
      random: () => 0.5,
    });
    socket.connected = false;
    socket.emit('disconnect', 'transport close');
    const delays = [s.current.retryAt! - Date.now()];
    for (let i = 0; i < 6; i++) {
      socket.emit('connect_error', new Error('websocket error'));
      delays.push(s.current.retryAt! - Date.now());
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    socket.connected = true;
    socket.emit('connect');
    expect(s.current).toMatchObject({ phase: 'connected', attempts: 0, retryAt: null });
  });

  it('stops on a permanent refusal', () => {
    const socket = new FakeSocket();
    const s = new ReconnectScheduler(socket, { isPermanent: (e) => e.message === 'bad token' });
    socket.connected = false;
    socket.emit('connect_error', new Error('bad token'));
    expect(s.current.phase).toBe('stopped');
  });
});
