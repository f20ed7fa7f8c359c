import { test, expect, hydrated } from './fixtures';

const BED = '/p/king-tufted-low-profile-standard-bed';

test('a shopper goes from the home page to a category to a product', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle(/Emporium/);
  await hydrated(page);

  await page.getByRole('link', { name: /^Furniture\b/ }).click();
  await expect(page).toHaveURL(/\/c\/furniture$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Furniture');
  await expect(page.getByTestId('product-count')).toContainText('products');

  const card = page.locator('.product-card').first();
  const title = (await card.locator('.card-title').innerText()).trim();
  await card.locator('.card-title a').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);
  await expect(page.getByTestId('price')).toHaveText(/^\$[\d,]+\.\d\d$/);
  await expect(page.locator('article.product').getByTestId('stock')).toHaveText(/In stock|Only \d+ left|Out of stock/);
});

test('the variant selector updates price and SKU without a reload', async ({ page, request }) => {
  await page.goto(BED);
  await hydrated(page);

  // What the API says the Queen variant costs is what the page must show once chosen.
  const id = await page.locator('article.product').getAttribute('data-product-id');
  const product = await (await request.get(`/api/v1/products/${id}`)).json();
  const queen = product.variants.find((v: any) => v.options.Size === 'Queen');
  const twin = product.variants.find((v: any) => v.options.Size === 'Twin');
  const dollars = (cents: number) =>
    '$' + (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2 });
  await expect(page.getByTestId('price')).toHaveText(dollars(twin.price.amount));

  // A marker on window survives client-side navigation but not a page load.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByRole('link', { name: /^Queen/ }).click();

  await expect(page).toHaveURL(new RegExp(`sku=${queen.sku}$`));
  await expect(page.getByTestId('price')).toHaveText(dollars(queen.price.amount));
  await expect(page.getByTestId('sku')).toHaveText(queen.sku);
  await expect(page.getByTestId('selected-variant')).toHaveText('Queen');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(queen.price.amount).toBeGreaterThan(twin.price.amount);
});

test('sorting a category by price orders the cards by price', async ({ page }) => {
  await page.goto('/c/furniture');
  await hydrated(page);
  await page.getByLabel('Sort by').selectOption('price_asc');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/sort=price_asc/);
  await expect(page.locator('.product-card .price').first()).toBeVisible();
  const prices = await page
    .locator('.product-card .price')
    .evaluateAll((els) =>
      els.map((e) => Number((e.textContent ?? '').replace(/[^0-9.]/g, ''))),
    );
  expect(prices.length).toBeGreaterThan(5);
  expect([...prices].sort((a, b) => a - b)).toEqual(prices);

  await page.getByRole('link', { name: 'Next →' }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.locator('.pagination [aria-current="page"]')).toHaveText('2');
});

test('an unknown product shows a real 404 page', async ({ page }) => {
  const response = await page.goto('/p/no-such-product');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await expect(page.getByText("We couldn't find that product.")).toBeVisible();
});
