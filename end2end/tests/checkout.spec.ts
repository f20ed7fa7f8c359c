import { test, expect, hydrated, findVariant, available, addToCart, fillCheckout } from './fixtures';
import type { Found } from './fixtures';
import type { Page, Browser } from '@playwright/test';

const gateway = process.env.EMPORIUM_GATEWAY_URL ?? 'http://127.0.0.1:3099';

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
