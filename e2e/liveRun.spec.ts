import { expect, test } from '@playwright/test';
import { testIds } from '../lib/testIds';
import { changedShare, greyPixels, spread } from './pixels';

test('follow the demo run from the overview and see three live slices that change', async ({
  page,
}) => {
  await page.goto('/');
  await expect(page.getByTestId(testIds.connectionState)).toHaveAttribute(
    'data-state',
    'connected',
  );
  const link = page.getByTestId(testIds.runLink('demo'));
  await expect(link).toBeVisible();
  await expect(link.getByTestId(testIds.runState)).toHaveAttribute('data-state', 'streaming');
  await link.click();
  await expect(page).toHaveURL(/\/runs\/demo$/);

  const planes = ['xy', 'xz', 'yz'] as const;
  // Wait until every plane has drawn frames.
  for (const plane of planes) {
    await expect(page.getByTestId(testIds.sliceFps(plane))).not.toHaveText(/^0\.0 fps$/);
  }
  const first = await Promise.all(
    planes.map((p) => greyPixels(page.getByTestId(testIds.sliceCanvas(p)))),
  );
  for (const [i, shot] of first.entries()) {
    expect(spread(shot.grey), `${planes[i]} is not blank`).toBeGreaterThan(20);
  }
  // A converged reconstruction changes little per second (noise only): give each plane time.
  for (const [i, plane] of planes.entries()) {
    await expect
      .poll(
        async () =>
          changedShare(
            first[i]!.grey,
            (await greyPixels(page.getByTestId(testIds.sliceCanvas(plane)))).grey,
          ),
        { message: `${plane} changed`, timeout: 20_000 },
      )
      .toBeGreaterThan(0.005);
  }
  await expect(page.getByTestId(testIds.latency)).toContainText(/\d+ ms/);
});

test('the connection badge reports a lost gateway connection', async ({ page, context }) => {
  await page.goto('/');
  await expect(page.getByTestId(testIds.connectionState)).toHaveAttribute(
    'data-state',
    'connected',
  );
  await context.setOffline(true);
  await expect(page.getByTestId(testIds.connectionState)).not.toHaveAttribute(
    'data-state',
    'connected',
  );
  await context.setOffline(false);
  await expect(page.getByTestId(testIds.connectionState)).toHaveAttribute(
    'data-state',
    'connected',
    {
      timeout: 20_000,
    },
  );
});
