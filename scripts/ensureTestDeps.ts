/**
 * What the tests need from Debian, not npm: Chromium for the browser tests (Playwright never
 * downloads a browser here) and python-socketio + numpy + websocket-client + jsonschema for the
 * Python SDK's tests, with venv and setuptools for its install test; PostgreSQL for the store's
 * and the cluster's tests, HAProxy for the cluster's (each test starts its own loopback
 * instance; Debian's services are not used) and promtool (prometheus) for the metrics' lint. When something is missing: as root with apt, install
 * it; otherwise print the one command that does, and fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH } from './chromiumLaunch';

const PYTHON = process.env.LOUPE_PYTHON ?? '/usr/bin/python3';

const missing: string[] = [];
if (!existsSync(CHROMIUM_PATH)) missing.push('chromium');
const postgres = spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb'], {
  stdio: 'ignore',
});
if (postgres.status !== 0) missing.push('postgresql');
if (!existsSync('/usr/sbin/haproxy')) missing.push('haproxy');
// promtool lints /metrics (server/metrics/GatewayMetrics.test.ts, the facility scrapes).
if (!existsSync('/usr/bin/promtool')) missing.push('prometheus');
const python = spawnSync(
  PYTHON,
  ['-c', 'import socketio, numpy, websocket, jsonschema, ensurepip, setuptools, pip'],
  { stdio: 'ignore' },
);
if (python.status !== 0)
  missing.push(
    'python3-socketio',
    'python3-numpy',
    'python3-websocket',
    'python3-jsonschema',
    'python3-venv',
    'python3-setuptools',
    'python3-pip',
  );

if (missing.length > 0) {
  const command = `apt-get install -y ${missing.join(' ')}`;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    console.error(
      `[loupe] The tests need Debian packages that are missing. Install them: sudo ${command}`,
    );
    process.exit(1);
  }
  console.log(`[loupe] installing ${missing.join(', ')} with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], {
    stdio: 'inherit',
    env,
  });
  if (update.status !== 0 || install.status !== 0) {
    console.error(`[loupe] ${command} failed; see above`);
    process.exit(1);
  }
}
