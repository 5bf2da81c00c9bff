import type { Page } from '@playwright/test';
import { testIds } from '../lib/testIds';

/** Signs in through the sign-in page as one of the embedded default's local users. */
export async function signInAs(page: Page, name: 'ada' | 'kai' | 'sam' | 'remote'): Promise<void> {
  await page.goto('/signin');
  await page.getByTestId(testIds.signInUser(name)).click();
  await page.waitForURL(/\/$/);
  await page
    .getByTestId(testIds.identity)
    .and(page.locator(`[data-role]:not([data-role=""])`))
    .waitFor();
}

/** Posts a steering command from the page with the signed-in user's token, bypassing the UI. */
export function forgeCommand(
  page: Page,
  run: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: { error?: string } }> {
  return page.evaluate(
    async ({ run, body }) => {
      const res = await fetch(`/api/runs/${run}/commands`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${localStorage.getItem('loupe.token')}`,
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { error?: string } };
    },
    { run, body },
  );
}
