import { WebSocket } from 'ws';
import { PLANES } from '@/lib/protocol';

/**
 * The baseline's producer: one raw `ws` connection to the broadcast server's /producer, sending
 * u32 header length + JSON header + pixels per frame. The same producer-side rule as Loupe's: skip
 * a frame while `inFlight` frames' bytes are still buffered in the socket.
 */
export async function wsProducer(
  url: string,
  inFlight: number,
): Promise<{
  publish(plane: number, seq: number, pixels: Uint16Array, shape: [number, number]): boolean;
  close(): void;
}> {
  const ws = new WebSocket(`${url}/producer`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    /** Sends one frame, or returns false when it skipped it. */
    publish(plane, seq, pixels, shape) {
      if (ws.bufferedAmount > inFlight * pixels.byteLength) return false;
      const header = Buffer.from(
        JSON.stringify({ stream: PLANES[plane], seq, shape, dtype: 'uint16', sentAt: Date.now() }),
      );
      const length = Buffer.alloc(4);
      length.writeUInt32LE(header.byteLength);
      ws.send(
        Buffer.concat([
          length,
          header,
          Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength),
        ]),
      );
      return true;
    },
    close: () => ws.close(),
  };
}
