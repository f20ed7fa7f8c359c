import { test, expect, stocked, available, addToCart, fillCheckout, chargesFor, uniqueEmail, orderApiPath } from './fixtures';
import type { Found } from './fixtures';
import type { APIResponse, Page, Browser } from '@playwright/test';

test('a shopper buys a product from the product page to the order page', async ({ page, request }) => {
  const found = await stocked(request, 'beauty', 5);
  await addToCart(page, found);
  await expect(page.getByTestId('cart-count')).toHaveText('1');
  await fillCheckout(page, uniqueEmail('buyer'));
  await page.getByRole('button', { name: 'Place order' }).click();

  await expect(page).toHaveURL(/\/checkout\/co_/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.');
  const orderId = await page.getByTestId('order-id').innerText();
  expect(orderId).toMatch(/^ord_[0-9a-f]{24}$/);

  await page.getByRole('link', { name: 'View your order' }).click();
  await expect(page.getByTestId('order-status')).toHaveText(/Confirmed|Being prepared/);
  // Fulfillment picks the order up from the outbox and the open page follows along.
  await expect(page.getByTestId('order-status')).toHaveText('Being prepared', { timeout: 15_000 });

  expect(await available(request, found.url, found.sku)).toBe(4);
  const order = await (await request.get(await orderApiPath(page))).json();
  expect(order.lines[0].sku).toBe(found.sku);
  const t = order.totals;
  expect(t.subtotal.amount).toBe(found.price);
  expect(t.total.amount).toBe(t.subtotal.amount - t.discount.amount + t.shipping.amount + t.tax.amount);
  expect(order.total.amount).toBe(t.total.amount);
  // Illinois's 6.25 %, on the goods (the shop does not tax shipping there).
  expect(t.tax.amount).toBe(Math.round(found.price * 0.0625));
});

async function readyToBuy(browser: Browser, found: Found, email: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await addToCart(page, found);
  await fillCheckout(page, email);
  return { context, page };
}

test('two shoppers race for the last unit: one order, one clear sold-out message', async ({ browser, request }) => {
  const found = await stocked(request, 'furniture', 1);
  const a = await readyToBuy(browser, found, uniqueEmail('first'));
  const b = await readyToBuy(browser, found, uniqueEmail('second'));

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
  const results = [await outcome(a.page), await outcome(b.page)];
  expect([...results].sort()).toEqual(['lost', 'won']);
  const loser = results[0] === 'lost' ? a.page : b.page;
  await expect(loser.getByTestId('failure')).toContainText('sold out');
  expect(await available(request, found.url, found.sku)).toBe(0);
  await a.context.close();
  await b.context.close();
});

test('a double-clicked Place order makes one order and one charge', async ({ browser, request }) => {
  const found = await stocked(request, 'grocery', 3);
  const email = uniqueEmail('double');
  // Without JavaScript nothing disables the button: both clicks post the same form, with the
  // same idempotency key, and the server makes one order of them.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await addToCart(page, found, false);
  await fillCheckout(page, email);
  // Chromium folds a double click on a submit button into one navigation (one post reaches
  // the server), so the second post is sent as the browser would send it: the same body and
  // cookies, racing the first.
  let second: Promise<APIResponse> | undefined;
  let resend: (() => Promise<APIResponse>) | undefined;
  await page.route('**/rpc/checkout/place', async (route) => {
    const first = route.request();
    resend ??= () =>
      context.request.post(first.url(), {
        headers: { 'content-type': first.headers()['content-type'], accept: first.headers()['accept'] },
        data: first.postData() ?? '',
        maxRedirects: 0,
      });
    second ??= resend();
    await route.continue();
  });
  await page.getByRole('button', { name: 'Place order' }).dblclick();

  await expect(page).toHaveURL(/\/checkout\/co_/);
  // The page refreshes itself without JavaScript until the order is confirmed.
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.', {
    timeout: 15_000,
  });
  expect(second, 'the form was posted').toBeDefined();
  const again = await second!;
  expect(again.status(), 'the second post is answered with a redirect').toBe(302);
  expect(again.headers()['location'], 'the second post leads to the same attempt').toBe(new URL(page.url()).pathname);
  // The same form once more, now that the cart is an order: still that attempt, not the
  // checkout page (nothing of the cart is left to check again).
  const late = await resend!();
  expect(late.status()).toBe(302);
  expect(late.headers()['location'], 'a post after the order leads to its attempt').toBe(new URL(page.url()).pathname);
  // Every charge made for this shopper, whichever attempt made it: had the second post
  // started a second attempt, its charge would be counted here too.
  const charges = await chargesFor(request, email);
  expect(charges.map((c) => c.status), 'the charges made for this shopper').toEqual(['succeeded']);
  const orderId = await page.getByTestId('order-id').innerText();
  const order = await (await request.get(await orderApiPath(page))).json();
  expect(order.totals.subtotal.amount).toBe(found.price);
  expect(charges[0].amount, 'the card is charged the total with shipping and tax').toBe(order.totals.total.amount);
  expect(await available(request, found.url, found.sku)).toBe(2);
  await context.close();
});
