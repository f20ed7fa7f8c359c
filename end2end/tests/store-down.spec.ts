// Breaks the image store of a shop of its own (a second server on its own data folder and
// port), so it runs beside every other spec without touching the pages they look at.
import { test, expect, hydrated, PRODUCT, pictureReady, ownShop } from './fixtures';
import type { APIRequestContext } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

async function assetsStatus(request: APIRequestContext, shop: string) {
  const ready = await (await request.get(`${shop}/readyz`)).json();
  return ready.components.assets.status as string;
}

/** Every call to the image store so far, made or refused by its breaker (from /metrics). */
async function storeCalls(request: APIRequestContext, shop: string) {
  const text = await (await request.get(`${shop}/metrics`)).text();
  const counter = (name: string) => {
    const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1];
    expect(value, `/metrics has ${name}`).toBeDefined();
    return Number(value);
  };
  return counter('emporium_asset_store_calls_total') + counter('emporium_asset_store_rejected_total');
}

test('with the image store broken, pages are text-only without asking the store, and pictures come back', async ({
  page,
}) => {
  test.setTimeout(180_000);
  // The periodic probe is off (it runs once, at start): with the breaker open, nothing but a
  // shopper's picture request reaches the store, so the counters below see what pages do.
  // The server's own info lines say when the demo pictures stop being drawn.
  const shop = await ownShop({
    EMPORIUM_ASSET_PROBE_MS: '3600000',
    EMPORIUM_ASSET_COOL_DOWN_MS: '1000',
    RUST_LOG: 'warn,server=info',
  });
  const at = (p: string) => `${shop.url}${p}`;
  const store = path.join(shop.dataDir, 'assets');
  const away = `${store}.away`;
  try {
    await pictureReady(page, at(PRODUCT));
    const html = await (await page.request.get(at(PRODUCT))).text();
    const picture = /\/assets\/s\/[^"\s,]+/.exec(html)?.[0] ?? 'no picture on the product page';

    // The store's folder disappears and a file stands in its way: every store call fails.
    fs.renameSync(store, away);
    fs.writeFileSync(store, 'not a folder');
    try {
      // A shopper asking for the picture finds the store failing; the breaker opens.
      await expect
        .poll(
          async () => {
            await page.request.get(at(picture));
            return assetsStatus(page.request, shop.url);
          },
          { message: 'the breaker opened', timeout: 20_000 },
        )
        .toBe('degraded');
      // The demo pictures drawn in the background stop at their first failure (or were done).
      await expect
        .poll(() => /demo pictures (paused|not drawn)|drew the demo catalog's pictures/.test(shop.log()), {
          message: 'the demo pictures stopped being drawn',
          timeout: 30_000,
        })
        .toBe(true);

      const callsBefore = await storeCalls(page.request, shop.url);
      const pictureRequests: string[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/assets/')) pictureRequests.push(r.url());
      });
      for (const url of [PRODUCT, '/c/beauty', '/search?q=mascara', '/']) {
        const response = await page.goto(at(url));
        expect(response?.status(), url).toBe(200);
        await hydrated(page);
        await expect(page.locator('img[src*="/assets/"]')).toHaveCount(0);
        await expect(page.getByTestId('images-note')).toBeVisible();
      }
      await page.goto(at(PRODUCT));
      await hydrated(page);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Essence Mascara Lash Princess');
      await expect(page.locator('.product-media .monogram')).toBeVisible();
      // Buying still works.
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await expect(page.getByTestId('cart-count')).toHaveText('1');
      // The pages did not wait on the store: they never asked it anything (not even a call
      // the breaker would have refused at once), and sent the browser to no picture.
      expect(pictureRequests, 'pictures the pages asked for').toEqual([]);
      expect(await storeCalls(page.request, shop.url), 'store calls made while serving the pages').toBe(
        callsBefore,
      );
    } finally {
      fs.rmSync(store, { force: true });
      fs.renameSync(away, store);
    }

    // The store is back: once the cool-down is over, the next shopper to ask for a picture
    // makes the breaker's trial call, which closes it. No restart.
    await expect
      .poll(async () => (await page.request.get(at(picture))).status(), {
        message: 'the picture is served again',
        timeout: 20_000,
      })
      .toBe(200);
    expect(await assetsStatus(page.request, shop.url)).toBe('up');
    await page.goto(at(PRODUCT));
    await hydrated(page);
    await expect(page.locator('.product-media img')).toHaveCount(1);
    await expect(page.getByTestId('images-note')).toHaveCount(0);
  } finally {
    await shop.stop();
  }
});
