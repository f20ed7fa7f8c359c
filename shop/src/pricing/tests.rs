use super::*;
use proptest::prelude::*;

const USD: Currency = Currency::USD;

fn line(seller: i64, quantity: i64, unit: i64) -> PricedLine {
    PricedLine {
        seller,
        quantity,
        amount: quantity * unit,
        weight_grams: 0,
    }
}

fn part(seller: i64, amount: i64) -> PartShipping {
    PartShipping {
        seller,
        method: "standard".into(),
        name: "Standard".into(),
        amount,
        tax: 0,
        days: [3, 5],
    }
}

fn rule(percent: &str, shipping_taxed: bool) -> TaxRule {
    TaxRule {
        country: "US".into(),
        region: "CA".into(),
        rate: Rate::parse_percent(percent).unwrap(),
        shipping_taxed,
    }
}

#[test]
fn tax_is_rounded_per_line_half_away_from_zero() {
    // 7.25 % of $10.00 is 72.5 cents: 73. Of $1.00, 7.25 cents: 7. Two lines: 80, where one
    // invoice-level rounding of 79.75 would give 80 too; 3 × 5 cents at 10 % is 3 × 0.5 → 3,
    // where the sum (1.5) would round to 2: the rule is per line.
    let b = compute(
        USD,
        &[line(1, 1, 1000), line(1, 1, 100)],
        0,
        &[],
        Some(&rule("7.25", false)),
        TaxMode::Exclusive,
    )
    .unwrap();
    assert_eq!(b.lines.iter().map(|l| l.tax).collect::<Vec<_>>(), [73, 7]);
    let b = compute(
        USD,
        &[line(1, 1, 5), line(1, 1, 5), line(1, 1, 5)],
        0,
        &[],
        Some(&rule("10", false)),
        TaxMode::Exclusive,
    )
    .unwrap();
    assert_eq!(b.totals.tax.amount, 3);
    // 6.875 % of $1.00 is 6.875 cents: 7.
    assert_eq!(
        Rate::parse_percent("6.875")
            .unwrap()
            .tax_on(100, TaxMode::Exclusive),
        Ok(7)
    );
    // VAT inside €12.00 at 20 % is €2.00; inside €0.05 at 19 %, 0.798 cents: 1.
    assert_eq!(
        Rate::parse_percent("20")
            .unwrap()
            .tax_on(1200, TaxMode::Inclusive),
        Ok(200)
    );
    assert_eq!(
        Rate::parse_percent("19")
            .unwrap()
            .tax_on(5, TaxMode::Inclusive),
        Ok(1)
    );
}

#[test]
fn shipping_is_taxed_only_where_the_rule_says() {
    let lines = [line(1, 2, 1000)];
    let untaxed = compute(
        USD,
        &lines,
        0,
        &[part(1, 500)],
        Some(&rule("10", false)),
        TaxMode::Exclusive,
    )
    .unwrap();
    assert_eq!(untaxed.totals.tax.amount, 200);
    let taxed = compute(
        USD,
        &lines,
        0,
        &[part(1, 500)],
        Some(&rule("10", true)),
        TaxMode::Exclusive,
    )
    .unwrap();
    assert_eq!(taxed.totals.tax.amount, 250);
    assert_eq!(taxed.parts[0].tax, 50);
    assert_eq!(taxed.totals.total.amount, 2000 + 500 + 250);
}

#[test]
fn the_discount_is_spread_by_amount_and_lowers_the_taxed_amount() {
    // $30 and $10 lines, $4 off: $3 and $1. At 10 %: 270 + 90.
    let b = compute(
        USD,
        &[line(1, 1, 3000), line(2, 1, 1000)],
        400,
        &[],
        Some(&rule("10", false)),
        TaxMode::Exclusive,
    )
    .unwrap();
    assert_eq!(
        b.lines.iter().map(|l| l.discount).collect::<Vec<_>>(),
        [300, 100]
    );
    assert_eq!(b.totals.tax.amount, 360);
    assert_eq!(b.totals.total.amount, 4000 - 400 + 360);
    // Three equal lines, 100 off: 34, 33, 33 (the first of equal remainders gets the unit).
    assert_eq!(allocate(100, &[5, 5, 5]).unwrap(), [34, 33, 33]);
}

#[test]
fn no_rule_means_no_tax_and_bad_amounts_are_refused() {
    let b = compute(
        USD,
        &[line(1, 1, 1000)],
        0,
        &[part(1, 300)],
        None,
        TaxMode::Exclusive,
    )
    .unwrap();
    assert_eq!((b.totals.tax.amount, b.totals.total.amount), (0, 1300));
    assert_eq!(
        compute(USD, &[line(1, 1, 100)], 101, &[], None, TaxMode::Exclusive),
        Err(PricingError::DiscountTooLarge)
    );
    assert_eq!(
        compute(USD, &[line(1, 1, -1)], 0, &[], None, TaxMode::Exclusive),
        Err(PricingError::Negative)
    );
    assert_eq!(
        compute(
            USD,
            &[line(1, 1, i64::MAX), line(1, 1, 1)],
            0,
            &[],
            None,
            TaxMode::Exclusive
        ),
        Err(PricingError::Overflow)
    );
}

