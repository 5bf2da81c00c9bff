import { readFileSync } from 'node:fs';
import { UsersFile } from '@/server/auth/LocalUsers';
import { gatewayUrl, readConfig } from '@/server/config';
import { startDemoProducer } from './demoProducer';

const config = readConfig();
const users = UsersFile.parse(JSON.parse(readFileSync(config.usersFile, 'utf8')));
const token =
  process.env.LOUPE_PRODUCER_TOKEN ?? users.users.find((u) => u.role === 'producer')?.token;
if (!token)
  throw new Error(
    `no producer token: set LOUPE_PRODUCER_TOKEN or add a producer to ${config.usersFile}`,
  );

const demo = startDemoProducer({
  gatewayUrl: process.env.LOUPE_GATEWAY_URL ?? gatewayUrl(config),
  token,
  run: 'demo',
  title: 'Demo: phantom at 2-BM',
  size: 256,
  rateHz: 4,
  voxelSizeUm: 1.3,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    demo.stop();
    process.exit(0);
  });
}
