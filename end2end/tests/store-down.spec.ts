// Runs after every other spec (its own project in playwright.config.ts): it breaks the
// server's image store, which would show in the pages other tests look at.
import { test, expect, hydrated, PRODUCT, pictureReady, watchImages } from './fixtures';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dataDir = process.env.EMPORIUM_DATA_DIR;

async function assetsStatus(request: import('@playwright/test').APIRequestContext) {
  const ready = await (await request.get('/readyz')).json();
  return ready.components.assets.status as string;
}

test('with the image store broken, pages are text-only at once, and pictures come back', async ({
  page,
  request,
}) => {
  test.skip(!dataDir, 'EMPORIUM_DATA_DIR names the server data folder (cargo xtask test sets it)');
  test.setTimeout(120_000);
  await pictureReady(page, PRODUCT);
  const store = path.join(dataDir!, 'assets');
  const away = `${store}.away`;
  // The store's folder disappears and a file stands in its way: every store call fails.
  fs.renameSync(store, away);
  fs.writeFileSync(store, 'not a folder');
  try {
    await expect.poll(() => assetsStatus(request), { timeout: 20_000 }).toBe('degraded');
    const failed = watchImages(page);
    for (const url of [PRODUCT, '/c/beauty', '/search?q=mascara', '/']) {
      const started = Date.now();
      const response = await page.goto(url);
      expect(response?.status()).toBe(200);
      await hydrated(page);
      expect(Date.now() - started, `${url} waited on the store`).toBeLessThan(2_000);
      await expect(page.locator('img[src*="/assets/"]')).toHaveCount(0);
      await expect(page.getByTestId('images-note')).toBeVisible();
    }
    await page.goto(PRODUCT);
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Essence Mascara Lash Princess');
    await expect(page.locator('.product-media .monogram')).toBeVisible();
    // Buying still works.
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect(page.getByTestId('cart-count')).toHaveText('1');
    expect(failed, 'no image request was made to fail').toEqual([]);
  } finally {
    fs.rmSync(store, { force: true });
    fs.renameSync(away, store);
  }
  // The store is back: the next probe closes the breaker and pictures return, no restart.
  await expect.poll(() => assetsStatus(request), { timeout: 20_000 }).toBe('up');
  await page.goto(PRODUCT);
  await hydrated(page);
  await expect(page.locator('.product-media img')).toHaveCount(1);
  await expect(page.getByTestId('images-note')).toHaveCount(0);
});
