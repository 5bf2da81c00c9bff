import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { LoupeProducer } from '@/consumers/sdk/LoupeProducer';
import {
  ConnectRefusal,
  type GatewayToViewer,
  PROTOCOL_VERSION,
  VIEWER_NAMESPACE,
  VIEWER_SOCKET_PATH,
  type ViewerToGateway,
} from '@/lib/protocol';
import { ReconnectScheduler } from '@/lib/reconnect/ReconnectScheduler';
import type { UsersFile } from '../auth/LocalUsers';
import { type GatewayProcess, spawnGateway } from '../testing/spawnGateway';
import { eventually, TEST_USERS, TOKENS } from '../testing/testGateway';

export const RUN = 'fault-run';
/** A viewer whose token the restarted gateway no longer knows: proves the middleware ran again. */
const REVOKED = {
  name: 'revoked',
  role: 'viewer' as const,
  token: 'revoked-token-0123456789',
  runs: [],
};

/** One viewer as the browser's LiveClient drives it: ReconnectScheduler, re-subscribe on connect. */
class SwarmViewer {
  readonly socket: Socket<GatewayToViewer, ViewerToGateway>;
  readonly reconnects: ReconnectScheduler;
  connects = 0;
  /** Epoch ms of the latest connect, runs list and subscribe answer (the snapshot). */
  connectedAt = 0;
  runsAt = 0;
  subscribedAt = 0;
  frameAt = 0;
  socketIds: string[] = [];
  refusal: string | null = null;

  constructor(url: string, token: string | undefined) {
    this.socket = io(url + VIEWER_NAMESPACE, {
      path: VIEWER_SOCKET_PATH,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { origin: new URL(url).origin },
      auth: { protocolVersion: PROTOCOL_VERSION, ...(token && { token }) },
    });
    this.reconnects = new ReconnectScheduler(this.socket, {
      firstDelayMs: 500,
      maxDelayMs: 5000,
      isPermanent: (err) => ConnectRefusal.safeParse((err as { data?: unknown }).data).success,
    });
    this.socket.on('connect', () => {
      this.connects++;
      this.connectedAt = Date.now();
      this.socketIds.push(this.socket.id ?? '');
      this.socket.emit('run:subscribe', { run: RUN }, (answer) => {
        if (answer.ok) this.subscribedAt = Date.now();
      });
    });
    this.socket.on('runs', () => (this.runsAt = Date.now()));
    this.socket.on('frame', (_header, _payload, received) => {
      this.frameAt = Date.now();
      received();
    });
    this.socket.on('connect_error', (err) => {
      const refusal = ConnectRefusal.safeParse((err as { data?: unknown }).data);
      if (refusal.success) this.refusal = refusal.data.code;
    });
  }

  /** Back after `since`: connected, handed the run list and re-subscribed (snapshot taken). */
  backAt(since: number): number | null {
    if (this.connectedAt < since || this.runsAt < since || this.subscribedAt < since) return null;
    return Math.max(this.connectedAt, this.runsAt, this.subscribedAt);
  }

  close(): void {
    this.reconnects.stop();
    this.socket.close();
  }
}

