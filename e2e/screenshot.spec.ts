import { expect, type Page, test } from '@playwright/test';
import { testIds } from '../lib/testIds';
import { signInAs } from './auth';
import { greyPixels, spread } from './pixels';

// Regenerates the README's screenshot (docs/live-run.png) of the demo run with the viewer's tools
// in use: a ruler, a line profile with its plot, a region with its statistics, a moved plane.
//   LOUPE_SCREENSHOT=1 npx playwright test e2e/screenshot.spec.ts --workers=1
// Skipped otherwise, so the suite never rewrites a checked-in file.
test.skip(!process.env.LOUPE_SCREENSHOT, 'set LOUPE_SCREENSHOT=1 to regenerate docs/live-run.png');

async function drag(page: Page, plane: string, from: [number, number], to: [number, number]) {
  const box = (await page.getByTestId(testIds.sliceCanvas(plane)).boundingBox())!;
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to[0], box.y + box.height * to[1], { steps: 6 });
  await page.mouse.up();
}

test('docs/live-run.png: the demo run with measurements', async ({ page }) => {
  // Minutes on a loaded two-core machine with software WebGL.
  test.setTimeout(420_000);
  await page.setViewportSize({ width: 1600, height: 1240 });
  await signInAs(page, 'ada');
  await page.goto('/runs/demo');
  for (const plane of ['xy', 'xz', 'yz'])
    await expect
      .poll(
        async () => spread((await greyPixels(page.getByTestId(testIds.sliceCanvas(plane)))).grey),
        {
          timeout: 60_000,
        },
      )
      .toBeGreaterThan(20);
  await expect(page.getByTestId(testIds.volumeFill)).toContainText('100 % filled', {
    timeout: 60_000,
  });
  await page.getByTestId(testIds.colormap('viridis')).click();
  await page.getByRole('button', { name: 'Ruler' }).click();
  await drag(page, 'xy', [0.2, 0.25], [0.75, 0.6]);
  await page.getByRole('button', { name: 'Line profile' }).click();
  await drag(page, 'xz', [0.1, 0.5], [0.9, 0.5]);
  await page.getByRole('button', { name: 'Rectangle region' }).click();
  await drag(page, 'yz', [0.35, 0.35], [0.6, 0.6]);
  await page.keyboard.press('Escape');
  await expect(page.getByRole('listitem', { name: /profile m\d+ on xz/ })).toBeVisible();
  // Let the profile plot and the region's mean-over-time fill in.
  await page.waitForTimeout(4000);
  await page.screenshot({ path: 'docs/live-run.png', timeout: 240_000 });
});
