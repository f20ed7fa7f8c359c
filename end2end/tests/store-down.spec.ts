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

/** The product's own picture address in `html` (the largest variant it points at), if any. */
function picturesIn(html: string): string[] {
  return [...new Set(html.match(/\/assets\/s\/[^"\s,]+\.jpg/g) ?? [])];
}

test('with the image store broken, pages show only the pictures the node holds, every one loads, and all come back', async ({
  page,
  browser,
}) => {
  test.setTimeout(180_000);
  // The periodic probe is off (it runs once, at start): only a shopper's picture request
  // reaches the store, so the counters below see what pages do, and the first failed read
  // is what switches the node. The server's own info lines say when the demo pictures stop
  // being drawn.
  const shop = await ownShop({
    EMPORIUM_ASSET_PROBE_MS: '3600000',
    EMPORIUM_ASSET_COOL_DOWN_MS: '1000',
    RUST_LOG: 'warn,server=info',
  });
  const at = (p: string) => `${shop.url}${p}`;
  const store = path.join(shop.dataDir, 'assets');
  const away = `${store}.away`;
  try {
    // A shopper sees the product page, pictures and all: the node now holds a copy of them.
    await pictureReady(page, at(PRODUCT));
    await page.goto(at(PRODUCT));
    await hydrated(page);
    const main = page.locator('.product-media img').first();
    await expect.poll(() => main.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    const seen = await main.evaluate((img: HTMLImageElement) => new URL(img.currentSrc).pathname);
    const listing = picturesIn(await (await page.request.get(at('/c/beauty'))).text());
    const unseen = listing.find((p) => !p.startsWith(seen.slice(0, seen.lastIndexOf('/'))));
    expect(unseen, 'the listing shows another product\'s picture').toBeDefined();

    // The store's folder disappears and a file stands in its way: every store call fails.
    fs.renameSync(store, away);
    fs.writeFileSync(store, 'not a folder');
    try {
      // The first picture the node does not hold fails to load from the store: the shopper
      // gets a neutral placeholder (never kept), and the node switches at once.
      const first = await page.request.get(at(unseen!));
      expect(first.status()).toBe(200);
      expect(first.headers()['x-emporium-placeholder']).toBe('store-unavailable');
      expect(first.headers()['cache-control']).toBe('no-store');
      // /readyz keeps its answer up to a second; nothing else asks the store meanwhile (the
      // probe is off), so the switch it reports is that one read's doing.
      await expect
        .poll(() => assetsStatus(page.request, shop.url), { message: 'one failed read switched the node' })
        .toBe('degraded');
      // The demo pictures drawn in the background stop at their first failure (or were done).
      await expect
        .poll(() => /demo pictures (paused|not drawn)|drew the demo catalog's pictures/.test(shop.log()), {
          message: 'the demo pictures stopped being drawn',
          timeout: 30_000,
        })
        .toBe(true);

      // A new shopper (nothing in the browser's cache): every page whole, every picture on
      // it loads from the node's own copy, and the store is never asked.
      const callsBefore = await storeCalls(page.request, shop.url);
      const fresh = await (await browser.newContext()).newPage();
      const answers: string[] = [];
      fresh.on('response', async (r) => {
        if (!new URL(r.url()).pathname.startsWith('/assets/')) return;
        const placeholder = (await r.allHeaders())['x-emporium-placeholder'];
        answers.push(`${r.status()}${placeholder ? ' placeholder' : ''} ${new URL(r.url()).pathname}`);
      });
      fresh.on('requestfailed', (r) => answers.push(`failed ${r.url()}`));
      for (const url of [PRODUCT, '/c/beauty', '/search?q=mascara', '/']) {
        const response = await fresh.goto(at(url));
        expect(response?.status(), url).toBe(200);
        await hydrated(fresh);
        await expect(fresh.getByTestId('images-note')).toBeVisible();
        for (const img of await fresh.locator('img[src*="/assets/"]').all()) {
          await img.scrollIntoViewIfNeeded();
          await expect
            .poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth), { message: `a picture on ${url} loads` })
            .toBeGreaterThan(0);
        }
      }
      await fresh.goto(at(PRODUCT));
      await hydrated(fresh);
      await expect(fresh.getByRole('heading', { level: 1 })).toHaveText('Essence Mascara Lash Princess');
      const held = fresh.locator('.product-media img').first();
      await expect.poll(() => held.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
      // Buying still works.
      await fresh.getByRole('button', { name: 'Add to cart' }).click();
      await expect(fresh.getByTestId('cart-count')).toHaveText('1');
      expect(answers.length, 'the pages showed the held pictures').toBeGreaterThan(0);
      expect(answers.filter((a) => !a.startsWith('200 ')), 'pictures that did not load as themselves').toEqual([]);
      expect(answers.every((a) => !a.includes(unseen!)), 'no page pointed at the picture not held').toBe(true);
      expect(await storeCalls(page.request, shop.url), 'store calls made while serving the pages').toBe(
        callsBefore,
      );
      await fresh.context().close();
    } finally {
      fs.rmSync(store, { force: true });
      fs.renameSync(away, store);
    }

    // The store is back: once the cool-down is over, the next shopper to ask for a picture
    // makes the breaker's trial call, which closes it. No restart.
    await expect
      .poll(async () => (await page.request.get(at(unseen!))).headers()['x-emporium-placeholder'] ?? 'the picture', {
        message: 'the picture is served again',
        timeout: 20_000,
      })
      .toBe('the picture');
    expect(await assetsStatus(page.request, shop.url)).toBe('up');
    await page.goto(at('/c/beauty'));
    await hydrated(page);
    await expect(page.getByTestId('images-note')).toHaveCount(0);
    expect(picturesIn(await (await page.request.get(at('/c/beauty'))).text())).toContain(unseen);
  } finally {
    await shop.stop();
  }
});
