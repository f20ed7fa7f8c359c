import { test, expect, stocked, addToCart, uniqueEmail, fillCheckout, mailTo, orderApiPath } from './fixtures';

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
    const order = await (await request.get(await orderApiPath(page))).json();
    expect(`$${(order.totals.total.amount / 100).toFixed(2)}`).toBe(shown);
    expect(order.totals.shipping.amount).toBe(shipping);
    await context.close();
  });
}

// The cart estimates delivery and tax for the area the shopper names, and that estimate is
// what the order then charges; the checkout form starts from the same area.
for (const [js, category] of [[true, 'kitchen-and-tabletop'], [false, 'lighting']] as const) {
  test(`the cart's estimate is what the order charges (JavaScript ${js ? 'on' : 'off'})`, async ({ browser, request }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const found = await stocked(request, category, 3);
    await addToCart(page, found, js);
    const estimate = page.getByTestId('estimate');
    await expect(estimate).toContainText('Shipping and tax are added at checkout');

    // A state the country does not have: the message sits by its field, the area as typed.
    await estimate.getByLabel('Country (two letters)').fill('US');
    await estimate.getByLabel('State / province').fill('Atlantis');
    await estimate.getByRole('button', { name: 'Estimate' }).click();
    await expect(page.locator('#estimate-region-error')).toContainText('is not a state of United States');
    await expect(estimate.getByLabel('State / province')).toHaveValue('Atlantis');

    // Illinois: 6.25 % state sales tax on the goods.
    await estimate.getByLabel('State / province').fill('IL');
    await estimate.getByRole('button', { name: 'Estimate' }).click();
    await expect(estimate.getByTestId('estimate-part')).toHaveCount(1);
    const tax = Math.round((found.price * 625) / 10000);
    await expect(estimate.getByTestId('totals-tax')).toHaveText(`$${(tax / 100).toFixed(2)}`);
    const estimated = await estimate.getByTestId('checkout-total').innerText();

    const email = uniqueEmail(js ? 'estimate-js' : 'estimate-nojs');
    await fillCheckout(page, email);
    await expect(page.getByTestId('checkout-total')).toHaveText(estimated);
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you! Your order is confirmed.');
    const orderId = await page.getByTestId('order-id').innerText();
    const order = await (await request.get(await orderApiPath(page))).json();
    expect(`$${(order.totals.total.amount / 100).toFixed(2)}`).toBe(estimated);
    expect(order.totals.tax.amount).toBe(tax);
    // The page says a confirmation was sent, and the server's workers did send it: the same
    // total, the tax, and the order's link.
    await expect(page.getByText(/A confirmation is on its way to/)).toBeVisible();
    const mail = await mailTo(email, `Subject: Your order ${orderId} is confirmed`);
    expect(mail).toContain(`Total: ${estimated}`);
    expect(mail).toContain(`Tax: $${(tax / 100).toFixed(2)}`);
    expect(mail).toMatch(new RegExp(`/orders/${orderId}\\?token=[0-9a-f]{32}`));
    await context.close();
  });
}
