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
import { phantomSlice, phantomValue, voxelCentre } from '../phantom/sheppLogan3d';

/** Edge of a preview-volume brick in voxels: 32³ uint16 = 64 KiB per message. */
const BRICK = 32;
/** Bricks per tick: at 4 Hz a 128³ preview (64 bricks) fills in 8 s. */
const BRICKS_PER_TICK = 2;

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
    for (const key of [...PLANES.map((p) => streamKey('full', p)), streamKey('full', 'volume')]) {
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
    publishBricks(acquiredAt);
  }, 1000 / options.rateHz);

  // The preview volume, half the slices' resolution, sent a few bricks per tick so it fills in
  // progressively and then keeps being refreshed, as a reconstruction would.
  const V = Math.max(BRICK, Math.round(options.size / 2 / BRICK) * BRICK);
  const perAxis = V / BRICK;
  const bricks = new Map<number, Uint16Array>();
  let brickIndex = 0;
  const publishBricks = (acquiredAt: number) => {
    for (let k = 0; k < BRICKS_PER_TICK; k++) {
      const index = brickIndex++ % perAxis ** 3;
      const [bx, by, bz] = [
        index % perAxis,
        Math.floor(index / perAxis) % perAxis,
        Math.floor(index / perAxis ** 2),
      ];
      let pixels = bricks.get(index);
      if (!pixels) {
        pixels = new Uint16Array(BRICK ** 3);
        for (let z = 0; z < BRICK; z++)
          for (let y = 0; y < BRICK; y++)
            for (let x = 0; x < BRICK; x++) {
              const d = phantomValue(
                voxelCentre(bx * BRICK + x, V),
                voxelCentre(by * BRICK + y, V),
                voxelCentre(bz * BRICK + z, V),
              );
              pixels[(z * BRICK + y) * BRICK + x] = Math.max(
                0,
                Math.min(4095, Math.round(d * 4000 + 40)),
              );
            }
        bricks.set(index, pixels);
      }
      const key = streamKey('full', 'volume');
      const seq = next.get(key) ?? 0;
      const voxel = (options.voxelSizeUm * options.size) / V;
      const { header, payload } = encodeFrame(
        {
          run: options.run,
          stream: 'volume',
          seq,
          dtype: 'uint16',
          shape: [BRICK, BRICK, BRICK],
          voxelSize: [voxel, voxel, voxel],
          volumeShape: [V, V, V],
          brickOffset: [bx * BRICK, by * BRICK, bz * BRICK],
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
  };

  return {
    stop() {
      clearInterval(timer);
      socket.close();
    },
  };
}
