//! The mail an order's shopper gets. Each message is queued by an outbox event's handler
//! under a key made of the event's name and the order (`order_confirmed:ord_…`), so a
//! redelivered event or a handler that runs twice still sends one message
//! ([`Outbox::queue_once`]).
//!
//! Every amount is written by [`Money`](crate::Money)'s `Display` (the shop's currency and
//! locale), the same as the pages. The HTML part escapes everything that came from outside
//! the shop's own words: product titles and options come from sellers' feeds, names and
//! addresses from the shopper.

use super::{Order, OrderError, OrderId, Orders};
use crate::Money;
use crate::accounts::links::MAILS_PER_HOUR;
use crate::address::Country;
use crate::checkout::Email;
use crate::events::{Event, Handler};
use crate::mail::{Mail, Outbox};
use std::fmt::Write;
use std::sync::Arc;

/// Queues the order mails.
#[derive(Clone, Debug)]
pub struct OrderMails {
    orders: Orders,
    outbox: Outbox,
    /// The shop's address as shoppers reach it, without a trailing `/`.
    public_url: String,
}

impl OrderMails {
    pub fn new(orders: Orders, outbox: Outbox, public_url: &str) -> Self {
        Self {
            orders,
            outbox,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The order page's secret link, with the shop's address.
    async fn full_link(&self, order: &OrderId) -> Result<String, OrderError> {
        Ok(format!(
            "{}{}",
            self.public_url,
            self.orders.link(order).await?
        ))
    }

    /// Queues the confirmation of `order` (once, however often it is asked). `None` when it
    /// was queued before.
    pub async fn confirmed(&self, order: &OrderId) -> Result<Option<i64>, OrderError> {
        let link = self.full_link(order).await?;
        let order = self.orders.get(order).await?;
        let mail = confirmation(&order, &link)?;
        let key = format!("order_confirmed:{}", order.id);
        Ok(self.outbox.queue_once(&key, &mail).await?)
    }
}

impl OrderMails {
    /// Mails `order`'s secret link to the address it was placed with (a guest who asked for
    /// it by number and e-mail). Nothing is queued past [`MAILS_PER_HOUR`] messages to that
    /// address in the last hour, so the form cannot be used to flood a mailbox.
    pub async fn link(&self, order: &Order) -> Result<(), OrderError> {
        let to = Email::parse(&order.email).map_err(|e| OrderError::Corrupt(e.to_string()))?;
        let hour_ago = self.outbox.now() - 3_600_000;
        if self.outbox.queued_since(&to, hour_ago).await? >= MAILS_PER_HOUR {
            tracing::info!("order link held back: {MAILS_PER_HOUR} messages this hour");
            return Ok(());
        }
        let link = self.full_link(&order.id).await?;
        let body = format!(
            "Here is the link to your order {id}, as you asked:\n{link}\n\n\
             Anyone with this link can see the order, so keep it to yourself.\n\
             If you didn't ask for it, you can ignore this message.\n",
            id = order.id
        );
        self.outbox
            .queue(&Mail {
                to,
                subject: format!("The link to your order {}", order.id),
                body,
                html: None,
            })
            .await?;
        Ok(())
    }
}

/// The `order_confirmed` handler that mails the confirmation.
pub fn on_order_confirmed(mails: OrderMails) -> Handler {
    Arc::new(move |event: Event| {
        let mails = mails.clone();
        Box::pin(async move {
            let id = event.payload["order_id"]
                .as_str()
                .unwrap_or(&event.aggregate_id);
            let order = OrderId::parse(id).map_err(|e| e.to_string())?;
            mails
                .confirmed(&order)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    })
}

/// The confirmation of `order`: what was bought, the five amounts, where it goes, and
/// `link`, the order page's secret link, to follow it.
pub fn confirmation(order: &Order, link: &str) -> Result<Mail, OrderError> {
    let to = Email::parse(&order.email).map_err(|e| OrderError::Corrupt(e.to_string()))?;
    let currency = order.totals.total.currency;
    let name = order.shipping_address.name.trim();
    let greeting = if name.is_empty() {
        "Thank you for your order!".to_string()
    } else {
        format!("Thank you for your order, {name}!")
    };
    let lines: Vec<(String, String)> = order
        .lines
        .iter()
        .map(|line| {
            let what = if line.options.is_empty() {
                line.title.clone()
            } else {
                format!("{} ({})", line.title, line.options)
            };
            let amount = Money::new(line.unit_price.saturating_mul(line.quantity), currency);
            (format!("{} × {what}", line.quantity), amount.to_string())
        })
        .collect();
    let deliveries: Vec<String> = order
        .shipping
        .iter()
        .map(|part| part.describe(currency))
        .collect();
    let totals = amounts(&order.totals);
    let address = address_lines(&order.shipping_address);

    let mut text = String::new();
    let _ = writeln!(text, "{greeting}\n");
    let _ = writeln!(text, "Your order {} is confirmed and paid.\n", order.id);
    for (what, amount) in &lines {
        let _ = writeln!(text, "  {what}  {amount}");
    }
    text.push('\n');
    for (label, amount) in &totals {
        let _ = writeln!(text, "{label}: {amount}");
    }
    if !deliveries.is_empty() {
        let _ = writeln!(text, "\nDelivery:");
        for d in &deliveries {
            let _ = writeln!(text, "  {d}");
        }
    }
    let _ = writeln!(text, "\nShipping to:");
    for line in &address {
        let _ = writeln!(text, "  {line}");
    }
    let _ = writeln!(
        text,
        "\nFollow your order: {link}\n\nWe will write again when it ships."
    );

    // One element per line: the part then travels as readable 8bit text (no line may pass
    // 998 bytes), and the link stays whole on its line.
    let e = crate::search::escape;
    let mut html = String::from(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif;color:#1a1a1a\">\n",
    );
    let _ = writeln!(html, "<p>{}</p>", e(&greeting));
    let _ = write!(
        html,
        "<p>Your order <strong>{}</strong> is confirmed and paid.</p>\n<table>\n",
        e(order.id.as_str())
    );
    for (what, amount) in &lines {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td style=\"text-align:right\">{}</td></tr>",
            e(what),
            e(amount)
        );
    }
    for (label, amount) in &totals {
        let _ = writeln!(
            html,
            "<tr><th style=\"text-align:left\">{}</th><td style=\"text-align:right\">{}</td></tr>",
            e(label),
            e(amount)
        );
    }
    html.push_str("</table>\n");
    if !deliveries.is_empty() {
        html.push_str("<p>Delivery:</p>\n<ul>\n");
        for d in &deliveries {
            let _ = writeln!(html, "<li>{}</li>", e(d));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("<p>Shipping to:<br>\n");
    let address_html: Vec<String> = address.iter().map(|l| e(l)).collect();
    html.push_str(&address_html.join("<br>\n"));
    let _ = writeln!(
        html,
        "</p>\n<p><a href=\"{}\">Follow your order</a></p>\n<p>We will write again when it ships.</p>\n</body></html>",
        e(link)
    );
    Ok(Mail {
        to,
        subject: format!("Your order {} is confirmed", order.id),
        body: text,
        html: Some(html),
    })
}

/// The totals as the pages show them: the discount only when there is one, free shipping
/// said in words, tax named for how the shop prices.
fn amounts(totals: &crate::pricing::Totals) -> Vec<(&'static str, String)> {
    let mut out = vec![("Subtotal", totals.subtotal.to_string())];
    if totals.discount.amount > 0 {
        out.push(("Discount", format!("−{}", totals.discount)));
    }
    out.push((
        "Shipping",
        if totals.shipping.amount == 0 {
            "Free".into()
        } else {
            totals.shipping.to_string()
        },
    ));
    out.push((
        if totals.tax_included {
            "Including tax"
        } else {
            "Tax"
        },
        totals.tax.to_string(),
    ));
    out.push(("Total", totals.total.to_string()));
    out
}

/// An address as a label is written: name, street, town with region and postal code, country.
fn address_lines(a: &crate::checkout::Address) -> Vec<String> {
    // `Portland, OR 97201`; `Berlin 10115` where there is no region.
    let after = [a.region.trim(), a.postal_code.trim()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let town = match (a.city.trim(), after.is_empty()) {
        (city, true) => city.to_string(),
        ("", false) => after,
        (city, false) if a.region.trim().is_empty() => format!("{city} {after}"),
        (city, false) => format!("{city}, {after}"),
    };
    let country = Country::known(&a.country).map_or(a.country.as_str(), |c| c.name);
    [
        a.name.trim(),
        a.line1.trim(),
        a.line2.trim(),
        &town,
        country,
    ]
    .into_iter()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::{Address, CheckoutLine};
    use crate::orders::OrderStatus;
    use crate::pricing::{PartShipping, Totals};
    use crate::{Currency, Money};

    fn order(address: Address, totals: Totals) -> Order {
        Order {
            id: OrderId::parse("ord_0123456789abcdef01234567").unwrap(),
            status: OrderStatus::Confirmed,
            email: "ana@example.com".into(),
            total: totals.total,
            shipping_address: address,
            lines: vec![CheckoutLine {
                variant_id: crate::catalog::VariantId::parse("7").unwrap(),
                sku: crate::catalog::Sku::parse("LAMP-1").unwrap(),
                title: "Desk lamp <script>".into(),
                options: "Blue & white".into(),
                quantity: 3,
                unit_price: 1_250,
                seller_id: 1,
            }],
            history: vec![],
            created_at: 0,
            discount: totals.discount.amount,
            totals,
            shipping: vec![PartShipping {
                seller: 1,
                method: "standard".into(),
                name: "Standard".into(),
                amount: 0,
                tax: 0,
                days: [3, 5],
            }],
        }
    }

    fn totals(discount: i64, shipping: i64, tax: i64, tax_included: bool) -> Totals {
        let usd = |amount| Money::new(amount, Currency::USD);
        let subtotal = 3_750;
        let extra = if tax_included { 0 } else { tax };
        Totals {
            subtotal: usd(subtotal),
            discount: usd(discount),
            shipping: usd(shipping),
            tax: usd(tax),
            total: usd(subtotal - discount + shipping + extra),
            tax_included,
        }
    }

    #[test]
    fn the_confirmation_says_what_the_order_page_says() {
        let german = Address {
            name: "Jonas Weber".into(),
            line1: "Hauptstraße 5".into(),
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "DE".into(),
            ..Default::default()
        };
        let mail = confirmation(
            &order(german, totals(500, 0, 0, true)),
            "https://shop.example/orders/ord_0123456789abcdef01234567?token=abc",
        )
        .unwrap();
        assert_eq!(mail.to.as_str(), "ana@example.com");
        let text = &mail.body;
        for expected in [
            "Thank you for your order, Jonas Weber!",
            "3 × Desk lamp <script> (Blue & white)  $37.50",
            "Subtotal: $37.50",
            "Discount: −$5.00",
            "Shipping: Free",
            "Including tax: $0.00",
            "Total: $32.50",
            "Standard (free), 3–5 days",
            "  Hauptstraße 5\n  Berlin 10115\n  Germany\n",
            "Follow your order: https://shop.example/orders/ord_0123456789abcdef01234567?token=abc",
        ] {
            assert!(text.contains(expected), "{expected:?} in:\n{text}");
        }
        let html = mail.html.unwrap();
        assert!(
            html.contains("Desk lamp &lt;script&gt; (Blue &amp; white)"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        let href = "href=\"https://shop.example/orders/ord_0123456789abcdef01234567?token=abc\"";
        assert!(
            html.contains(href),
            "the link whole, as an attribute: {html}"
        );
        assert!(
            html.lines().all(|l| l.len() <= 998),
            "every line fits 8bit mail"
        );
    }

    #[test]
    fn no_discount_line_without_a_discount_and_tax_named_as_added() {
        let mail = confirmation(
            &order(crate::testing::us_address(), totals(0, 599, 234, false)),
            "https://shop.example/orders/ord_0123456789abcdef01234567?token=abc",
        )
        .unwrap();
        let text = &mail.body;
        assert!(!text.contains("Discount"), "{text}");
        assert!(
            text.contains("Shipping: $5.99\nTax: $2.34\nTotal: $45.83"),
            "{text}"
        );
        assert!(
            text.contains("  Springfield, IL 62701\n  United States\n"),
            "{text}"
        );
    }
}
