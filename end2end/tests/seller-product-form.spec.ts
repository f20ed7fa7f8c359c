import { test, expect, createAccount, signInAccount } from './fixtures';

// Without JavaScript too, a product the shop refuses comes back as typed, with each message
// by its field and the cursor in the first wrong one; fixed, it saves.
test('a refused product form keeps what was typed without JavaScript', async ({ browser }) => {
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const email = `seller-form-${stamp}@example.com`;
  createAccount(email, 'seller', 'threadline');
  const signIn = await browser.newContext();
  await signInAccount(await signIn.newPage(), email);
  const context = await browser.newContext({ javaScriptEnabled: false, storageState: await signIn.storageState() });
  await signIn.close();
  const page = await context.newPage();
  const sku = `SCARF-${stamp}`;

  await page.goto('/seller/products/new');
  await page.getByLabel('Title').fill('   ');
  await page.getByLabel('Description').fill('A wool scarf, two metres long.');
  await page.getByLabel('Brand').fill('Threadline');
  await page.getByLabel('Category').selectOption({ index: 1 });
  await page.getByLabel(/^Variants/).fill(`${sku} | 12.345 | Color: Red`);
  await page.getByRole('button', { name: 'Save product' }).click();

  await expect(page).toHaveURL(/\/seller\/products\/new\?unsaved=1$/);
  await expect(page.locator('[data-field="title"]')).toBeVisible();
  await expect(page.locator('.field-errors')).toContainText('Line 1: The price');
  await expect(page.getByLabel('Title')).toBeFocused();
  await expect(page.getByLabel('Description')).toHaveValue('A wool scarf, two metres long.');
  await expect(page.getByLabel('Brand')).toHaveValue('Threadline');
  await expect(page.getByLabel(/^Variants/)).toHaveValue(`${sku} | 12.345 | Color: Red`);

  await page.getByLabel('Title').fill(`Wool scarf ${stamp}`);
  await page.getByLabel(/^Variants/).fill(`${sku} | 24.00 | Color: Red`);
  await page.getByRole('button', { name: 'Save product' }).click();
  await expect(page).toHaveURL(/\/seller\/products\/\d+\?saved=1$/);
  await expect(page.getByLabel('Title')).toHaveValue(`Wool scarf ${stamp}`);
  await context.close();
});
