import { test, expect, hydrated, fillCheckout, createAccount, checkerboardPng, signInAccount } from './fixtures';
import type { Browser, Page } from '@playwright/test';

const SELLER = 'open-road';


async function asNew(browser: Browser) {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

test('a seller lists a product, a shopper buys it, the seller sees the order and an admin refunds it', async ({ browser }) => {
  test.setTimeout(120_000);
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const sellerEmail = `seller-${stamp}@example.com`;
  const adminEmail = `admin-${stamp}@example.com`;
  createAccount(sellerEmail, 'seller', SELLER);
  createAccount(adminEmail, 'admin');
  const title = `Touring saddlebag ${stamp}`;
  const sku = `BAG-${stamp}`;

  // The seller creates the product…
  const seller = await asNew(browser);
  await signInAccount(seller.page, sellerEmail);
  await seller.page.goto('/seller/products/new');
  await hydrated(seller.page);
  // Mistakes come back beside their fields, with what was typed kept.
  await seller.page.getByLabel('Title').fill('   ');
  await seller.page.getByLabel('Description').fill('Waxed canvas saddlebag.');
  await seller.page.getByLabel('Category').selectOption({ label: 'Vehicles / Motorcycles' });
  await seller.page.getByLabel(/^Variants/).fill(`${sku} | 12.345 | Olive`);
  await seller.page.getByRole('button', { name: 'Save product' }).click();
  await expect(seller.page.locator('[data-field="title"]')).toBeVisible();
  await expect(seller.page.locator('.field-errors')).toContainText('Line 1: The price');
  await expect(seller.page.locator('.field-errors')).toContainText('Line 1: Write options as name: value pairs');
  await expect(seller.page.getByLabel('Description')).toHaveValue('Waxed canvas saddlebag.');
  await seller.page.getByLabel('Title').fill(title);
  await seller.page.getByLabel('Description').fill('Waxed canvas saddlebag, 20 litres, fits most racks.');
  await seller.page.getByLabel('Brand').fill('Open Road');
  await seller.page.getByLabel('Category').selectOption({ label: 'Vehicles / Motorcycles' });
  await seller.page.getByLabel(/^Variants/).fill(`${sku} | 129.00 | Color: Olive`);
  await seller.page.getByRole('button', { name: 'Save product' }).click();
  await expect(seller.page).toHaveURL(/\/seller\/products\/\d+\?saved=1/);
  const productUrl = seller.page.url().split('?')[0];

  // …uploads a picture…
  await seller.page.locator('input[type="file"][name="image"]').setInputFiles({
    name: 'saddlebag.png',
    mimeType: 'image/png',
    buffer: checkerboardPng(),
  });
  await seller.page.getByRole('button', { name: 'Upload picture' }).click();
  await expect(seller.page).toHaveURL(/image=(live|needs_review)/);
  if (seller.page.url().includes('needs_review')) {
    await seller.page.getByRole('button', { name: 'Show it' }).click();
    await expect(seller.page).toHaveURL(/image=approved/);
  }
  await expect(seller.page.getByTestId('portal-image')).toHaveAttribute('data-status', 'live');

  // …and sets its stock, with a reason kept in the history.
  const row = seller.page.locator(`[data-testid="stock-row"][data-sku="${sku}"]`);
  await row.getByLabel('Available').fill('3');
  await row.getByLabel('Reason').fill('first delivery');
  await row.getByRole('button', { name: 'Set stock' }).click();
  await expect(seller.page).toHaveURL(/stock=saved/);
  await expect(seller.page.getByTestId('movement').first()).toContainText('seller: first delivery');

  // A shopper finds it by search and buys it.
  const shopper = await asNew(browser);
  await expect
    .poll(async () => (await (await shopper.page.request.get(`/api/v1/search?q=${encodeURIComponent(title)}`)).json()).total, {
      timeout: 10_000,
    })
    .toBeGreaterThan(0);
  await shopper.page.goto(`/search?q=${encodeURIComponent(title)}`);
  await hydrated(shopper.page);
  await shopper.page.getByRole('link', { name: title }).first().click();
  await hydrated(shopper.page);
  await shopper.page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(shopper.page).toHaveURL(/\/cart\?added=/);
  await fillCheckout(shopper.page, `buyer-${stamp}@example.com`);
  await shopper.page.getByRole('button', { name: 'Place order' }).click();
  await expect(shopper.page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.');
  const orderId = await shopper.page.getByTestId('order-id').innerText();

  // The seller sees the order (their items only) and the sale on the dashboard.
  await seller.page.goto('/seller/orders');
  await expect(seller.page.getByTestId('seller-order').filter({ hasText: orderId })).toContainText('$129.00');
  await seller.page.goto('/seller');
  await expect(seller.page.getByTestId('sales-chart')).toBeVisible();
  await seller.page.goto(productUrl);
  await expect(seller.page.locator(`[data-testid="stock-row"][data-sku="${sku}"]`)).toContainText('1 sold');

  // The admin refunds it; the unit waits for inspection before going back on sale.
  const admin = await asNew(browser);
  await signInAccount(admin.page, adminEmail);
  await admin.page.goto(`/admin/orders?q=${orderId}`);
  await hydrated(admin.page);
  await admin.page.getByRole('link', { name: orderId }).click();
  await hydrated(admin.page);
  await admin.page.getByRole('button', { name: 'Refund everything not yet refunded' }).click();
  await expect(admin.page.getByTestId('refund-notice')).toContainText('Refunded');
  await expect(admin.page.getByTestId('admin-order-status')).toHaveText('Refunded');
  await admin.page.goto('/admin');
  const item = admin.page.getByTestId('returned-item').filter({ hasText: sku });
  await expect(item.getByTestId('return-status')).toHaveText('awaiting inspection');
  await item.getByRole('button', { name: 'Resellable: restock' }).click();
  await expect(admin.page.getByTestId('returned-item').filter({ hasText: sku }).getByTestId('return-status')).toHaveText('restocked');
  const order = await (await admin.page.request.get(`/api/v1/orders/${orderId}`)).json();
  expect(order.status).toBe('refunded');

  for (const c of [seller, shopper, admin]) await c.context.close();
});
