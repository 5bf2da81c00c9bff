import { LocalUsers, ensureDefaultUsersFile } from './auth/LocalUsers';
import { ShareLinks } from './auth/ShareLinks';
import { readConfig } from './config';
import { startGateway } from './gateway';

const config = readConfig();
ensureDefaultUsersFile(config.usersFile);

const gateway = await startGateway({
  host: config.gatewayHost,
  port: config.gatewayPort,
  db: config.dbPath,
  users: LocalUsers.fromFile(config.usersFile),
  allowAnonymousViewers: config.allowAnonymousViewers,
  allowedOrigins: config.allowedOrigins,
  logger: true,
  shareSecret: ShareLinks.secretFromFile(config.shareSecretFile),
  devSignIn: config.devSignIn,
  ...(config.oidc && { oidc: config.oidc }),
});
console.log(`Loupe gateway listening on ${gateway.url}`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing the gateway`);
  await gateway.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('unhandledRejection', (reason) => {
  gateway.app.log.error({ err: reason }, 'unhandled rejection');
});
