import { test, expect } from './fixtures';

// Every page must be complete and usable with JavaScript off: SSR sends whole pages.
test.use({ javaScriptEnabled: false });

test('a product page is complete without JavaScript', async ({ page }) => {
  await page.goto('/p/king-tufted-low-profile-standard-bed');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'King Tufted Low Profile Standard Bed',
  );
  await expect(page.getByTestId('price')).toHaveText(/^\$[\d,]+\.\d\d$/);
  await expect(page.locator('article.product').getByTestId('stock')).toHaveText(/In stock|Only \d+ left|Out of stock/);
  await expect(page.locator('body[data-hydrated]')).toHaveCount(0);

  // Without JavaScript the variant links are ordinary page loads, and they still work.
  const before = await page.getByTestId('price').innerText();
  await page.getByRole('link', { name: /^King/ }).click();
  await expect(page).toHaveURL(/sku=WANDS-13-KING$/);
  await expect(page.getByTestId('selected-variant')).toHaveText('King');
  expect(await page.getByTestId('price').innerText()).not.toEqual(before);
});

test('listings and pagination work without JavaScript', async ({ page }) => {
  await page.goto('/c/furniture?sort=price_desc');
  await expect(page.locator('.product-card')).toHaveCount(24);
  await page.getByRole('link', { name: 'Next →' }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.locator('.product-card').first()).toBeVisible();
});

test('the header search form and the facets work without JavaScript', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('combobox', { name: 'Search products' }).fill('wall clock');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\/search\?q=wall\+clock/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Results for “wall clock”');
  await expect(page.locator('.product-card').first()).toContainText(/clock/i);
  await expect(page.locator('body[data-hydrated]')).toHaveCount(0);

  // A category facet is a plain link; the sort form is a plain GET form.
  await page.locator('[data-facet="category"] a').first().click();
  await expect(page).toHaveURL(/category=/);
  await page.getByLabel('Sort by').selectOption('price_desc');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/category=.*sort=price_desc|sort=price_desc.*category=/);
  await expect(page.locator('.product-card').first()).toBeVisible();
});
