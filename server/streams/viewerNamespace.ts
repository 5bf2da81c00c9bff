import type { Namespace, Socket } from 'socket.io';
import {
  type DisconnectNotice,
  type GatewayToViewer,
  type RunSummary,
  VIEWER_TO_GATEWAY,
  type ViewerDisplay,
  type ViewerToGateway,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import type { GatewayToGateway } from '../cluster/RunMirror';
import type { RunRegistry, StoredFrame } from './RunRegistry';
import { type ChannelObserver, ViewerChannel } from './ViewerChannel';
import { MessageRefusal, messageRouter } from './onMessage';
import { ViewerLink } from './ViewerLink';
import { runRoom } from './rooms';

export type ViewerNamespace = Namespace<
  ViewerToGateway,
  GatewayToViewer,
  GatewayToGateway,
  { identity: Identity }
>;
type ViewerSocket = Socket<
  ViewerToGateway,
  GatewayToViewer,
  GatewayToGateway,
  { identity: Identity }
>;

export interface FanOutOptions {
  /** A viewer whose oldest frame stays unacknowledged this long is disconnected (ms). */
  stallTimeoutMs: number;
  /**
   * A viewer holding more than this many bytes unacknowledged or pending is disconnected. Flow
   * control already bounds it by slots × (MAX_IN_FLIGHT + 1) frames; this caps what one viewer may
   * cost when slices are huge (4096² float32 = 64 MiB each). Default 256 MiB.
   */
  maxBufferedBytes?: number;
  /** How often each viewer gets its run metrics (ms); default 1000. */
  metricsIntervalMs?: number;
  /** Told of every frame sent, replaced and acknowledged (the gateway's metrics). */
  observer?: ChannelObserver;
  /** The run list sent on connect; default the registry's (a cluster adds the other gateways'). */
  listRuns?: () => RunSummary[];
}

export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

/** A viewer's display reports take effect at most this often (ms); the latest within one wins. */
const DISPLAY_INTERVAL_MS = 100;

/**
 * Fans frames out to viewers, each through its own ViewerChannel so a slow one never delays another.
 * Keeps, per run, the set of subscribed channels (rooms of our own: we need the channel, not the socket).
 */
export function attachViewerNamespace(
  ns: ViewerNamespace,
  registry: RunRegistry,
  options: FanOutOptions,
): { close(): void; inFlightPerViewer(): number[] } {
  const subscribers = new Map<string, Map<string, ViewerChannel>>();

  const onFrame = (run: string, frame: StoredFrame) => {
    for (const channel of subscribers.get(run)?.values() ?? []) channel.offer(frame);
  };
  registry.on('frame', onFrame);
  const onRejected = (run: string) => {
    for (const channel of subscribers.get(run)?.values() ?? []) channel.rejected(run);
  };
  registry.on('rejected', onRejected);

  // Run summaries change with every frame; coalesce to at most one broadcast per run per interval.
  const dirty = new Set<string>();
  const onRun = (summary: { id: string }) => {
    const current = registry.get(summary.id);
    if (current) ns.emit('run:update', current);
    dirty.delete(summary.id);
  };
  registry.on('run', onRun);
  const markDirty = (run: string) => dirty.add(run);
  registry.on('frame', markDirty);
  const SUMMARY_INTERVAL_MS = 1000;
  const summaryTimer = setInterval(() => {
    for (const id of dirty) {
      const current = registry.get(id);
      if (current) ns.to(runRoom(id)).emit('run:update', current);
    }
    dirty.clear();
  }, SUMMARY_INTERVAL_MS);

  const STALL_CHECK_MS = 1000;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const channels = new Map<
    string,
    { socket: ViewerSocket; channel: ViewerChannel; link: ViewerLink }
  >();
  const stallTimer = setInterval(() => {
    for (const { socket, channel } of channels.values()) {
      const stalled = channel.stalledFor();
      const bytes = channel.bufferedBytes();
      const notice: DisconnectNotice | null =
        stalled > options.stallTimeoutMs
          ? {
              code: 'stalled-seconds',
              message: `disconnected by the gateway: this viewer took no frame for ${Math.round(stalled / 1000)} s (limit ${Math.round(options.stallTimeoutMs / 1000)} s)`,
              limit: options.stallTimeoutMs,
              observed: stalled,
            }
          : bytes > maxBufferedBytes
            ? {
                code: 'stalled-bytes',
                message: `disconnected by the gateway: ${(bytes / 2 ** 20).toFixed(0)} MiB waiting for this viewer (limit ${(maxBufferedBytes / 2 ** 20).toFixed(0)} MiB)`,
                limit: maxBufferedBytes,
                observed: bytes,
              }
            : null;
      if (!notice) continue;
      socket.emit('viewer:disconnect', notice);
      socket.emit('protocol:error', { code: 'rate-limited', message: notice.message });
      socket.disconnect(true);
    }
  }, STALL_CHECK_MS);

  // Each viewer's own counters plus the run's rates and producer health, per followed run.
  const metricsTimer = setInterval(() => {
    for (const [run, set] of subscribers) {
      const shared = registry.metrics(run);
      if (!shared) continue;
      for (const [id, channel] of set) {
        const viewer = channel.flow(run);
        const entry = channels.get(id);
        const link = entry?.link.reported ? { link: entry.link.report(Date.now()) } : {};
        // Volatile: a stalled viewer's socket must not queue metrics either.
        if (viewer && entry)
          entry.socket.volatile.emit('run:metrics', {
            ...shared,
            viewer,
            viewers: set.size,
            ...link,
          });
      }
    }
  }, options.metricsIntervalMs ?? 1000);

  ns.on('connection', (socket: ViewerSocket) => {
    // A credential that expires (a share link, an OIDC token) sends nothing from its expiry on,
    // even in the moment before the session guard's timer ends the session.
    const expiresAt = socket.data.identity?.expiresAt;
    const link = new ViewerLink();
    const channel = new ViewerChannel(
      (frame, done) => {
        if (expiresAt !== undefined && Date.now() >= expiresAt) return;
        socket.emit('frame', frame.header, frame.payload, done);
      },
      Date.now,
      options.observer,
      link,
    );
    channels.set(socket.id, { socket, channel, link });
    socket.emit('runs', options.listRuns?.() ?? registry.list());

    // Unknown events are refused (and audited) by the gateway's per-message authorisation.
    const router = messageRouter(socket, VIEWER_TO_GATEWAY, false);

    // Display reports follow resizes, zooms and pans: at most one per interval, the latest kept.
    let displayAppliedAt = -Infinity;
    let displayLater: ViewerDisplay | null = null;
    let displayTimer: NodeJS.Timeout | null = null;
    const applyDisplay = (display: ViewerDisplay) => {
      displayAppliedAt = Date.now();
      link.display(display);
    };
    router.on('view:display', (display) => {
      const wait = displayAppliedAt + DISPLAY_INTERVAL_MS - Date.now();
      if (wait <= 0 && !displayTimer) return applyDisplay(display);
      displayLater = display;
      displayTimer ??= setTimeout(
        () => {
          displayTimer = null;
          if (displayLater) applyDisplay(displayLater);
          displayLater = null;
        },
        Math.max(0, wait),
      );
    });
    router.on(
      'run:subscribe',
      (request, { reply }) => {
        const run = registry.get(request.run);
        if (!run) throw new MessageRefusal('unknown-run', `unknown run ${request.run}`);
        let set = subscribers.get(run.id);
        if (!set) subscribers.set(run.id, (set = new Map()));
        set.set(socket.id, channel);
        channel.follow(run.id);
        void socket.join(runRoom(run.id));
        // Answered before the snapshot's frames are offered: the viewer knows the run first.
        reply?.({ ok: true, run });
        for (const frame of registry.snapshot(run.id)) channel.offer(frame);
      },
      { label: 'request' },
    );

    router.on(
      'run:unsubscribe',
      (request) => {
        subscribers.get(request.run)?.delete(socket.id);
        channel.forgetRun(request.run);
        void socket.leave(runRoom(request.run));
      },
      { label: 'request' },
    );

    socket.on('disconnect', () => {
      if (displayTimer) clearTimeout(displayTimer);
      for (const set of subscribers.values()) set.delete(socket.id);
      channels.delete(socket.id);
      channel.close();
    });
  });

  return {
    inFlightPerViewer: () => [...channels.values()].map((c) => c.channel.inFlightCount()),
    close() {
      clearInterval(summaryTimer);
      clearInterval(stallTimer);
      clearInterval(metricsTimer);
      registry.off('frame', onFrame);
      registry.off('rejected', onRejected);
      registry.off('frame', markDirty);
      registry.off('run', onRun);
    },
  };
}