#[test]
fn rates_read_and_print_as_percentages() {
    for (text, ppm, shown) in [
        ("7.25", 72_500, "7.25"),
        ("20", 200_000, "20"),
        ("6.875 %", 68_750, "6.875"),
        ("0", 0, "0"),
        ("100", 1_000_000, "100"),
        ("0.0001", 1, "0.0001"),
    ] {
        let rate = Rate::parse_percent(text).unwrap();
        assert_eq!(
            (rate.ppm(), rate.to_string().as_str()),
            (ppm, shown),
            "{text}"
        );
    }
    for bad in [
        "", "-1", "100.01", "7.", ".5", "7.12345", "1e2", "abc", "1000", "７",
    ] {
        assert!(Rate::parse_percent(bad).is_err(), "{bad:?} is refused");
    }
}

#[test]
fn a_region_rule_wins_over_its_country_rule() {
    let rules = [
        TaxRule {
            country: "US".into(),
            region: String::new(),
            rate: Rate::ZERO,
            shipping_taxed: false,
        },
        TaxRule {
            country: "US".into(),
            region: "CA".into(),
            rate: Rate::parse_percent("7.25").unwrap(),
            shipping_taxed: false,
        },
        TaxRule {
            country: "DE".into(),
            region: String::new(),
            rate: Rate::parse_percent("19").unwrap(),
            shipping_taxed: true,
        },
    ];
    assert_eq!(
        TaxRule::find(&rules, "US", "CA").map(|r| r.rate.ppm()),
        Some(72_500)
    );
    assert_eq!(
        TaxRule::find(&rules, "US", "OR").map(|r| r.rate.ppm()),
        Some(0)
    );
    assert_eq!(
        TaxRule::find(&rules, "DE", "").map(|r| r.rate.ppm()),
        Some(190_000)
    );
    assert_eq!(TaxRule::find(&rules, "FR", ""), None);
}

#[test]
fn methods_price_parcels_as_their_kind_says() {
    let method = |kind| ShippingMethod {
        code: "m".into(),
        name: "M".into(),
        kind,
        days: [1, 2],
    };
    assert_eq!(
        method(MethodKind::Flat { amount: 499 }).price(10_000, 50_000),
        Ok(499)
    );
    let free = method(MethodKind::FreeOver {
        amount: 599,
        threshold: 5000,
    });
    assert_eq!((free.price(4999, 0), free.price(5000, 0)), (Ok(599), Ok(0)));
    let weight = method(MethodKind::ByWeight {
        base: 300,
        per_kg: 150,
    });
    // 0 g: the base; 1 g to 1 kg: one kilogram; 1001 g: two.
    assert_eq!(
        [0, 1, 1000, 1001].map(|g| weight.price(0, g).unwrap()),
        [300, 450, 450, 600]
    );
    let quoted = quote(
        &[
            ShippingMethod {
                code: "express".into(),
                name: "Express".into(),
                kind: MethodKind::Flat { amount: 1500 },
                days: [1, 2],
            },
            ShippingMethod {
                code: "standard".into(),
                name: "Standard".into(),
                kind: MethodKind::Flat { amount: 500 },
                days: [3, 5],
            },
            ShippingMethod {
                code: "economy".into(),
                name: "Economy".into(),
                kind: MethodKind::Flat { amount: 500 },
                days: [5, 9],
            },
        ],
        0,
        0,
    )
    .unwrap();
    let order: Vec<&str> = quoted.iter().map(|o| o.method.as_str()).collect();
    assert_eq!(
        order,
        ["standard", "economy", "express"],
        "cheapest first, then faster"
    );
}

/// An order as the property tests draw it: lines over up to three sellers, a discount up to
/// the subtotal, a shipping amount per seller, a rate, whether shipping is taxed, the mode.
fn order() -> impl Strategy<Value = (Vec<PricedLine>, i64, Vec<PartShipping>, TaxRule, TaxMode)> {
    (
        prop::collection::vec((1..4_i64, 1..6_i64, 0..200_000_i64), 1..8),
        0..=1000_u32,
        prop::collection::vec(0..3000_i64, 3),
        0..=300_000_u32,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(drawn, discount_permille, shipping, ppm, shipping_taxed, inclusive)| {
                let lines: Vec<PricedLine> =
                    drawn.iter().map(|(s, q, u)| line(*s, *q, *u)).collect();
                let subtotal: i64 = lines.iter().map(|l| l.amount).sum();
                let discount = subtotal * i64::from(discount_permille) / 1000;
                let mut sellers: Vec<i64> = lines.iter().map(|l| l.seller).collect();
                sellers.dedup();
                sellers.sort_unstable();
                sellers.dedup();
                let parts = sellers
                    .iter()
                    .map(|s| part(*s, shipping[(*s - 1) as usize]))
                    .collect();
                let rule = TaxRule {
                    country: "US".into(),
                    region: String::new(),
                    rate: Rate::from_ppm(ppm).unwrap(),
                    shipping_taxed,
                };
                let mode = if inclusive {
                    TaxMode::Inclusive
                } else {
                    TaxMode::Exclusive
                };
                (lines, discount, parts, rule, mode)
            },
        )
}