export interface RestartFigures {
  viewers: number;
  back: number;
  /** Seconds from the signal to each viewer back within the window, sorted. */
  seconds: number[];
  p50: number;
  p99: number;
  max: number;
  /** The same, counted from the moment the new gateway listened. */
  p50AfterListening: number;
  p99AfterListening: number;
  /** Seconds from the signal until the new gateway listened. */
  restartSeconds: number;
  /** Seconds from the signal until the old process was gone (its drain). */
  exitSeconds: number;
  commandsAccepted: number;
  commandsApplied: number;
  executedTwice: number;
  executionsLost: number;
  revokedRefused: string | null;
  producerReconnected: boolean;
  exitCode: number | NodeJS.Signals | null;
  allFreshSessions: boolean;
  /** Most connects any viewer made (2 = once before, once after: nobody looping). */
  maxConnects: number;
  /** Gateway CPU time over the window after it listened, as a share of one core. */
  cpuShare: number;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * A real gateway process under `viewerCount` viewers, one producer streaming 10 Hz and a staff user
 * steering every ~600 ms (retrying each command with its idempotency key until answered); the
 * gateway gets `signal`, is started again on the same port, database and users (less one revoked
 * viewer), and every viewer is given `windowMs` from the moment it listens to come back. Bounded: 100 viewers,
 * one start timeout, one window.
 */
export async function restartScenario(
  signal: 'SIGTERM' | 'SIGKILL',
  viewerCount: number,
  windowMs: number,
): Promise<RestartFigures> {
  const users: UsersFile = { users: [...TEST_USERS.users, REVOKED] };
  const gw: GatewayProcess = await spawnGateway({ users });
  const viewers: SwarmViewer[] = [];
  let revoked: SwarmViewer | null = null;
  const executions = new Map<string, number>();
  const producer = new LoupeProducer({
    url: gw.url,
    token: TOKENS.producer,
    run: { run: RUN, title: 'fault scenario: restart' },
  });
  producer.on('error', () => undefined);
  producer.onCommand(async (command) => {
    executions.set(command.id, (executions.get(command.id) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { status: 'applied' };
  });
  let streaming = true;
  let steering = true;
  const accepted = new Set<string>();
  try {
    await producer.connect();
    const pixels = new Uint8Array(32 * 32);
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        pixels.fill(i % 256);
        producer.publishSlice({
          plane: 'xy',
          shape: [32, 32],
          pixels,
          voxelSize: [1, 1, 1],
          acquiredAt: Date.now(),
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const steer = async () => {
      while (steering) {
        const key = randomUUID();
        // A client retries a command with the same key until the gateway answers (≤ 40 tries).
        for (let attempt = 0; attempt < 40 && steering; attempt++) {
          try {
            const res = await fetch(`${gw.url}/api/runs/${RUN}/commands`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${TOKENS.staff}`,
                'idempotency-key': key,
                'content-type': 'application/json',
              },
              body: JSON.stringify({ kind: 'capture' }),
              signal: AbortSignal.timeout(5000),
            });
            const body = (await res.json()) as { command?: { id: string } };
            if (body.command) accepted.add(body.command.id);
            if (res.status < 500) break;
          } catch {
            // The gateway is down: try again with the same key.
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        await new Promise((resolve) => setTimeout(resolve, 600));
      }
    };
    const steering1 = steer();

    for (let i = 0; i < viewerCount; i++)
      viewers.push(new SwarmViewer(gw.url, i % 2 ? TOKENS.viewer : undefined));
    const revokedViewer = new SwarmViewer(gw.url, REVOKED.token);
    revoked = revokedViewer;
    await eventually(
      () =>
        viewers.every((v) => v.subscribedAt > 0 && v.frameAt > 0) && revokedViewer.subscribedAt > 0,
      30_000,
      'every viewer connected and receiving before the restart',
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const signalledAt = Date.now();
    const exitCode = await gw.kill(signal);
    const exitSeconds = (Date.now() - signalledAt) / 1000;
    await gw.restart(TEST_USERS);
    const listeningAt = Date.now();
    const cpuBefore = cpuSeconds(gw.pid);
    const restartSeconds = (listeningAt - signalledAt) / 1000;
    // How long the new process takes to start is the machine's (2 busy cores: 2–8 s of module
    // loading); the window the clients answer for starts when it listens.
    const deadline = listeningAt + windowMs;
    while (Date.now() < deadline && viewers.some((v) => v.backAt(signalledAt) === null))
      await new Promise((resolve) => setTimeout(resolve, 50));
    const backTimes = viewers
      .map((v) => v.backAt(signalledAt))
      .filter((t): t is number => t !== null && t <= deadline)
      .sort((a, b) => a - b);
    const seconds = backTimes.map((t) => (t - signalledAt) / 1000);
    const cpuShare = (cpuSeconds(gw.pid) - cpuBefore) / ((Date.now() - listeningAt) / 1000);
    const afterListening = backTimes.map((t) => Math.max(0, t - listeningAt) / 1000);
    await eventually(
      () => revokedViewer.refusal !== null,
      15_000,
      'the revoked viewer refused',
    ).catch(() => undefined);

    steering = false;
    await steering1;
    // Every accepted command reaches its consumer once, restart or not (bounded wait).
    const appliedIds = async () => {
      const res = await fetch(`${gw.url}/api/runs/${RUN}/commands`, {
        headers: { authorization: `Bearer ${TOKENS.staff}` },
      });
      const body = (await res.json()) as { commands: { id: string; state: string }[] };
      return new Set(body.commands.filter((c) => c.state === 'applied').map((c) => c.id));
    };
    let applied = new Set<string>();
    const settleBy = Date.now() + 20_000;
    while (Date.now() < settleBy) {
      applied = await appliedIds();
      if ([...accepted].every((id) => applied.has(id))) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    streaming = false;
    await stream;
    const producerReconnected = producer.online;
    return {
      viewers: viewerCount,
      back: seconds.length,
      seconds,
      p50: quantile(seconds, 0.5),
      p99: quantile(seconds, 0.99),
      max: seconds[seconds.length - 1] ?? NaN,
      p50AfterListening: quantile(afterListening, 0.5),
      p99AfterListening: quantile(afterListening, 0.99),
      restartSeconds,
      exitSeconds,
      commandsAccepted: accepted.size,
      commandsApplied: [...accepted].filter((id) => applied.has(id)).length,
      executedTwice: [...executions.values()].filter((n) => n > 1).length,
      executionsLost: [...accepted].filter((id) => !executions.has(id)).length,
      revokedRefused: revokedViewer.refusal,
      producerReconnected,
      exitCode,
      maxConnects: Math.max(...viewers.map((v) => v.connects)),
      cpuShare,
      allFreshSessions: viewers.every(
        (v) => v.socketIds.length >= 2 && new Set(v.socketIds).size === v.socketIds.length,
      ),
    };
  } finally {
    streaming = false;
    steering = false;
    for (const v of viewers) v.close();
    revoked?.close();
    await producer.close();
    await gw.dispose();
  }
}

/** User + system CPU seconds a process has used (Linux /proc/<pid>/stat, 100 ticks/s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
