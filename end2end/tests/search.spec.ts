import { test, expect, hydrated } from './fixtures';

test('typing in the header box suggests products, and choosing one opens it', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const box = page.getByRole('combobox', { name: 'Search products' });
  await box.pressSequentially('fount', { delay: 40 });
  const list = page.getByRole('listbox', { name: 'Suggestions' });
  await expect(list).toBeVisible();
  await expect(box).toHaveAttribute('aria-expanded', 'true');
  const options = list.getByRole('option');
  await expect(options.first()).toBeVisible();
  expect(await options.count()).toBeGreaterThan(1);

  // The arrow keys move through the suggestions; Enter opens the chosen one.
  await box.press('ArrowDown');
  await expect(options.first()).toHaveAttribute('aria-selected', 'true');
  await expect(box).toHaveAttribute('aria-activedescendant', 'suggestion-0');
  await box.press('ArrowDown');
  await expect(options.nth(1)).toHaveAttribute('aria-selected', 'true');
  const chosen = (await options.nth(1).innerText()).replace(/^(Product|Category)\s*/i, '').trim();
  await box.press('Enter');
  await expect(page).toHaveURL(/\/(p|c)\//);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(chosen);
  await expect(list).toBeHidden();
});

test('Escape closes the suggestions and Enter then searches what was typed', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const box = page.getByRole('combobox', { name: 'Search products' });
  await box.pressSequentially('wall clock', { delay: 30 });
  await expect(page.getByRole('listbox', { name: 'Suggestions' })).toBeVisible();
  await box.press('Escape');
  await expect(page.getByRole('listbox', { name: 'Suggestions' })).toBeHidden();
  await box.press('Enter');
  await expect(page).toHaveURL(/\/search\?q=wall\+clock$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Results for “wall clock”');
  await expect(page.locator('.product-card').first()).toContainText(/clock/i);
  await expect(box).toHaveValue('wall clock');
});

test('facets narrow the results and the filter can be removed', async ({ page }) => {
  await page.goto('/search?q=fountain');
  await hydrated(page);
  const count = async () =>
    Number((await page.getByTestId('result-count').innerText()).replace(/\D/g, ''));
  const all = await count();
  expect(all).toBeGreaterThan(5);

  // A price band: the count drops to the band's own, and every card's price falls inside it.
  // Every band reads "$lo – $hi" or "$lo and up" (en-US: "$1,000"); the first with both
  // bounds is taken.
  const bands = page.locator('[data-facet="price"] a');
  const dollars = (text: string) => Number(text.replace(/,/g, ''));
  // Each link reads its label, then how many results it keeps.
  const parsed = (await bands.allInnerTexts()).map((text) => {
    const bounded = /^(\$([\d,]+) – \$([\d,]+))\s+(\d+)$/.exec(text.trim());
    if (bounded) {
      return { label: bounded[1], lo: dollars(bounded[2]), hi: dollars(bounded[3]), count: Number(bounded[4]) };
    }
    const open = /^(\$([\d,]+) and up)\s+(\d+)$/.exec(text.trim());
    if (open) return { label: open[1], lo: dollars(open[2]), hi: Infinity, count: Number(open[3]) };
    throw new Error(`a price band that reads neither "$lo – $hi" nor "$lo and up": ${JSON.stringify(text)}`);
  });
  const chosen = parsed.findIndex((b) => b.hi !== Infinity);
  expect(chosen, `a price band with both bounds among ${JSON.stringify(parsed)}`).toBeGreaterThanOrEqual(0);
  const band = parsed[chosen];
  expect(band.lo).toBeLessThan(band.hi);
  await bands.nth(chosen).click();
  await expect(page).toHaveURL(new RegExp(`min_price=${band.lo}\\b`));
  await expect(page.locator('.active-filters')).toContainText('Price');
  await expect(page.getByTestId('result-count')).toHaveText(new RegExp(`^${band.count} products?$`));
  const narrowed = await count();
  expect(narrowed).toBeLessThan(all);
  const prices = await page
    .locator('.product-card .price')
    .evaluateAll((els) => els.map((e) => Number((e.textContent ?? '').replace(/[^0-9.]/g, ''))));
  expect(prices.length).toBeGreaterThan(0);
  for (const p of prices) {
    expect(p, `a price in ${band.label}`).toBeGreaterThanOrEqual(band.lo);
    expect(p, `a price in ${band.label}`).toBeLessThan(band.hi);
  }

  // "In stock only" leaves only cards that say they are in stock.
  await page.locator('[data-facet="in_stock"] a').click();
  await expect(page).toHaveURL(/in_stock=true/);
  for (const badge of await page.getByTestId('stock').allInnerTexts()) {
    expect(badge).toMatch(/In stock|Only \d+ left/);
  }

  // Removing the price filter widens the search again, keeping the stock filter.
  await page.getByRole('link', { name: /Remove filter Price/ }).click();
  await expect(page).not.toHaveURL(/min_price/);
  await expect(page).toHaveURL(/in_stock=true/);
  expect(await count()).toBeGreaterThanOrEqual(narrowed);
});

