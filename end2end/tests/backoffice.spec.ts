import { test, expect, hydrated, fillCheckout } from './fixtures';
import type { Browser, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';

const PASSWORD = 'a long enough passphrase';
const SELLER = 'open-road';

/** Creates an account with the server's CLI (the password through the environment). */
function createAccount(email: string, role: 'seller' | 'admin', seller?: string) {
  const server = process.env.EMPORIUM_SERVER_BIN;
  if (!server) throw new Error('EMPORIUM_SERVER_BIN must name the server binary (cargo xtask test sets it)');
  const args = ['users', 'create', '--email', email, '--role', role];
  if (seller) args.push('--seller', seller);
  execFileSync(server, args, { env: { ...process.env, EMPORIUM_PASSWORD: PASSWORD, RUST_LOG: 'warn' } });
}

/** A sharp 1200×1200 PNG (a fine checkerboard in two colours) that passes the quality gate. */
function checkerboardPng(): Buffer {
  const size = 1200;
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      const on = (Math.floor(x / 6) + Math.floor(y / 6)) % 2 === 0;
      row[1 + x * 3] = on ? 200 : 30;
      row[2 + x * 3] = on ? 120 : 60;
      row[3 + x * 3] = on ? 40 : 90;
    }
    rows.push(row);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function signIn(page: Page, email: string) {
  await page.goto('/account/sign-in');
  await hydrated(page);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);
}

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
  await signIn(seller.page, sellerEmail);
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
  await signIn(admin.page, adminEmail);
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
