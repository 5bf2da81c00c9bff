import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { testIds } from '../lib/testIds';
import { signInAs } from './auth';

/** The systems the embedded simulator runs; the page must show at least these. */
const SYSTEMS = ['aurora', 'frontier', 'perlmutter', 'polaris'];
const UI_PORT = Number(process.env.LOUPE_E2E_PORT ?? 3210);
/** The embedded facility simulator's control API (playwright.config.ts sets LOUPE_SIM_PORT). */
const SIM_URL = process.env.LOUPE_SIM_URL ?? `http://127.0.0.1:${UI_PORT + 2000}`;
/**
 * The controls' token, fresh on every start, written by the gateway next to the users file. Each
 * call has a connection of its own: the test waits up to a minute between calls, and a kept-alive
 * socket the simulator closes as idle just as the next call reuses it fails with ECONNRESET.
 */
const simControl = () => ({
  connection: 'close',
  authorization: `Bearer ${readFileSync(
    process.env.LOUPE_SIM_CONTROL_TOKEN_FILE ?? '.e2e-data/sim-control-token',
    'utf8',
  ).trim()}`,
});

test('the facilities page shows every system live from the simulator, and the overview too', async ({
  page,
}) => {
  await signInAs(page, 'remote');
  const answer = await page.evaluate(async () => {
    const res = await fetch('/api/facilities', {
      headers: { authorization: `Bearer ${localStorage.getItem('loupe.token')}` },
    });
    return (await res.json()) as { systems: { system: string }[] };
  });
  const systems = [...new Set([...SYSTEMS, ...answer.systems.map((s) => s.system)])];

  const panel = page.getByTestId(testIds.facilitiesPanel);
  for (const system of systems)
    await expect(panel.getByTestId(testIds.facilitySummary(system))).toBeVisible();

  await page.goto('/facilities');
  await expect(page.getByTestId(testIds.facilityCards).locator('article')).toHaveCount(
    systems.length,
  );
  for (const system of systems) {
    const card = page.getByTestId(testIds.facilityCard(system));
    // Live: a fresh reading over HTTP, not the "not read yet" placeholder.
    // A poll every 5 s; right after the first build the machine is busy, so allow a few polls.
    await expect(card).toHaveAttribute('data-stale', 'false', { timeout: 45_000 });
    await expect(card).not.toHaveAttribute('data-status', 'unknown');
    // Frontier's sources (S3M, IRI) publish no queue depth: the card says so instead.
    await expect(card.getByTestId(testIds.facilityQueue(system))).toContainText(
      /\d+ jobs[\s\S]*node-h|publish no queue depth/,
    );
    await expect(card.getByTestId(testIds.facilityWindow(system))).toBeVisible();
    // Each figure names the source that gave it.
    await expect(
      card.getByTestId(testIds.facilityOrigins(system)).locator('li[data-figure="status"]'),
    ).toContainText(/status from (NERSC SF API|ALCF IRI v1|OLCF S3M|APS Slurm)/);
  }
  await expect(
    page.getByTestId(testIds.facilityOrigins('perlmutter')).locator('li[data-figure="nodes"]'),
  ).toContainText('node count from NERSC IRI v2');
  // History accumulates as the simulator runs; a chart appears once there is some.
  await expect(page.getByTestId(testIds.facilityChart('polaris'))).toBeVisible({
    timeout: 45_000,
  });
  // The default ranking is on screen with its reasons, without a click.
  const rec = page.getByTestId(testIds.recommendation);
  await expect(rec).toHaveAttribute('data-recommended', /^[a-z]/);
  await expect(rec.locator('li[data-rank="1"]')).toContainText('median wait');
  // A viewer is told who may decide; no decision control is offered.
  await expect(page.getByTestId(testIds.siteConfirm)).toHaveCount(0);
});

