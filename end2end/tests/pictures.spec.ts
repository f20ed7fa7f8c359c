import { test, expect, hydrated, PRODUCT, pictureReady, watchImages } from './fixtures';

test('a product page shows its pictures, sized, without a broken one', async ({ page }) => {
  test.setTimeout(90_000);
  await pictureReady(page, PRODUCT);
  const failed = watchImages(page);
  await page.goto(PRODUCT);
  await hydrated(page);
  const main = page.locator('.product-media img');
  await expect(main).toHaveCount(1);
  await expect(main).toHaveAttribute('width', /\d+/);
  await expect(main).toHaveAttribute('height', /\d+/);
  await expect(main).toHaveAttribute('alt', 'Essence Mascara Lash Princess');
  // Loaded and decoded: a broken image has no natural size.
  await expect
    .poll(() => main.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
    .toBeGreaterThan(0);
  await expect(page.getByTestId('images-note')).toHaveCount(0);

  // The listing uses the card size, and every picture that loaded is a real image.
  await page.goto('/c/beauty');
  await hydrated(page);
  const first = page.locator('.product-card img').first();
  await expect(first).toHaveAttribute('src', /\/card\.jpg$/);
  await expect
    .poll(() => first.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
    .toBeGreaterThan(0);
  expect(failed).toEqual([]);
});