test('a minimum rating keeps only products rated that well, and can be removed', async ({ page }) => {
  const count = async () =>
    Number((await page.getByTestId('result-count').innerText()).replace(/\D/g, ''));
  await page.goto('/search');
  await hydrated(page);
  const all = await count();

  await page.goto('/search?min_rating=4');
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Remove filter 4★ and up' })).toBeVisible();
  const rated = await count();
  expect(rated).toBeGreaterThan(0);
  expect(rated).toBeLessThan(all);
  // Every card shows its rating, and it is 4 or more (unrated products are left out).
  const cards = page.locator('.product-card');
  const stars = await page
    .locator('.product-card .stars')
    .evaluateAll((els) => els.map((e) => Number((e.textContent ?? '').replace(/[^0-9.]/g, ''))));
  expect(stars.length).toBeGreaterThan(0);
  expect(stars).toHaveLength(await cards.count());
  for (const s of stars) expect(s).toBeGreaterThanOrEqual(4);

  // Sorting keeps the filter; removing it brings every product back.
  await page.getByLabel('Sort by').selectOption('price_asc');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/sort=price_asc/);
  await expect(page).toHaveURL(/min_rating=4/);
  expect(await count()).toBe(rated);
  await page.getByRole('link', { name: 'Remove filter 4★ and up' }).click();
  await expect(page).not.toHaveURL(/min_rating/);
  await expect(page.getByTestId('result-count')).toHaveText(`${all} products`);
});

test('a misspelt search says what it searched for instead', async ({ page }) => {
  await page.goto('/search?q=fountian');
  await hydrated(page);
  const hint = page.getByTestId('did-you-mean');
  await expect(hint).toContainText('fountain');
  await expect(page.locator('.product-card').first()).toContainText(/fountain/i);
  await hint.getByRole('link').click();
  await expect(page).toHaveURL(/q=fountain$/);
  await expect(page.getByTestId('did-you-mean')).toHaveCount(0);
});

test('a search that finds nothing offers a way on', async ({ page }) => {
  await page.goto('/search?q=zzqqxxvv&in_stock=true');
  await hydrated(page);
  await expect(page.getByTestId('no-results')).toBeVisible();
  await page.getByRole('link', { name: 'Search again without the filters' }).click();
  await expect(page).toHaveURL(/\/search\?q=zzqqxxvv$/);
});

test('a result can go straight into the cart', async ({ page }) => {
  await page.goto('/search?q=wall+decor');
  await hydrated(page);
  const card = page.locator('.product-card', { has: page.locator('.quick-add') }).first();
  const title = (await card.locator('.card-title').innerText()).trim();
  await card.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page).toHaveURL(/\/cart/);
  await expect(page.locator('main')).toContainText(title);
});
