import { expect, test } from '@playwright/test';
import { testIds } from '../lib/testIds';
import { forgeCommand, signInAs } from './auth';

test('a viewer sees the live run, no steering control, and a forged command is refused', async ({
  page,
}) => {
  await signInAs(page, 'remote');
  await expect(page.getByTestId(testIds.identity)).toHaveAttribute('data-role', 'viewer');
  await page.goto('/runs/demo');
  const panel = page.getByTestId(testIds.steeringPanel);
  await expect(panel).toHaveAttribute('data-readonly', 'true');
  for (const kind of [
    'pause',
    'resume',
    'capture',
    'zoom',
    'reset-zoom',
    'set-parameters',
    'resubmit',
  ]) {
    await expect(page.getByTestId(testIds.command(kind))).toHaveCount(0);
  }
  // The hidden button is a courtesy: the gateway refuses the request itself.
  const forged = await forgeCommand(page, 'demo', { kind: 'pause' });
  expect(forged.status).toBe(403);
  expect(forged.body.error).toMatch(/a viewer cannot steer/);
});

test('staff see every attempt, allowed or refused, in the audit log', async ({ page }) => {
  await signInAs(page, 'remote');
  expect((await forgeCommand(page, 'demo', { kind: 'capture' })).status).toBe(403);
  await signInAs(page, 'sam');
  await page.goto('/audit');
  await page.getByTestId(testIds.auditFilter('subject')).fill('remote');
  await page.getByTestId(testIds.auditFilter('outcome')).selectOption('denied');
  const row = page.getByTestId(testIds.auditTable).locator('tr[data-outcome="denied"]').first();
  await expect(row).toContainText('command:capture');
  await expect(row).toContainText('remote');
});
