import { expect, test } from '@playwright/test';
import { testIds } from '../lib/testIds';
import { signInAs } from './auth';
import { greyPixels, spread } from './pixels';

// Runs last (its own project in playwright.config.ts): afterwards the demo run is streamed by the
// resubmitted job's consumer, which stops when the job's walltime is up.
test('staff resubmit the run: the job is queued at the chosen site and streaming resumes', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await signInAs(page, 'sam');
  // A site that is up, and a one-node job: the simulator's queues are real-shaped, and an 8-node
  // job at the 24-node beamline cluster (where jobEnd.spec's staff decision points) waits more
  // than 90 simulated minutes about half the time; one node at a large machine starts at once.
  await page.goto('/facilities');
  let system = '';
  for (const candidate of ['perlmutter', 'frontier', 'polaris', 'aurora']) {
    const card = page.getByTestId(testIds.facilityCard(candidate));
    await expect(card).toHaveAttribute('data-status', /^(up|degraded|down|maintenance)$/);
    if ((await card.getAttribute('data-status')) === 'up') {
      system = candidate;
      break;
    }
  }
  expect(system, 'some large system is up').not.toBe('');
  await page.goto('/runs/demo');
  await expect(page.getByTestId(testIds.sliceFps('xy'))).not.toHaveText(/^0\.0 fps$/);
  await page.getByTestId(testIds.resubmitSite).fill(system);
  await page.getByLabel('nodes (empty: as decided)').fill('1');
  // Its own walltime: a staff decision stands for the next job with the job shape it was made
  // for, and jobEnd.spec's leaves one minute (a second of real time at the simulator's 60×, too
  // short for a consumer to start: "ended failed before streaming: walltime reached").
  await page.getByLabel('walltime in min (empty: as decided)').fill('120');
  await page.getByTestId(testIds.command('resubmit')).click();
  const latest = page.getByTestId(testIds.commandList).locator('li').first();
  await expect(latest).toContainText('resubmit');
  // Delivered as a job at the chosen site (queued, or already running where the queue is empty),
  // then applied once the job's consumer streams: one of these texts is on screen.
  const SITE = `(${system})`;
  await expect(latest).toContainText(
    new RegExp(`job \\S+ (queued|running) at ${SITE}|streaming again from ${SITE} \\(job `),
    { timeout: 30_000 },
  );
  // Polled with its text, so a failure shows why the command failed, not only that it did.
  await expect
    .poll(
      async () =>
        `${await latest.locator('[data-state]').getAttribute('data-state')}: ${await latest.textContent()}`,
      { timeout: 90_000 },
    )
    .toMatch(/^applied: /);
  await expect(latest).toContainText(new RegExp(`streaming again from ${system} \\(job `));
  const canvas = page.getByTestId(testIds.sliceCanvas('xy'));
  await expect
    .poll(async () => spread((await greyPixels(canvas)).grey), { timeout: 30_000 })
    .toBeGreaterThan(10);
  await expect(
    page.getByTestId(testIds.runLink('demo')).or(page.getByTestId(testIds.runState)),
  ).toBeVisible();
});
