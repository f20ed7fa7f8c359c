import { test as base, expect, Page } from '@playwright/test';
import type { APIRequestContext } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
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
 * A variant in `category`, found through the API, whose stock is then set to exactly `units`
 * with the server's CLI: a test starts from the stock it states, whatever the demo data or
 * any other test did to it. Each test shops in its own category so that tests running side
 * by side never touch the same stock.
 */
export async function stocked(request: APIRequestContext, category: string, units: number): Promise<Found> {
  const list = await (await request.get(`/api/v1/products?category=${category}&per_page=1`)).json();
  expect(list.products, `the ${category} category has products`).not.toHaveLength(0);
  const detail = await (await request.get(`/api/v1/products/${list.products[0].id}`)).json();
  const v = detail.variants[0];
  setStock(v.sku, units);
  expect(await available(request, detail.url, v.sku), `the stock of ${v.sku} was set`).toBe(units);
  return { url: `${detail.url}?sku=${v.sku}`, sku: v.sku, available: units, price: v.price.amount };
}

/** Sets `sku`'s available stock with the server's CLI (audited like any stock change). */
export function setStock(sku: string, units: number) {
  execFileSync(serverBin(), ['stock', sku, String(units)], { env: { ...process.env, RUST_LOG: 'warn' } });
}

/** An e-mail address no other test (and no earlier run against the same server) uses. */
export function uniqueEmail(who: string) {
  // Unique in the domain too: pages that mask an address (`b•••@domain`) still tell shoppers
  // apart.
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  return `${who}-${id}@shop-${id}.example.com`;
}

/** An address as the shop shows it to anyone holding a shared link (`app::orders::mask_email`). */
export function masked(email: string) {
  const [local, domain] = email.split('@');
  return `${[...local][0]}•••@${domain}`;
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
  await page.getByLabel('State / province').fill('IL');
  await page.getByLabel('Postal code').fill('62701');
  // Shipping and tax depend on the address: the total is shown before the card is asked for.
  await page.getByRole('button', { name: 'Update delivery and total' }).click();
  await expect(page.getByTestId('totals-shipping')).toBeVisible();
  await page.getByLabel('Card number').fill(card);
}

export const PASSWORD = 'a long enough passphrase';

/**
 * Signs an account made by `createAccount` in, and waits for its account page. An admin
 * without a second factor is sent to set one up, and does (`enrolTwoStep`); an account with
 * one answers the code its app shows (`appCode`).
 */
export async function signInAccount(page: Page, email: string) {
  await page.goto('/account/sign-in');
  await hydrated(page);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account(\/security\?why=admin|\/sign-in\/code.*)?$/);
  if (page.url().includes('/account/security')) {
    await enrolTwoStep(page, email);
  } else if (page.url().includes('/sign-in/code')) {
    await hydrated(page);
    await page.getByLabel('Code').fill(appCode(email));
    await page.getByRole('button', { name: 'Finish signing in' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId('account-email')).toHaveText(email);
  }
}

/** Each account's authenticator app, as set up by `enrolTwoStep`: its secret and last step. */
const authenticators = new Map<string, { secret: string; last: number }>();

/**
 * Sets two-step sign-in up on the security page the browser is on, as a person does: the
 * key read off the page into an "app", the code it shows typed back. The recovery codes.
 */
export async function enrolTwoStep(page: Page, email: string): Promise<string[]> {
  await hydrated(page);
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  authenticators.set(email, { secret, last: 0 });
  await page.getByLabel('Code from your app').fill(appCode(email));
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  const codes = page.getByTestId('recovery-codes').locator('code');
  await expect(codes).toHaveCount(10);
  return codes.allTextContents();
}

/**
 * The code `email`'s app shows that the shop has not taken yet (RFC 6238: HMAC-SHA1 of the
 * 30-second step, 6 digits). Each step's code is taken once and the shop also takes the next
 * step's (for phones whose clocks run ahead), so two sign-ins in one step still work.
 */
export function appCode(email: string): string {
  const app = authenticators.get(email);
  if (!app) throw new Error(`${email} has set up no second factor in this test`);
  const now = Math.floor(Date.now() / 30_000);
  const step = Math.max(now, app.last + 1);
  if (step > now + 1) throw new Error(`${email}: no unused code until the next 30 seconds`);
  app.last = step;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...app.secret].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}

/** The server binary, for its CLI and for shops of a test's own. */
export function serverBin(): string {
  const server = process.env.EMPORIUM_SERVER_BIN;
  if (!server) throw new Error('EMPORIUM_SERVER_BIN must name the server binary (cargo xtask test sets it)');
  return server;
}

/** The server's data folder, shared by the server and its CLI. */
export function dataDir(): string {
  const data = process.env.EMPORIUM_DATA_DIR;
  if (!data) throw new Error('EMPORIUM_DATA_DIR must name the server data folder (cargo xtask test sets it)');
  return data;
}

