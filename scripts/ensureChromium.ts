/**
 * Browser tests run in Debian's Chromium (Playwright never downloads a browser here). When it is
 * missing: as root with apt, install it; otherwise print the one command that does, and fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH as CHROMIUM } from './chromiumLaunch';

if (!existsSync(CHROMIUM)) {
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (isRoot && hasApt) {
    console.log("[loupe] Chromium not found: installing Debian's chromium with apt-get…");
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (update.status !== 0 || install.status !== 0 || !existsSync(CHROMIUM)) {
      console.error('[loupe] installing chromium failed; see above');
      process.exit(1);
    }
  } else {
    console.error(
      `[loupe] No Chromium at ${CHROMIUM}. Install Debian's: sudo apt-get install -y chromium`,
    );
    process.exit(1);
  }
}