test('a system enters and leaves maintenance on the facilities page', async ({ page, request }) => {
  test.setTimeout(150_000);
  const reply = await request
    .get(`${SIM_URL}/_sim/clock`, { headers: simControl() })
    .catch((error: Error) => {
      throw new Error(
        `the facility simulator's controls are not at ${SIM_URL} (LOUPE_SIM_PORT / LOUPE_SIM_URL): ${error.message}`,
      );
    });
  const clock = (await reply.json()) as { speed: number };
  await signInAs(page, 'sam');
  await page.goto('/facilities');
  // The previous test's outage or a busy machine can leave one reading stale for a poll or two.
  for (const system of SYSTEMS)
    await expect(page.getByTestId(testIds.facilityCard(system))).toHaveAttribute(
      'data-stale',
      'false',
      { timeout: 60_000 },
    );

  // Any system that is up now will do; prefer Polaris.
  let system = '';
  for (const candidate of ['polaris', 'perlmutter', 'frontier', 'aurora']) {
    const status = await page
      .getByTestId(testIds.facilityCard(candidate))
      .getAttribute('data-status');
    if (status === 'up') {
      system = candidate;
      break;
    }
  }
  expect(system, 'some system is up').not.toBe('');
  const card = page.getByTestId(testIds.facilityCard(system));
  const status = page.getByTestId(testIds.facilityStatus(system));

  // Announce a window 15 s (real) from now, 25 s long, whatever the simulator's speed.
  const announced = await request.post(`${SIM_URL}/_sim/windows`, {
    headers: simControl(),
    data: {
      system,
      startInS: 15 * clock.speed,
      durationS: 25 * clock.speed,
      description: 'e2e maintenance',
    },
  });
  expect(announced.ok()).toBe(true);

  await expect(card.getByTestId(testIds.facilityWindow(system))).toHaveAttribute(
    'data-phase',
    'upcoming',
  );
  await expect(card.getByTestId(testIds.facilityCountdown(system))).toContainText('starts in');

  await expect(status).toHaveAttribute('data-status', 'maintenance', { timeout: 45_000 });
  await expect(card.getByTestId(testIds.facilityCountdown(system))).toContainText('ends in');
  await expect(page.getByTestId(testIds.facilityIncidents)).toContainText('e2e maintenance');
  // While it lasts, the recommendation leaves the system out and says why.
  await page.getByTestId(testIds.estimateSubmit).click();
  await expect(page.getByTestId(testIds.excludedSystem(system))).toContainText('maintenance');

  await expect(status).not.toHaveAttribute('data-status', 'maintenance', { timeout: 60_000 });
  await expect(status).toHaveAttribute('data-status', /^(up|degraded|down)$/);
});

test('staff confirm the recommended site and the choice is shown with who and when', async ({
  page,
}) => {
  await signInAs(page, 'sam');
  await page.goto('/facilities');
  const rec = page.getByTestId(testIds.recommendation);
  await expect(rec).toHaveAttribute('data-recommended', /^[a-z]/);
  const recommended = (await rec.getAttribute('data-recommended'))!;
  await page.getByTestId(testIds.siteConfirm).click();
  const decision = page.getByTestId(testIds.siteDecision);
  await expect(decision).toHaveAttribute('data-system', recommended);
  await expect(decision).toHaveAttribute('data-who', 'sam');
  await expect(decision).toContainText('recommendation confirmed');

  // Override by keyboard: pick another system, type a note, press Enter.
  const choice = page.getByTestId(testIds.siteOverrideChoice);
  const other = await choice.locator('option[value]:not([value=""])').first().getAttribute('value');
  await choice.selectOption(other!);
  await page.getByTestId(testIds.siteNote).fill('beamtime ends at 18:00');
  await page.getByTestId(testIds.siteNote).press('Enter');
  await expect(decision).toHaveAttribute('data-system', other!);
  await expect(decision).toContainText(`override of`);
  await expect(decision).toContainText('beamtime ends at 18:00');
});
