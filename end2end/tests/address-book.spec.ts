import { test, expect, stocked, addToCart, uniqueEmail, createAccount, signInAccount } from './fixtures';

// A signed-in shopper keeps addresses: a form with a mistake comes back as typed with the
// message by its field, with JavaScript and without; the default one fills the checkout.
for (const [js, category] of [[true, 'outdoor'], [false, 'rugs']] as const) {
  test(`the address book keeps what was typed and its default fills the checkout (JavaScript ${js ? 'on' : 'off'})`, async ({ browser, request }) => {
    const email = uniqueEmail(js ? 'book-js' : 'book-nojs');
    createAccount(email, 'shopper');
    // Signing in takes the browser's script; the address book is then used as the test says.
    const signIn = await browser.newContext();
    await signInAccount(await signIn.newPage(), email);
    const context = await browser.newContext({ javaScriptEnabled: js, storageState: await signIn.storageState() });
    await signIn.close();
    const page = await context.newPage();

    await page.goto('/account');
    await page.getByRole('link', { name: 'Your address book' }).click();
    await expect(page).toHaveURL(/\/account\/addresses$/);
    await page.getByLabel('Full name').fill('Cy Park');
    await page.getByLabel('Address', { exact: true }).fill('77 Harbor Rd');
    await page.getByLabel('City').fill('Seattle');
    await page.getByLabel('State / province').fill('WA');
    await page.getByLabel('Postal code').fill('981');
    await page.getByLabel('Phone (optional, for the carrier)').fill('+1 206 555 0199');
    await page.getByRole('button', { name: 'Save address' }).click();

    const postal = page.getByLabel('Postal code');
    await expect(page.locator('#address-postal_code-error')).toContainText('5-digit ZIP code');
    await expect(postal).toHaveAttribute('aria-invalid', 'true');
    await expect(postal).toBeFocused();
    await expect(postal).toHaveValue('981');
    await expect(page.getByLabel('Full name')).toHaveValue('Cy Park');
    await expect(page.getByLabel('Address', { exact: true })).toHaveValue('77 Harbor Rd');
    await expect(page.getByLabel('City')).toHaveValue('Seattle');
    await expect(page.getByLabel('Phone (optional, for the carrier)')).toHaveValue('+1 206 555 0199');
    await expect(page.getByTestId('saved-address')).toHaveCount(0);

    await postal.fill('98101');
    await page.getByRole('button', { name: 'Save address' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Address saved.' })).toBeVisible();
    const saved = page.getByTestId('saved-address');
    await expect(saved).toHaveCount(1);
    await expect(saved).toHaveAttribute('data-default', 'true');
    await expect(saved).toContainText('77 Harbor Rd');

    // The checkout starts from the default address and the account's e-mail.
    const found = await stocked(request, category, 2);
    await addToCart(page, found, js);
    await page.getByRole('link', { name: 'Check out' }).click();
    await expect(page).toHaveURL(/\/checkout$/);
    await expect(page.getByLabel('E-mail')).toHaveValue(email);
    await expect(page.getByLabel('Full name')).toHaveValue('Cy Park');
    await expect(page.getByLabel('Address', { exact: true })).toHaveValue('77 Harbor Rd');
    await expect(page.getByLabel('City')).toHaveValue('Seattle');
    await expect(page.getByLabel('State / province')).toHaveValue('WA');
    await expect(page.getByLabel('Postal code')).toHaveValue('98101');
    await expect(page.getByLabel('Country')).toHaveValue('US');
    // Washington's state tax is already in the total shown.
    await expect(page.getByTestId('totals-tax')).not.toHaveText('$0.00');
    await context.close();
  });
}
