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
