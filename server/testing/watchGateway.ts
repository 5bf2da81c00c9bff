import type { DisconnectNotice } from '@/lib/protocol';
import type { Gateway } from '../gateway';

/** What the gateway did to its viewers, seen from inside an in-process gateway. */
export interface GatewayWatch {
  /** Viewer sockets that left, with the gateway's reason ('ping timeout', 'server namespace disconnect', …). */
  readonly disconnects: { id: string; reason: string; at: number }[];
  /** Every viewer:disconnect notice the gateway sent, with the socket it went to. */
  readonly notices: { id: string; notice: DisconnectNotice; at: number }[];
  /** Viewer sockets that connected, with when. */
  readonly connections: { id: string; at: number }[];
}

/** Records viewer connections, disconnect reasons and outgoing disconnect notices of a gateway. */
export function watchGateway(gw: Gateway): GatewayWatch {
  const watch: GatewayWatch = { disconnects: [], notices: [], connections: [] };
  gw.viewers.on('connection', (socket) => {
    watch.connections.push({ id: socket.id, at: Date.now() });
    socket.onAnyOutgoing((event: string, ...args: unknown[]) => {
      if (event === 'viewer:disconnect')
        watch.notices.push({ id: socket.id, notice: args[0] as DisconnectNotice, at: Date.now() });
    });
    socket.on('disconnect', (reason) =>
      watch.disconnects.push({ id: socket.id, reason, at: Date.now() }),
    );
  });
  return watch;
}
