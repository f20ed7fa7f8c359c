import { test as base, expect, Page } from '@playwright/test';
import type { APIRequestContext } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';

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


export type Found = { url: string; sku: string; available: number; price: number };

/**
 * A variant in `category` whose live stock satisfies `fits`, found through the API. Each test
 * shops in its own category so that tests running side by side never compete for stock.
 */
export async function findVariant(
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
export async function available(request: APIRequestContext, url: string, sku: string): Promise<number> {
  const html = await (await request.get(url.split('?')[0])).text();
  const id = /data-product-id="(\d+)"/.exec(html)?.[1];
  const detail = await (await request.get(`/api/v1/products/${id}`)).json();
  return detail.variants.find((v: any) => v.sku === sku).available;
}

export async function addToCart(page: Page, found: Found, js = true) {
  await page.goto(found.url);
  if (js) await hydrated(page);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page).toHaveURL(/\/cart\?added=/);
  await expect(page.locator(`.cart-line[data-sku="${found.sku}"]`)).toBeVisible();
}

export async function fillCheckout(page: Page, email: string, card = '4242 4242 4242 4242') {
  await page.getByRole('link', { name: 'Check out' }).click();
  await expect(page).toHaveURL(/\/checkout$/);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Full name').fill('Ana Lima');
  await page.getByLabel('Address', { exact: true }).fill('1 Main St');
  await page.getByLabel('City').fill('Springfield');
  await page.getByLabel('Postal code').fill('12345');
  await page.getByLabel('Card number').fill(card);
}


export const PASSWORD = 'a long enough passphrase';

/** Signs an account made by `createAccount` in, and waits for its account page. */
export async function signInAccount(page: Page, email: string) {
  await page.goto('/account/sign-in');
  await hydrated(page);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);
}

/** Creates an account with the server's CLI (the password through the environment). */
export function createAccount(email: string, role: 'seller' | 'admin', seller?: string) {
  const server = process.env.EMPORIUM_SERVER_BIN;
  if (!server) throw new Error('EMPORIUM_SERVER_BIN must name the server binary (cargo xtask test sets it)');
  const args = ['users', 'create', '--email', email, '--role', role];
  if (seller) args.push('--seller', seller);
  execFileSync(server, args, { env: { ...process.env, EMPORIUM_PASSWORD: PASSWORD, RUST_LOG: 'warn' } });
}

/** A sharp 1200×1200 PNG (a fine checkerboard in two colours) that passes the quality gate. */
export function checkerboardPng(): Buffer {
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
