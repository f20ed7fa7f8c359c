//! Carts against a real database: line operations, bounds, idempotency, live notices.

use crate::common::{NOW, PATIENCE, demo_shop, set_available};
use shop::Money;
use shop::cart::{CartError, CartId, Carts, LineNotice, LineQuantity, Quantity, Reordered};
use shop::catalog::{Catalog, Sku, VariantId};
use shop::checkout::CheckoutLine;
use shop::clock::ManualClock;
use shop::coupons::{CouponCode, Coupons, Discount};
use shop::db::{Db, DbOptions};
use std::collections::HashMap;
use std::sync::Arc;

fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

fn q(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
}

/// A line of an earlier order: `reorder` reads its SKU and quantity (the rest is what the
/// order recorded at the time).
fn ordered(sku_text: &str, quantity: i64) -> CheckoutLine {
    CheckoutLine {
        variant_id: VariantId::new(1),
        sku: sku(sku_text),
        title: String::new(),
        options: String::new(),
        quantity,
        unit_price: 0,
        seller_id: 0,
    }
}

#[tokio::test]
async fn a_shopper_adds_sets_and_removes_lines() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let cart = carts.create(NOW).await.unwrap();
    assert!(carts.get(&cart).await.unwrap().is_empty());

    carts
        .add(&cart, &sku("WANDS-13-QUEEN"), q(1), None, NOW)
        .await
        .unwrap();
    let view = carts
        .add(&cart, &sku("WANDS-13-QUEEN"), q(1), None, NOW)
        .await
        .unwrap();
    assert_eq!(view.lines.len(), 1, "one line per SKU");
    assert_eq!(view.lines[0].quantity.get(), 2);
    assert_eq!(view.lines[0].options, "Size: Queen");
    assert_eq!(
        view.subtotal.unwrap().amount,
        view.lines[0].unit_price.amount * 2
    );

    let view = carts
        .set_line(&cart, &sku("WANDS-13-QUEEN"), LineQuantity::Set(q(1)), NOW)
        .await
        .unwrap();
    assert_eq!(view.item_count, 1);
    let view = carts
        .set_line(&cart, &sku("WANDS-13-QUEEN"), LineQuantity::Remove, NOW)
        .await
        .unwrap();
    assert!(view.is_empty());
}

#[tokio::test]
async fn setting_the_same_quantity_twice_is_one_change() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let cart = carts.create(NOW).await.unwrap();
    let s = sku("WANDS-13-TWIN");
    carts
        .set_line(&cart, &s, LineQuantity::Set(q(2)), NOW)
        .await
        .unwrap();
    carts
        .set_line(&cart, &s, LineQuantity::Set(q(2)), NOW + 5000)
        .await
        .unwrap();
    let updated: i64 = sqlx::query_scalar("SELECT updated_at FROM cart_lines WHERE cart_id = $1")
        .bind(cart.as_str())
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    assert_eq!(updated, NOW, "the second, identical set wrote nothing");
}

#[tokio::test]
async fn a_double_clicked_add_adds_once() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let cart = carts.create(NOW).await.unwrap();
    let s = sku("WANDS-13-TWIN");
    let clicks: Vec<_> = (0..5)
        .map(|_| {
            let carts = carts.clone();
            let cart = cart.clone();
            let s = s.clone();
            tokio::spawn(async move { carts.add(&cart, &s, q(1), Some("op-12345678"), NOW).await })
        })
        .collect();
    for c in clicks {
        c.await.unwrap().unwrap();
    }
    assert_eq!(carts.get(&cart).await.unwrap().lines[0].quantity.get(), 1);
    // A new operation adds again.
    let view = carts
        .add(&cart, &s, q(1), Some("op-87654321"), NOW)
        .await
        .unwrap();
    assert_eq!(view.lines[0].quantity.get(), 2);
}

#[tokio::test]
async fn a_line_never_asks_for_more_than_is_available_or_ninety_nine() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let cart = carts.create(NOW).await.unwrap();
    let s = sku("WANDS-13-TWIN");
    set_available(&shop.db, "WANDS-13-TWIN", 3).await;

    let err = carts
        .set_line(&cart, &s, LineQuantity::Set(q(4)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CartError::InsufficientStock { available: 3, .. }),
        "{err}"
    );
    carts
        .set_line(&cart, &s, LineQuantity::Set(q(3)), NOW)
        .await
        .unwrap();
    let err = carts.add(&cart, &s, q(1), None, NOW).await.unwrap_err();
    assert!(matches!(err, CartError::InsufficientStock { .. }), "{err}");

    set_available(&shop.db, "WANDS-13-TWIN", 500).await;
    carts
        .set_line(&cart, &s, LineQuantity::Set(q(99)), NOW)
        .await
        .unwrap();
    let err = carts.add(&cart, &s, q(1), None, NOW).await.unwrap_err();
    assert!(
        matches!(err, CartError::TooMany { in_cart: 99, .. }),
        "{err}"
    );
    assert_eq!(
        carts.get(&cart).await.unwrap().lines[0].quantity.get(),
        99,
        "nothing changed"
    );
}

