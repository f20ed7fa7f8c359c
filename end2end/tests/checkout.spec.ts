import { test, expect, hydrated } from './fixtures';
import type { APIRequestContext, Page, Browser } from '@playwright/test';

const gateway = process.env.EMPORIUM_GATEWAY_URL ?? 'http://127.0.0.1:3099';

type Found = { url: string; sku: string; available: number; price: number };

/**
 * A variant in `category` whose live stock satisfies `fits`, found through the API. Each test
 * shops in its own category so that tests running side by side never compete for stock.
 */
async function findVariant(
  request: APIRequestContext,
  category: string,
  fits: (available: number) => boolean,
): Promise<Found> {
  const list = await (await request.get(`/api/v1/products?category=${category}&per_page=100`)).json();
  for (const p of list.products) {
    const detail = await (await request.get(`/api/v1/products/${p.id}`)).json();
    for (const v of detail.variants) {
      if (fits(v.available)) {
        return { url: `${detail.url}?sku=${v.sku}`, sku: v.sku, available: v.available, price: v.price.amount };
      }
    }
  }
  throw new Error(`no variant in ${category} fits`);
}

/** Live stock of `sku`, read through the API record of the product page at `url`. */
async function available(request: APIRequestContext, url: string, sku: string): Promise<number> {
  const html = await (await request.get(url.split('?')[0])).text();
  const id = /data-product-id="(\d+)"/.exec(html)?.[1];
  const detail = await (await request.get(`/api/v1/products/${id}`)).json();
  return detail.variants.find((v: any) => v.sku === sku).available;
}

async function addToCart(page: Page, found: Found, js = true) {
  await page.goto(found.url);
  if (js) await hydrated(page);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page).toHaveURL(/\/cart\?added=/);
  await expect(page.locator(`.cart-line[data-sku="${found.sku}"]`)).toBeVisible();
}

async function fillCheckout(page: Page, email: string, card = '4242 4242 4242 4242') {
  await page.getByRole('link', { name: 'Check out' }).click();
  await expect(page).toHaveURL(/\/checkout$/);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Full name').fill('Ana Lima');
  await page.getByLabel('Address', { exact: true }).fill('1 Main St');
  await page.getByLabel('City').fill('Springfield');
  await page.getByLabel('Postal code').fill('12345');
  await page.getByLabel('Card number').fill(card);
}

test('a shopper buys a product from the product page to the order page', async ({ page, request }) => {
  const found = await findVariant(request, 'beauty', (n) => n >= 5);
  await addToCart(page, found);
  await expect(page.getByTestId('cart-count')).toHaveText('1');
  await fillCheckout(page, 'buyer@example.com');
  await page.getByRole('button', { name: 'Place order' }).click();

  await expect(page).toHaveURL(/\/checkout\/co_/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.');
  const orderId = await page.getByTestId('order-id').innerText();
  expect(orderId).toMatch(/^ord_[0-9a-f]{24}$/);

  await page.getByRole('link', { name: 'View your order' }).click();
  await expect(page.getByTestId('order-status')).toHaveText(/Confirmed|Being prepared/);
  // Fulfillment picks the order up from the outbox and the open page follows along.
  await expect(page.getByTestId('order-status')).toHaveText('Being prepared', { timeout: 15_000 });

  expect(await available(request, found.url, found.sku)).toBe(found.available - 1);
  const order = await (await request.get(`/api/v1/orders/${orderId}`)).json();
  expect(order.lines[0].sku).toBe(found.sku);
  expect(order.total.amount).toBe(found.price);
});

async function readyToBuy(browser: Browser, found: Found, email: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await addToCart(page, found);
  await fillCheckout(page, email);
  return { context, page };
}

test('two shoppers race for the last unit: one order, one clear sold-out message', async ({ browser, request }) => {
  const found = await findVariant(request, 'furniture', (n) => n === 1);
  const a = await readyToBuy(browser, found, 'first@example.com');
  const b = await readyToBuy(browser, found, 'second@example.com');

  await Promise.all([
    a.page.getByRole('button', { name: 'Place order' }).click(),
    b.page.getByRole('button', { name: 'Place order' }).click(),
  ]);
  const outcome = async (page: Page) => {
    await expect(page).toHaveURL(/\/checkout\/co_/);
    const heading = page.getByRole('heading', { level: 1 });
    await expect(heading).toHaveText(/Thank you|couldn't place your order/);
    return (await heading.innerText()).startsWith('Thank you') ? 'won' : 'lost';
  };
  const results = [await outcome(a.page), await outcome(b.page)].sort();
  expect(results).toEqual(['lost', 'won']);
  const loser = results[0] === 'lost' && (await a.page.getByTestId('failure').count()) ? a.page : b.page;
  await expect(loser.getByTestId('failure')).toContainText('sold out');
  expect(await available(request, found.url, found.sku)).toBe(0);
  await a.context.close();
  await b.context.close();
});

test('a double-clicked Place order makes one order and one charge', async ({ browser, request }) => {
  const found = await findVariant(request, 'grocery', (n) => n >= 3);
  // Without JavaScript nothing disables the button: both clicks post the same form, with the
  // same idempotency key, and the server makes one order of them.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await addToCart(page, found, false);
  await fillCheckout(page, 'double@example.com');
  await page.getByRole('button', { name: 'Place order' }).dblclick();

  await expect(page).toHaveURL(/\/checkout\/co_/);
  // The page refreshes itself without JavaScript until the order is confirmed.
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.', {
    timeout: 15_000,
  });
  const checkoutId = page.url().split('/').pop()!;
  const ledger = await (await request.get(`${gateway}/v1/ledger`)).json();
  const charges = ledger.charges.filter((c: any) => c.idempotency_key === checkoutId);
  expect(charges).toHaveLength(1);
  expect(await available(request, found.url, found.sku)).toBe(found.available - 1);
  await context.close();
});
