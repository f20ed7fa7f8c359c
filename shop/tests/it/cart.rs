//! Carts against a real database: line operations, bounds, idempotency, live notices.

use crate::common::{NOW, PATIENCE, demo_shop, set_available};
use shop::cart::{CartError, CartId, Carts, LineNotice, LineQuantity, Quantity};
use shop::catalog::{Catalog, Sku};
use shop::db::{Db, DbOptions};

fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

fn q(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
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