#[tokio::test]
async fn unknown_carts_and_skus_are_refused() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let stranger = CartId::parse("0123456789abcdef0123456789abcdef").unwrap();
    assert!(matches!(
        carts.get(&stranger).await,
        Err(CartError::CartNotFound)
    ));
    assert!(matches!(
        carts
            .add(&stranger, &sku("WANDS-13-TWIN"), q(1), None, NOW)
            .await,
        Err(CartError::CartNotFound)
    ));
    let cart = carts.create(NOW).await.unwrap();
    assert!(matches!(
        carts.add(&cart, &sku("NO-SUCH-SKU"), q(1), None, NOW).await,
        Err(CartError::UnknownSku(_))
    ));
}

#[tokio::test]
async fn the_cart_shows_live_stock_and_price_changes() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let cart = carts.create(NOW).await.unwrap();
    set_available(&shop.db, "WANDS-13-TWIN", 10).await;
    carts
        .add(&cart, &sku("WANDS-13-TWIN"), q(4), None, NOW)
        .await
        .unwrap();
    let before = carts.get(&cart).await.unwrap().lines[0].unit_price;

    set_available(&shop.db, "WANDS-13-TWIN", 2).await;
    sqlx::query(
        "UPDATE variants SET price_amount = price_amount + 1000 WHERE sku = 'WANDS-13-TWIN'",
    )
    .execute(shop.db.pool())
    .await
    .unwrap();
    let view = carts.get(&cart).await.unwrap();
    let line = &view.lines[0];
    assert_eq!(
        line.unit_price.amount,
        before.amount + 1000,
        "prices are always current"
    );
    assert!(
        line.notices
            .contains(&LineNotice::OnlyLeft { available: 2 })
    );
    assert!(line.notices.contains(&LineNotice::PriceChanged {
        was: before,
        now: line.unit_price
    }));
    assert!(!view.is_buyable());

    set_available(&shop.db, "WANDS-13-TWIN", 0).await;
    let view = carts.get(&cart).await.unwrap();
    assert!(view.lines[0].notices.contains(&LineNotice::OutOfStock));
}

