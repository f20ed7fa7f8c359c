import { test, expect, createAccount, checkerboardPng, signInAccount } from './fixtures';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const SELLER = 'open-road';

/** A seller's own picture server: one good picture, and one URL that is gone. */
async function pictureServer() {
  const png = checkerboardPng();
  const server = createServer((req, res) => {
    if (req.url === '/pannier.png') {
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
      res.end(png);
    } else {
      res.writeHead(404);
      res.end('gone');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}` };
}

test('a seller uploads a feed in the portal and watches its products and pictures arrive', async ({ page }) => {
  test.setTimeout(90_000);
  const pictures = await pictureServer();
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const email = `feeds-${stamp}@example.com`;
  createAccount(email, 'seller', SELLER);
  await signInAccount(page, email);

  const title = `Rolltop pannier ${stamp}`;
  const feed = [
    'product_key,sku,price,title,description,category,options,stock,image_urls',
    `pannier-${stamp},PAN-${stamp}-G,89.00,${title},Waterproof rolltop pannier,Vehicles / Motorcycles,Color: Grey,4,${pictures.base}/pannier.png`,
    `pannier-${stamp},PAN-${stamp}-B,89.00,,,,Color: Black,2,`,
    `strap-${stamp},STRAP-${stamp},9.50,Strap ${stamp},A strap,Vehicles / Motorcycles,,10,${pictures.base}/strap.png`,
    `bad-${stamp},BAD-${stamp},ten dollars,Bad row,Bad price,Vehicles / Motorcycles,,,`,
  ].join('\n');

  await page.goto('/seller/feeds');
  await page.locator('input[type="file"][name="feed"]').setInputFiles({
    name: 'spring.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(feed),
  });
  await page.getByRole('button', { name: 'Upload feed' }).click();
  await expect(page).toHaveURL(/\/seller\/feeds\/\d+$/);
  // The page refreshes itself until the feed is applied and every picture has an outcome.
  await expect(page.getByTestId('feed-status')).toHaveText('applied', { timeout: 20_000 });
  await expect(page.getByTestId('feed-counts')).toContainText('2 new product(s)');
  await expect(page.getByTestId('feed-issue')).toHaveCount(1);
  await expect(page.getByTestId('feed-issue')).toContainText('price');
  await expect(page.locator('[data-testid="feed-picture"][data-status="stored"]')).toHaveCount(1, { timeout: 30_000 });
  const missing = page.locator('[data-testid="feed-picture"][data-status="needs_review"]');
  await expect(missing).toHaveCount(1, { timeout: 30_000 });
  await expect(missing).toContainText('http_404');
  await expect(missing.getByRole('button', { name: 'Try again' })).toBeVisible();

  // Shoppers find the product, with its picture.
  await page.goto(`/search?q=${encodeURIComponent(title)}`);
  const card = page.locator('.product-card', { hasText: title });
  await expect(card).toBeVisible();
  await expect(card.locator('img')).toHaveAttribute('src', /\/card\.jpg$/);
  pictures.server.close();
});
