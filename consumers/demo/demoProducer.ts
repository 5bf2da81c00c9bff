import { io } from 'socket.io-client';
import {
  encodeFrame,
  type GatewayToProducer,
  PLANES,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type ProducerToGateway,
  type StreamKey,
  streamKey,
} from '@/lib/protocol';
import type { Socket } from 'socket.io-client';
import { phantomSlice } from '../phantom/sheppLogan3d';

export interface DemoOptions {
  gatewayUrl: string;
  token: string;
  run: string;
  title: string;
  /** Edge of each slice in pixels. */
  size: number;
  /** Slice sets per second. */
  rateHz: number;
  /** Physical voxel edge in micrometres (a 2× binned 6.5 µm sCMOS pixel). */
  voxelSizeUm: number;
}

/**
 * Streams the three orthogonal slices of the analytic Shepp–Logan phantom, the slice position
 * sweeping slowly so the images change. Stand-in for a reconstruction until the reference consumer.
 */
export function startDemoProducer(options: DemoOptions): { stop(): void } {
  const socket: Socket<GatewayToProducer, ProducerToGateway> = io(
    options.gatewayUrl + PRODUCER_NAMESPACE,
    {
      path: PRODUCER_SOCKET_PATH,
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION, token: options.token },
      // Backoff from 0.5 s up to 5 s while the gateway is away; never give up.
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    },
  );
  const next = new Map<StreamKey, number>();
  let registered = false;
  let tick = 0;

  socket.on('connect', async () => {
    registered = false;
    const lastSent = Object.fromEntries([...next].map(([k, v]) => [k, v - 1]));
    const reply = await socket.emitWithAck('run:register', {
      run: options.run,
      title: options.title,
      sample: 'Shepp–Logan phantom (analytic)',
      beamline: '2-BM (simulated)',
      lastSent,
    });
    if (!reply.ok) {
      console.error(`demo producer: registration refused: ${reply.error}`);
      return;
    }
    for (const plane of PLANES) {
      const key = streamKey('full', plane);
      next.set(key, Math.max(next.get(key) ?? 0, (reply.lastKept[key] ?? -1) + 1));
    }
    registered = true;
    console.log(`demo producer: streaming run ${options.run} to ${options.gatewayUrl}`);
  });
  socket.on('connect_error', (err) =>
    console.error(`demo producer: cannot connect (${err.message}); retrying`),
  );
  socket.on('protocol:error', (e) =>
    console.error(`demo producer: gateway refused ${e.event ?? 'a message'}: ${e.message}`),
  );

  const timer = setInterval(() => {
    if (!registered || !socket.connected) return;
    tick++;
    const n = options.size;
    // The slice position drifts through the middle half of the volume and back, one cycle per ~20 s.
    const position = Math.round(
      n / 2 + (n / 4) * Math.sin((2 * Math.PI * tick) / (20 * options.rateHz)),
    );
    const acquiredAt = Date.now();
    for (const plane of PLANES) {
      const density = phantomSlice(plane, position, n);
      const pixels = new Uint16Array(n * n);
      // Densities span [0, 1]; map to 12 bits like a detector-scaled reconstruction, with faint noise.
      for (let i = 0; i < pixels.length; i++) {
        pixels[i] = Math.max(
          0,
          Math.min(4095, Math.round(density[i]! * 4000 + 40 + Math.random() * 30)),
        );
      }
      const key = streamKey('full', plane);
      const seq = next.get(key) ?? 0;
      const { header, payload } = encodeFrame(
        {
          run: options.run,
          stream: plane,
          seq,
          dtype: 'uint16',
          shape: [n, n],
          voxelSize: [options.voxelSizeUm, options.voxelSizeUm, options.voxelSizeUm],
          position,
          volumeShape: [n, n, n],
          range: [0, 4095],
          acquiredAt,
          reconstructedAt: Date.now(),
          publishedAt: Date.now(),
        },
        pixels,
      );
      next.set(key, seq + 1);
      socket.emit('frame', header, payload);
    }
  }, 1000 / options.rateHz);

  return {
    stop() {
      clearInterval(timer);
      socket.close();
    },
  };
}
