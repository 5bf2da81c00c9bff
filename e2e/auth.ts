import type { Page } from '@playwright/test';
import { testIds } from '../lib/testIds';

/** Signs in through the sign-in page as one of the embedded default's local users. */
export async function signInAs(page: Page, name: 'ada' | 'sam' | 'remote'): Promise<void> {
  await page.goto('/signin');
  await page.getByTestId(testIds.signInUser(name)).click();
  await page.waitForURL(/\/$/);
  await page
    .getByTestId(testIds.identity)
    .and(page.locator(`[data-role]:not([data-role=""])`))
    .waitFor();
}
