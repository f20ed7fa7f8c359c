import { test, expect, stocked, addToCart, uniqueEmail } from './fixtures';

// The checkout form keeps what was typed after an error, puts each message beside its field
// and the cursor in the first one, with JavaScript and without; shipping and tax for the
// address are shown before the order is placed, and the order charges what was shown.
for (const js of [true, false]) {
  test(`a wrong postal code brings the form back as typed (JavaScript ${js ? 'on' : 'off'})`, async ({ browser, request }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    // A category no other spec stocks: specs run in parallel and set stock.
    const found = await stocked(request, 'sports-and-outdoors', 3);
    // Standard shipping in the US: free over $50, else $5.99.
    const shipping = found.price >= 5000 ? 0 : 599;
    await addToCart(page, found, js);
    await page.getByRole('link', { name: 'Check out' }).click();
    await expect(page).toHaveURL(/\/checkout$/);
    const email = uniqueEmail(js ? 'form-js' : 'form-nojs');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Full name').fill('Ana Lima');
    await page.getByLabel('Address', { exact: true }).fill('1 Main St');
    await page.getByLabel('Apartment, suite (optional)').fill('Apt 4');
    await page.getByLabel('City').fill('Portland');
    await page.getByLabel('State / province').fill('Oregon');
    await page.getByLabel('Postal code').fill('9720');
    await page.getByLabel('Phone (optional, for the carrier)').fill('+1 503 555 0100');
    await page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Place order' }).click();

    const postal = page.getByLabel('Postal code');
    await expect(page.locator('#checkout-postal_code-error')).toContainText('5-digit ZIP code');
    await expect(postal).toHaveAttribute('aria-invalid', 'true');
    await expect(postal).toBeFocused();
    await expect(postal).toHaveValue('9720');
    await expect(page.getByLabel('E-mail')).toHaveValue(email);
    await expect(page.getByLabel('Full name')).toHaveValue('Ana Lima');
    await expect(page.getByLabel('Address', { exact: true })).toHaveValue('1 Main St');
    await expect(page.getByLabel('Apartment, suite (optional)')).toHaveValue('Apt 4');
    await expect(page.getByLabel('City')).toHaveValue('Portland');
    await expect(page.getByLabel('State / province')).toHaveValue('Oregon');
    await expect(page.getByLabel('Phone (optional, for the carrier)')).toHaveValue('+1 503 555 0100');
    // The card is never kept on the server: without JavaScript the page comes back without it
    // (with it, the number stays in the browser's form and went nowhere).
    if (!js) await expect(page.getByLabel('Card number')).toHaveValue('');

    // Fixed: the delivery options and the total for Oregon (no sales tax) are shown first.
    await postal.fill('97201');
    await page.getByRole('button', { name: 'Update delivery and total' }).click();
    await expect(page.getByTestId('totals-shipping')).toHaveText(shipping === 0 ? 'Free' : '$5.99');
    await expect(page.getByTestId('totals-tax')).toHaveText('$0.00');
    const shown = await page.getByTestId('checkout-total').innerText();
    await page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.');
    const orderId = await page.getByTestId('order-id').innerText();
    const order = await (await request.get(`/api/v1/orders/${orderId}`)).json();
    expect(`$${(order.totals.total.amount / 100).toFixed(2)}`).toBe(shown);
    expect(order.totals.shipping.amount).toBe(shipping);
    await context.close();
  });
}
