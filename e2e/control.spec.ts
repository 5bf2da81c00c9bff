import { type Browser, expect, type Page, test } from '@playwright/test';
import { testIds } from '../lib/testIds';
import { signInAs } from './auth';

async function scientist(browser: Browser, name: 'ada' | 'kai'): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signInAs(page, name);
  await page.goto('/runs/demo');
  // The steering panel with the consumer's declared controls: the run is registered.
  await expect(page.getByRole('spinbutton', { name: 'Rotation centre (px)' })).toBeVisible({
    timeout: 90_000,
  });
  return page;
}

/** Waits for the newest command of the run's history to be applied. */
async function applied(page: Page, kind: string) {
  const latest = page.getByTestId(testIds.commandItem).first();
  await expect(latest).toContainText(kind);
  await expect(latest.locator('[data-state]')).toHaveAttribute('data-state', 'applied', {
    timeout: 30_000,
  });
}

// On again on 2026-12-03 (evening). It failed in the clean-clone CI before: the holder's page (ada,
// opened first) never showed kai's request within 15 s while it kept drawing frames. A likely
// cause, found in issue 15's work and not proven for this spec: the gateway priced a volume brick
// at a slice's size in a viewer's byte budget, so whenever that viewer's frames were being adapted
// (a busy browser acknowledging late reads as a slow link) megabytes of bricks could be queued on
// its socket, and a control:state broadcast waits behind them. Bricks now count their real size.
// Green three times alone on a quiet machine after the fix; the CI decides the rest.
test('a second scientist must ask for control; the holder grants; the sweep montage applies a centre', async ({
  browser,
}) => {
  test.setTimeout(360_000);
  const ada = await scientist(browser, 'ada');
  // The demo's consumer may still be starting when this spec runs first: the sweep needs frames.
  await expect(ada.getByTestId(testIds.sliceFps('xy'))).not.toHaveText(/^0\.0 fps$/, {
    timeout: 90_000,
  });
  const kai = await scientist(browser, 'kai');

  await ada.getByTestId(testIds.control('request')).click(); // the controls are free: ada takes them
  await expect(ada.getByTestId(testIds.controlHolder)).toHaveText(/You hold control/);
  await expect(kai.getByTestId(testIds.controlHolder)).toHaveText('ada (scientist) holds control');

  // kai's command is refused with the reason until ada hands over.
  await kai.getByTestId(testIds.command('pause')).click();
  await expect(kai.getByTestId(testIds.commandError)).toContainText(
    'not_in_control: ada (scientist) holds control of run demo: request it first',
  );
  await kai.getByTestId(testIds.control('request')).click();
  await expect(ada.getByTestId(testIds.controlRequest)).toContainText(
    'kai (scientist) asks for control',
  );
  await ada.getByTestId(testIds.control('grant')).click();
  await expect(kai.getByTestId(testIds.controlHolder)).toHaveText(/You hold control/);
  await expect(ada.getByTestId(testIds.controlHolder)).toHaveText('kai (scientist) holds control');
  // The handoff is in both histories.
  for (const page of [ada, kai])
    await expect(
      page.getByTestId(testIds.controlHandoff).and(page.locator('[data-event=granted]')),
    ).toContainText('ada handed control to kai');

  // kai sweeps the centre: five candidates 2 px apart, shown as a labelled montage with scores.
  const centreField = kai.getByRole('spinbutton', { name: 'Rotation centre (px)' });
  const before = Number(await centreField.inputValue());
  await kai.getByRole('spinbutton', { name: 'Sweep candidates' }).fill('5');
  await kai.getByRole('spinbutton', { name: 'Sweep step (px)' }).fill('2');
  await kai.getByTestId(testIds.command('centre-sweep')).click();
  await applied(kai, 'centre-sweep');
  const montage = kai.getByTestId(testIds.sweepMontage);
  await expect(montage.getByRole('button')).toHaveCount(5, { timeout: 20_000 });
  await expect(kai.getByTestId(testIds.sweepScores).locator('.recharts-line-dot')).toHaveCount(5);
  const first = kai.getByTestId(testIds.sweepCandidate(0));
  await expect(first).toHaveText(`${before - 4} px`);

  // Clicking a candidate applies its centre through set-parameters.
  await first.click();
  await applied(kai, 'set-parameters');
  await expect(centreField).toHaveValue(String(before - 4));
  // ada, no longer the holder, cannot click one.
  await ada.getByTestId(testIds.sweepCandidate(2)).click({ timeout: 20_000 });
  await expect(ada.getByTestId(testIds.commandError)).toContainText('not_in_control');

  // Leave the demo as it was: the middle candidate is the centre it had; the controls free.
  await kai.getByTestId(testIds.sweepCandidate(2)).click();
  await applied(kai, 'set-parameters');
  await expect(centreField).toHaveValue(String(before));
  await kai.getByTestId(testIds.control('release')).click();
  await expect(ada.getByTestId(testIds.controlHolder)).toHaveText(/Control is free/);
  await ada.context().close();
  await kai.context().close();
});
