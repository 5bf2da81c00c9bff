/** Child process: a Loupe gateway on a loopback port for bench:links. */
import { startTestGateway } from '@/server/testing/testGateway';
import type { LinkChildMessage } from './messages';

const send = (m: LinkChildMessage) => process.connected && process.send?.(m);

// Full-resolution frames over 5 Mbit/s take ~13 s each: the stall limit must not end the baseline.
const gateway = await startTestGateway({ stallTimeoutMs: 120_000, metricsIntervalMs: 1000 });
send({ type: 'ready', port: gateway.port });
process.on('disconnect', () => void gateway.close().then(() => process.exit(0)));
