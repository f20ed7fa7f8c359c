import { test, expect, hydrated, createAccount, signInAccount } from './fixtures';
import type { Locator } from '@playwright/test';

/** Opens a zone's "Add a method" form (it may be open already after a redraw) and returns it. */
async function addForm(zone: Locator): Promise<Locator> {
  const details = zone.locator('details:has(summary:text("Add a method"))');
  await details.evaluate((d) => ((d as HTMLDetailsElement).open = true));
  return details.locator('form');
}

// The admin edits the shop's methods and the tax table; a seller sets methods of their own
// and sees none of the shop's. Zones and areas no other spec ships to (Canada, the rest of
// the world, New Zealand's tax), since specs share one shop.
test('the admin edits methods and tax rules, a seller their own methods', async ({ browser }) => {
  test.setTimeout(90_000);
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const adminEmail = `admin-ship-${stamp}@example.com`;
  const sellerEmail = `seller-ship-${stamp}@example.com`;
  createAccount(adminEmail, 'admin');
  createAccount(sellerEmail, 'seller', 'pantry-market');
  const code = `courier${stamp.slice(-6)}`;

  const admin = await (await browser.newContext()).newPage();
  await signInAccount(admin, adminEmail);
  await admin.goto('/admin');
  await admin.getByRole('link', { name: 'Shipping and tax' }).click();
  await expect(admin).toHaveURL(/\/admin\/shipping$/);
  await hydrated(admin);
  const canada = admin.getByTestId('zone').filter({ has: admin.getByRole('heading', { name: /^Canada/ }) });
  let add = await addForm(canada);
  await add.getByLabel('Code').fill(code);
  await add.getByLabel('Name').fill('Courier');
  await add.getByLabel('Price (or base price)').fill('7.5');
  await add.getByLabel('Shortest delivery, days').fill('2');
  await add.getByLabel('Longest delivery, days').fill('4');
  await add.getByRole('button', { name: 'Save method' }).click();
  await expect(admin.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  const row = canada.locator(`[data-testid="method"][data-code="${code}"]`);
  await expect(row.getByTestId('method-price')).toHaveText('$7.50');

  // The same code twice in a zone is refused, and the page says which field.
  add = await addForm(canada);
  await add.getByLabel('Code').fill(code);
  await add.getByLabel('Name').fill('Courier again');
  await add.getByLabel('Price (or base price)').fill('1');
  await add.getByLabel('Shortest delivery, days').fill('1');
  await add.getByLabel('Longest delivery, days').fill('1');
  await add.getByRole('button', { name: 'Save method' }).click();
  await expect(admin.getByRole('status').filter({ hasText: 'not used by another method in the zone' })).toBeVisible();
  await expect(canada.locator(`[data-testid="method"][data-code="${code}"]`)).toHaveCount(1);

  // A tax rule set, shown, deleted.
  const tax = admin.locator('form.tax-form');
  await tax.getByLabel('Country', { exact: true }).fill('NZ');
  await tax.getByLabel('Rate, %').fill('15');
  await tax.getByLabel('Shipping is taxed').check();
  await tax.getByRole('button', { name: 'Save rule' }).click();
  const nz = admin.locator('[data-testid="tax-rule"][data-area="NZ-"]');
  await expect(nz).toContainText('15 %');
  await expect(nz).toContainText('yes');
  await nz.getByRole('button', { name: 'Delete' }).click();
  await expect(nz).toHaveCount(0);

  // The seller's page: their own methods only, in any zone.
  const seller = await (await browser.newContext()).newPage();
  await signInAccount(seller, sellerEmail);
  await seller.goto('/seller');
  await seller.getByRole('link', { name: 'Shipping' }).click();
  await expect(seller).toHaveURL(/\/seller\/shipping$/);
  await hydrated(seller);
  await expect(seller.getByRole('heading', { level: 1 })).toHaveText('Shipping for Pantry Market');
  await expect(seller.locator(`[data-testid="method"][data-code="${code}"]`)).toHaveCount(0);
  const world = seller.getByTestId('zone').filter({ has: seller.getByRole('heading', { name: /^Rest of the world/ }) });
  const own = await addForm(world);
  await own.getByLabel('Code').fill('pantry-post');
  await own.getByLabel('Name').fill('Pantry post');
  await own.getByLabel('Priced').selectOption('by_weight');
  await own.getByLabel('Price (or base price)').fill('12');
  await own.getByLabel('Per kilogram (by weight)').fill('3.25');
  await own.getByLabel('Shortest delivery, days').fill('7');
  await own.getByLabel('Longest delivery, days').fill('21');
  await own.getByRole('button', { name: 'Save method' }).click();
  await expect(world.locator('[data-testid="method"][data-code="pantry-post"] [data-testid="method-price"]')).toHaveText('$12.00 + $3.25 per kg');
  await world.locator('[data-testid="method"][data-code="pantry-post"]').getByRole('button', { name: 'Delete' }).click();
  await expect(world.locator('[data-testid="method"]')).toHaveCount(0);

  // Admin's courier cleaned up so that a rerun against the same shop starts alike.
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(row).toHaveCount(0);
});