/// More shoppers at once than there are connections: a cart write that asked the pool for a
/// second connection while holding its transaction's would, once every connection's writer
/// did the same, wait for itself until the pool gave up. Through a pool of ONE connection
/// that wait is certain for the first such write, so the crowd finishing at all shows that
/// every write uses only its own transaction's connection.
#[tokio::test]
async fn a_crowd_filling_carts_at_once_never_deadlocks_the_pool() {
    let shop = demo_shop().await;
    set_available(&shop.db, "WANDS-13-TWIN", 1000).await;
    let one_connection = Db::connect(
        &shop.url,
        &DbOptions {
            max_connections: 1,
            // Long enough for the whole crowd to take turns; a write waiting for itself
            // waits this long, then fails with the pool's timeout.
            acquire_timeout: PATIENCE,
            ..DbOptions::default()
        },
    )
    .await
    .unwrap();
    let carts = Carts::new(one_connection.clone(), Catalog::new(one_connection.clone()));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let carts = carts.clone();
            tokio::spawn(async move {
                let cart = carts.create(NOW).await.unwrap();
                carts
                    .set_line(&cart, &sku("WANDS-13-TWIN"), LineQuantity::Set(q(1)), NOW)
                    .await
                    .unwrap();
                carts
                    .add(&cart, &sku("WANDS-13-TWIN"), q(1), None, NOW)
                    .await
                    .unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let units: i64 = sqlx::query_scalar("SELECT CAST(SUM(quantity) AS BIGINT) FROM cart_lines")
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    assert_eq!(units, 200, "every shopper's two writes");
}

#[tokio::test]
async fn buying_an_order_again_adds_what_can_be_bought_and_reports_the_rest() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let cart = carts.create(NOW).await.unwrap();
    set_available(&shop.db, "WANDS-13-TWIN", 50).await;
    set_available(&shop.db, "WANDS-13-FULL", 2).await;
    set_available(&shop.db, "WANDS-13-QUEEN", 0).await;
    set_available(&shop.db, "WANDS-13-KING", 200).await;
    // The cart already holds 97 kings: that line has room for two more.
    carts
        .set_line(&cart, &sku("WANDS-13-KING"), LineQuantity::Set(q(97)), NOW)
        .await
        .unwrap();

    let order = [
        ordered("WANDS-13-TWIN", 3),
        ordered("WANDS-13-FULL", 5),
        ordered("WANDS-13-QUEEN", 1),
        ordered("WANDS-13-GONE", 2),
        ordered("WANDS-13-KING", 4),
    ];
    let report = carts.reorder(&cart, &order, NOW).await.unwrap();

    let outcomes: Vec<(&str, Reordered)> = report
        .iter()
        .map(|l| (l.sku.as_str(), l.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("WANDS-13-TWIN", Reordered::Added { quantity: 3 }),
            // Capped by the stock there is now.
            (
                "WANDS-13-FULL",
                Reordered::Reduced {
                    wanted: 5,
                    quantity: 2
                }
            ),
            // Sold out, and no longer in the catalog.
            ("WANDS-13-QUEEN", Reordered::Skipped { wanted: 1 }),
            ("WANDS-13-GONE", Reordered::Skipped { wanted: 2 }),
            // Capped by the 99 a line holds, with what the cart had.
            (
                "WANDS-13-KING",
                Reordered::Reduced {
                    wanted: 4,
                    quantity: 2
                }
            ),
        ]
    );
    let in_cart: HashMap<String, i64> = carts
        .get(&cart)
        .await
        .unwrap()
        .lines
        .iter()
        .map(|l| (l.sku.to_string(), l.quantity.get()))
        .collect();
    assert_eq!(
        in_cart,
        HashMap::from([
            ("WANDS-13-TWIN".to_string(), 3),
            ("WANDS-13-FULL".to_string(), 2),
            ("WANDS-13-KING".to_string(), 99),
        ]),
        "the cart holds what the report says was added, and nothing else"
    );
    let whole: Vec<bool> = report.iter().map(|l| l.is_whole()).collect();
    assert_eq!(whole, [true, false, false, false, false]);
}

#[tokio::test]
async fn the_cart_is_shown_with_its_coupon_and_what_it_takes_off() {
    let shop = demo_shop().await;
    let carts = Carts::new(shop.db.clone(), Catalog::new(shop.db.clone()));
    let coupons = Coupons::new(shop.db.clone(), Arc::new(ManualClock::starting_at(NOW)));
    shop::testing::create_coupon(&coupons, "TENOFF", Discount::Percent(10)).await;
    let cart = carts.create(NOW).await.unwrap();
    carts
        .add(&cart, &sku("WANDS-13-TWIN"), q(2), None, NOW)
        .await
        .unwrap();

    let plain = carts.with_coupon(&cart, &coupons).await.unwrap();
    assert_eq!(plain.coupon, None);
    assert_eq!(plain.total(), plain.subtotal);

    let code = CouponCode::parse("tenoff").unwrap();
    carts.set_coupon(&cart, Some(&code), NOW).await.unwrap();
    let shown = carts.with_coupon(&cart, &coupons).await.unwrap();
    let subtotal = shown.subtotal.unwrap();
    let tenth = Money::new(subtotal.amount / 10, subtotal.currency);
    let coupon = shown
        .coupon
        .clone()
        .expect("the coupon is shown with the cart");
    assert_eq!(coupon.code.as_str(), "TENOFF");
    assert_eq!(coupon.label, "10% off");
    assert_eq!(coupon.discount, Some(tenth));
    assert_eq!(
        shown.total(),
        Some(Money::new(
            subtotal.amount - tenth.amount,
            subtotal.currency
        )),
        "the total is what checkout will charge"
    );

    let unknown = CouponCode::parse("NOSUCH").unwrap();
    carts.set_coupon(&cart, Some(&unknown), NOW).await.unwrap();
    let refused = carts.with_coupon(&cart, &coupons).await.unwrap();
    let coupon = refused.coupon.clone().expect("even a bad code is shown");
    assert_eq!(coupon.discount, None);
    assert_eq!(
        coupon.problem.as_deref(),
        Some("There is no coupon NOSUCH.")
    );
    assert_eq!(
        refused.total(),
        refused.subtotal,
        "a coupon that does not apply takes nothing off"
    );
}