proptest! {
    #[test]
    fn the_totals_always_add_up((lines, discount, parts, rule, mode) in order()) {
        let b = compute(USD, &lines, discount, &parts, Some(&rule), mode).unwrap();
        let t = b.totals;
        let taxed_on_top = if mode == TaxMode::Exclusive { t.tax.amount } else { 0 };
        prop_assert_eq!(t.total.amount, t.subtotal.amount - t.discount.amount + t.shipping.amount + taxed_on_top);
        prop_assert_eq!(t.subtotal.amount, lines.iter().map(|l| l.amount).sum::<i64>());
        prop_assert_eq!(b.lines.iter().map(|l| l.discount).sum::<i64>(), discount);
        prop_assert_eq!(b.lines.iter().map(|l| l.tax).sum::<i64>() + b.parts.iter().map(|p| p.tax).sum::<i64>(), t.tax.amount);
        prop_assert_eq!(t.tax_included, mode == TaxMode::Inclusive);
        // Per line: a share within one unit of the exact proportion, never above the line.
        let subtotal = t.subtotal.amount as f64;
        for (l, taxes) in lines.iter().zip(&b.lines) {
            prop_assert!(taxes.discount <= l.amount);
            let exact = discount as f64 * l.amount as f64 / subtotal.max(1.0);
            prop_assert!((taxes.discount as f64 - exact).abs() < 1.0, "{} vs {}", taxes.discount, exact);
        }
        // Per-line rounding stays within half a unit per taxed amount of the exact tax.
        let ppm = f64::from(rule.rate.ppm());
        let factor = if mode == TaxMode::Exclusive { ppm / 1e6 } else { ppm / (1e6 + ppm) };
        let taxed = (t.subtotal.amount - t.discount.amount) as f64
            + if rule.shipping_taxed { t.shipping.amount as f64 } else { 0.0 };
        let pieces = (lines.len() + parts.len()) as f64;
        prop_assert!((t.tax.amount as f64 - taxed * factor).abs() <= pieces * 0.5 + 1e-6);
    }

    #[test]
    fn refunds_never_exceed_what_was_paid_and_all_of_them_give_back_all_of_it(
        (lines, discount, parts, rule, mode) in order(),
        steps in prop::collection::vec((0..8_usize, 1..6_i64), 0..12),
    ) {
        let b = compute(USD, &lines, discount, &parts, Some(&rule), mode).unwrap();
        let mut refunded = vec![0_i64; lines.len()];
        let mut sum = Refund::default();
        let take = |now: Vec<i64>, refunded: &mut Vec<i64>, sum: &mut Refund| -> Result<(), TestCaseError> {
            let r = refund(&b, &lines, refunded, &now).unwrap();
            prop_assert!(r.goods >= 0 && r.discount >= 0 && r.shipping >= 0 && r.tax >= 0 && r.total >= 0, "{:?}", r);
            sum.goods += r.goods;
            sum.discount += r.discount;
            sum.shipping += r.shipping;
            sum.tax += r.tax;
            sum.total += r.total;
            for (done, n) in refunded.iter_mut().zip(&now) {
                *done += n;
            }
            prop_assert!(sum.goods <= b.totals.subtotal.amount);
            prop_assert!(sum.discount <= b.totals.discount.amount);
            prop_assert!(sum.shipping <= b.totals.shipping.amount);
            prop_assert!(sum.tax <= b.totals.tax.amount);
            prop_assert!(sum.total <= b.totals.total.amount);
            Ok(())
        };
        // Some partial refunds, each of a few units of one line…
        for (i, units) in steps {
            let i = i % lines.len();
            let units = units.min(lines[i].quantity - refunded[i]);
            let mut now = vec![0; lines.len()];
            now[i] = units;
            take(now, &mut refunded, &mut sum)?;
        }
        // … then the rest: everything given back is exactly everything paid.
        let rest: Vec<i64> = lines.iter().zip(&refunded).map(|(l, r)| l.quantity - r).collect();
        take(rest, &mut refunded, &mut sum)?;
        prop_assert_eq!(sum.goods, b.totals.subtotal.amount);
        prop_assert_eq!(sum.discount, b.totals.discount.amount);
        prop_assert_eq!(sum.shipping, b.totals.shipping.amount);
        prop_assert_eq!(sum.tax, b.totals.tax.amount);
        prop_assert_eq!(sum.total, b.totals.total.amount);
    }

    #[test]
    fn a_rate_prints_as_it_reads(ppm in 0..=1_000_000_u32) {
        let rate = Rate::from_ppm(ppm).unwrap();
        prop_assert_eq!(Rate::parse_percent(&rate.to_string()).unwrap(), rate);
    }
}
