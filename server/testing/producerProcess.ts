import { LoupeProducer } from '@/consumers/sdk/LoupeProducer';

/**
 * A producer as its own process, for fault tests that kill it (server/faults/s01-*): streams
 * 32×32 xy slices of run LOUPE_TEST_RUN at 10 Hz to LOUPE_TEST_GATEWAY with LOUPE_TEST_TOKEN, and
 * prints `{"registered": lastKept}` each time it registers.
 */
const url = process.env.LOUPE_TEST_GATEWAY;
const token = process.env.LOUPE_TEST_TOKEN;
const run = process.env.LOUPE_TEST_RUN;
if (!url || !token || !run) throw new Error('LOUPE_TEST_GATEWAY, _TOKEN and _RUN are required');

const producer = new LoupeProducer({ url, token, run: { run, title: 'fault scenario: producer' } });
producer.on('registered', (lastKept) => console.log(JSON.stringify({ registered: lastKept })));
await producer.connect();
const pixels = new Uint8Array(32 * 32);
for (let i = 0; ; i++) {
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
