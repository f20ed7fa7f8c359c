import { test as base, expect, Page } from '@playwright/test';

// Every page a test opens must be free of console errors and uncaught exceptions: a
// hydration mismatch or a missing file shows up there first.
export const test = base.extend<{ page: Page }>({
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // A 404 page's own status is logged by Chromium as a failed load; tests check the
      // status of the document they open themselves.
      const ownDocument = msg.location().url === page.url();
      if (ownDocument && msg.text().startsWith('Failed to load resource')) return;
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await use(page);
    expect(problems, 'the page logged errors').toEqual([]);
  },
});

export { expect };

/** Waits until the wasm bundle has hydrated the page (the app marks <body> when it has). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
}

// The demo catalog's pictures are drawn in the background after start, in product order:
// the first products get theirs within seconds.
export const PRODUCT = '/p/essence-mascara-lash-princess';

/** Waits until the product page's HTML carries a picture from the store. */
export async function pictureReady(page: Page, path: string) {
  await expect
    .poll(async () => (await (await page.request.get(path)).text()).includes('/assets/s/'), {
      timeout: 60_000,
      intervals: [250, 500, 1000],
    })
    .toBe(true);
}

/** Records every image request that failed or came back with an error status. */
export function watchImages(page: Page): string[] {
  const failed: string[] = [];
  page.on('requestfailed', (r) => {
    if (r.resourceType() === 'image') failed.push(`${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.request().resourceType() === 'image' && r.status() >= 400) {
      failed.push(`${r.url()} ${r.status()}`);
    }
  });
  return failed;
}