/**
 * The API path of the order the page shows: the confirmation page's link to it, or the
 * order page's own address. Both carry the order's secret token, without which the API shows
 * an order only to its signed-in owner and admins.
 */
export async function orderApiPath(page: Page): Promise<string> {
  const link = page.getByTestId('order-link');
  if ((await link.count()) > 0) return `/api/v1${await link.getAttribute('href')}`;
  const url = new URL(page.url());
  return `/api/v1${url.pathname}${url.search}`;
}

/**
 * The newest message to `to` whose text holds `marker`, from the folder the server delivers
 * mail to (`<data dir>/mail`, one .eml file per message), polled until it arrives (the
 * server's workers send it on their own schedule).
 */
export async function mailTo(to: string, marker: string): Promise<string> {
  const folder = path.join(dataDir(), 'mail');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    let files: string[] = [];
    try {
      files = fs.readdirSync(folder).filter((f) => f.endsWith('.eml'));
    } catch {
      // Not created until the first message is delivered.
    }
    const found = files
      .sort((a, b) => parseInt(b) - parseInt(a))
      .map((f) => fs.readFileSync(path.join(folder, f), 'utf8'))
      .find((m) => m.includes(`\r\nTo: ${to}\r\n`) && m.includes(marker));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${to} holding ${marker}`);
}

/** Creates an account with the server's CLI (the password through the environment). */
export function createAccount(email: string, role: 'shopper' | 'seller' | 'admin', seller?: string) {
  const args = ['users', 'create', '--email', email, '--role', role];
  if (seller) args.push('--seller', seller);
  execFileSync(serverBin(), args, { env: { ...process.env, EMPORIUM_PASSWORD: PASSWORD, RUST_LOG: 'warn' } });
}

/** The payment gateway simulator the server charges through. */
export function gatewayUrl(): string {
  const gateway = process.env.EMPORIUM_GATEWAY_URL;
  if (!gateway) throw new Error('EMPORIUM_GATEWAY_URL must name the payment gateway simulator (cargo xtask test sets it)');
  return gateway;
}

/**
 * Every charge the payment gateway made for the shopper `email`, whichever checkout attempt
 * made it. The gateway knows a charge by its idempotency key, which is the attempt's id; the
 * shop says whose attempt that is.
 */
export async function chargesFor(request: APIRequestContext, email: string): Promise<any[]> {
  const ledger = await (await request.get(`${gatewayUrl()}/v1/ledger`)).json();
  const mine = [];
  for (const charge of ledger.charges) {
    const attempt = await request.post('/rpc/checkout/status', { form: { id: charge.idempotency_key } });
    // The status shows the address masked (its id travels in shared links).
    if (attempt.ok() && (await attempt.json()).email === masked(email)) mine.push(charge);
  }
  return mine;
}

/** A shop of a test's own: a second server on its own data folder and port. */
export type OwnShop = { url: string; dataDir: string; log: () => string; stop: () => Promise<void> };

/**
 * Starts the server binary on a fresh data folder (it imports the demo catalog) and a free
 * port, with `env` on top of the usual test settings, and waits until it is ready. For a test
 * that breaks something other tests rely on.
 */
export async function ownShop(env: Record<string, string> = {}): Promise<OwnShop> {
  const root = path.resolve(__dirname, '..', '..');
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'emporium-e2e-own-'));
  const port = await freePort();
  const inherited = { ...process.env };
  // Everything the server keeps must come from its own folder.
  for (const name of ['EMPORIUM_DATABASE_URL', 'EMPORIUM_ASSET_STORE', 'EMPORIUM_SEARCH_INDEX']) {
    delete inherited[name];
  }
  const child = spawn(serverBin(), [], {
    cwd: root,
    env: {
      ...inherited,
      EMPORIUM_ADDR: `127.0.0.1:${port}`,
      EMPORIUM_DATA_DIR: data,
      EMPORIUM_SITE_ROOT: process.env.EMPORIUM_SITE_ROOT ?? path.join(root, 'target', 'site'),
      EMPORIUM_RATE_LIMITS: 'false',
      RUST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(data, { recursive: true, force: true });
  };
  try {
    await expect
      .poll(
        async () => {
          if (child.exitCode !== null) throw new Error(`the own shop exited (${child.exitCode}):\n${log}`);
          try {
            const ready = await (await fetch(`${url}/readyz`)).json();
            return ready.components?.search?.status;
          } catch {
            return 'not answering';
          }
        },
        { message: `the own shop on port ${port} became ready`, timeout: 90_000, intervals: [250, 500, 1000] },
      )
      .toBe('up');
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, dataDir: data, log: () => log, stop };
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
