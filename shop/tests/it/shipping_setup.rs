//! Editing the shipping and tax tables: what the admin and a seller change is what the next
//! quote charges, a seller reaches only their own methods, and bad input names its field.

use crate::common::{NOW, demo_shop};
use shop::Currency;
use shop::catalog::SellerId;
use shop::pricing::TaxMode;
use shop::shipping::{MethodForm, QuoteLine, Rates, SetupError};

fn form(code: &str, kind: &str, amount: &str) -> MethodForm {
    MethodForm {
        code: code.into(),
        name: code.to_uppercase(),
        kind: kind.into(),
        amount: amount.into(),
        min_days: "1".into(),
        max_days: "2".into(),
        ..MethodForm::default()
    }
}

fn options(q: &shop::shipping::Quote, seller: i64) -> Vec<(String, i64)> {
    q.parts
        .iter()
        .find(|p| p.seller == seller)
        .map(|p| {
            p.options
                .iter()
                .map(|o| (o.method.clone(), o.amount))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn what_the_admin_and_a_seller_set_is_what_the_next_quote_charges() {
    let scratch = demo_shop().await;
    let rates = Rates::new(scratch.db.clone(), TaxMode::Exclusive);
    let sellers: Vec<i64> = sqlx::query_scalar("SELECT id FROM sellers ORDER BY id LIMIT 2")
        .fetch_all(scratch.db.pool())
        .await
        .unwrap();
    let (a, b) = (sellers[0], sellers[1]);
    // $20 of goods from each seller, to Springfield, Illinois.
    let lines = [a, b].map(|seller| QuoteLine {
        seller,
        quantity: 1,
        amount: 2000,
        weight_grams: 500,
    });
    let quote = || rates.quote(Currency::USD, &lines, 0, "US", "IL", &[]);
    let before = quote().await.unwrap();
    assert_eq!(
        options(&before, a),
        [("standard".to_string(), 599), ("express".to_string(), 1499)]
    );

    let zones = rates.zones(None).await.unwrap();
    let us = zones
        .iter()
        .find(|z| {
            z.areas
                .iter()
                .any(|x| x.country == "US" && x.region.is_empty())
        })
        .unwrap();
    let express = us
        .methods
        .iter()
        .find(|m| m.method.code == "express")
        .unwrap()
        .id;

    // The admin adds a method for everyone and reprices one.
    rates
        .save_method(None, us.id, None, &form("overnight", "flat", "24.99"), NOW)
        .await
        .unwrap();
    rates
        .save_method(
            None,
            us.id,
            Some(express),
            &form("express", "flat", "12.00"),
            NOW,
        )
        .await
        .unwrap();
    let after = quote().await.unwrap();
    assert_eq!(
        options(&after, b),
        [
            ("standard".to_string(), 599),
            ("express".to_string(), 1200),
            ("overnight".to_string(), 2499)
        ]
    );

    // Seller A ships by their own courier in that zone; seller B still by the shop's.
    let own = Some(SellerId::new(a));
    assert!(
        matches!(rates.save_method(own, us.id, None, &form("courier", "free_over", "3.50"), NOW).await, Err(SetupError::Invalid(f)) if f.get("threshold").is_some()),
        "free over what?"
    );
    let mut courier = form("courier", "free_over", "3.50");
    courier.threshold = "15".into();
    rates
        .save_method(own, us.id, None, &courier, NOW)
        .await
        .unwrap();
    let with_own = quote().await.unwrap();
    assert_eq!(
        options(&with_own, a),
        [("courier".to_string(), 0)],
        "free over $15"
    );
    assert_eq!(options(&with_own, b).len(), 3);
    let theirs = rates.zones(own).await.unwrap();
    assert_eq!(
        theirs.iter().flat_map(|z| &z.methods).count(),
        1,
        "a seller sees only their own"
    );

    // A seller reaches none of the shop's methods, nor another seller's.
    assert!(matches!(
        rates
            .save_method(
                own,
                us.id,
                Some(express),
                &form("express", "flat", "0.01"),
                NOW
            )
            .await,
        Err(SetupError::NotFound)
    ));
    assert!(matches!(
        rates.delete_method(own, express).await,
        Err(SetupError::NotFound)
    ));
    let courier_id = theirs.iter().flat_map(|z| &z.methods).next().unwrap().id;
    assert!(matches!(
        rates
            .delete_method(Some(SellerId::new(b)), courier_id)
            .await,
        Err(SetupError::NotFound)
    ));
    assert_eq!(quote().await.unwrap(), with_own, "nothing changed");

    // Bad input names its fields, and a code is unique in its zone.
    let Err(SetupError::Invalid(fields)) = rates
        .save_method(
            None,
            us.id,
            None,
            &MethodForm {
                min_days: "5".into(),
                max_days: "2".into(),
                ..form("bad code!", "teleport", "-1")
            },
            NOW,
        )
        .await
    else {
        panic!("a bad method is refused");
    };
    for field in ["code", "kind", "amount", "max_days"] {
        assert!(fields.get(field).is_some(), "{field}: {fields:?}");
    }
    let Err(SetupError::Invalid(fields)) = rates
        .save_method(None, us.id, None, &form("overnight", "flat", "1"), NOW)
        .await
    else {
        panic!("a second overnight is refused");
    };
    assert!(fields.get("code").is_some());

    // Illinois' rate changes the tax of the next quote; a bad rate is refused.
    rates
        .save_tax_rule("us", "il", "10", false, NOW)
        .await
        .unwrap();
    assert_eq!(
        quote().await.unwrap().breakdown.totals.tax.amount,
        400,
        "10 % of $40"
    );
    let Err(SetupError::Invalid(fields)) = rates.save_tax_rule("US", "IL", "101", false, NOW).await
    else {
        panic!("a rate over 100 % is refused");
    };
    assert!(fields.get("rate").is_some());

    // A zone of its own for Illinois wins over the country's: no method there yet, no
    // shipping; an area cannot be in two zones.
    let midwest = rates
        .save_zone(None, "Midwest", "us-il; US-IN", NOW)
        .await
        .unwrap();
    assert!(matches!(
        quote().await,
        Err(shop::shipping::ShippingError::NoShipping { .. })
    ));
    rates
        .save_method(None, midwest, None, &form("regional", "flat", "2"), NOW)
        .await
        .unwrap();
    assert_eq!(
        options(&quote().await.unwrap(), b),
        [("regional".to_string(), 200)]
    );
    let Err(SetupError::Invalid(fields)) = rates.save_zone(None, "Again", "US-IL", NOW).await
    else {
        panic!("an area cannot be in two zones");
    };
    assert!(fields.get("areas").unwrap().contains("US-IL"), "{fields:?}");
    let Err(SetupError::Invalid(fields)) = rates
        .save_zone(Some(midwest), "Midwest", "Illinois", NOW)
        .await
    else {
        panic!("not an area");
    };
    assert!(fields.get("areas").is_some());
    rates.delete_zone(midwest).await.unwrap();
    assert_eq!(
        options(&quote().await.unwrap(), b).len(),
        3,
        "back to the country's zone"
    );
}
