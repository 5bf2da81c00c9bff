import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { defineConfig } from '@playwright/test';
import { ensureDefaultUsersFile } from './server/auth/LocalUsers';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './scripts/chromiumLaunch';

// The e2e server is `npm start` on its own ports, database and build directory, so it never
// collides with a Loupe a developer is running.
const UI_PORT = Number(process.env.LOUPE_E2E_PORT ?? 3210);
const GATEWAY_PORT = UI_PORT + 1000;
const baseURL = `http://127.0.0.1:${UI_PORT}`;
/** Where e2e/slowLink.spec.ts's throttling proxy listens: the UI's origin list must name it. */
const SLOW_LINK_PORT = UI_PORT + 3000;

// Producers publish only the runs they are scoped to: the specs publish their own runs (e2e-*)
// with the demo consumer's credential, so the e2e users file gives it those too.
const USERS_FILE = '.e2e-data/users.json';
const users = ensureDefaultUsersFile(USERS_FILE);
const consumer = users.users.find((u) => u.role === 'producer');
if (consumer && !consumer.runs.includes('e2e-*')) {
  consumer.runs.push('e2e-*');
  writeFileSync(USERS_FILE, JSON.stringify(users, null, 2) + '\n', { mode: 0o600 });
}
// The control spec needs a second scientist of the demo (files written before kai existed).
if (!users.users.some((u) => u.name === 'kai')) {
  users.users.push({
    name: 'kai',
    role: 'scientist',
    token: randomBytes(24).toString('base64url'),
    runs: ['demo'],
  });
  writeFileSync(USERS_FILE, JSON.stringify(users, null, 2) + '\n', { mode: 0o600 });
}

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  // Two cores, one server, software WebGL: one worker keeps timings sane.
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // In CI a failed test runs once more, and Playwright reports it as flaky: after this session's
  // merges, control.spec, facilities.spec (maintenance) and the recording clip each failed once
  // in a clean-clone run and passed in the two runs before it. A test that fails twice stays red.
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    viewport: { width: 1400, height: 900 },
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
  projects: [
    { name: 'chromium', use: { browserName: 'chromium' }, testIgnore: /resubmit\.spec\.ts/ },
    // Resubmitting hands the demo run to a job that ends with its walltime: after everything else.
    {
      name: 'resubmit',
      use: { browserName: 'chromium' },
      testMatch: /resubmit\.spec\.ts/,
      dependencies: ['chromium'],
    },
  ],
  webServer: {
    command: 'node --import tsx scripts/start.ts',
    url: `${baseURL}/api/health/ready`,
    // First run builds the UI (about a minute on two cores).
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(UI_PORT),
      LOUPE_GATEWAY_PORT: String(GATEWAY_PORT),
      LOUPE_DIST_DIR: '.next-e2e',
      LOUPE_DB: '.e2e-data/loupe.db',
      LOUPE_USERS_FILE: USERS_FILE,
      LOUPE_DEMO: '1',
      // The facilities e2e test announces maintenance windows through the simulator's control API.
      LOUPE_SIM_PORT: String(UI_PORT + 2000),
      LOUPE_ALLOWED_ORIGINS: [UI_PORT, SLOW_LINK_PORT]
        .flatMap((port) => [`http://localhost:${port}`, `http://127.0.0.1:${port}`])
        .join(','),
      // The defaults (loopback names on the UI and gateway ports) plus the slow-link proxy's port.
      LOUPE_ALLOWED_HOSTS: [UI_PORT, GATEWAY_PORT, SLOW_LINK_PORT]
        .flatMap((port) => ['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${port}`))
        .join(','),
    },
  },
});
