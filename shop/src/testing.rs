//! Support shared by the crates' test suites (used by tests only; nothing in the shop calls it).
//!
//! A test that cannot reach a real component it needs (PostgreSQL, the S3-compatible server,
//! a browser) must not pass in silence. It calls [`skip`] and returns: `cargo xtask test`
//! finds the marker in the test's output and counts the test as skipped, by name, in its
//! closing line. On CI (`CI=true`) there is nothing to skip: [`skip`] fails the test instead.

/// What a skipping test prints; `cargo xtask test` looks for it in each test's output.
pub const SKIP_MARKER: &str = "EMPORIUM-TEST-SKIPPED:";

/// Whether skips are failures: on CI every component must be there.
pub fn skips_fail() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Marks the running test as skipped because `component` is missing (`why` says what to set
/// or install); the caller returns right after. Under `CI=true` this panics instead.
///
/// # Panics
/// When skips are failures ([`skips_fail`]).
pub fn skip(component: &str, why: &str) {
    assert!(
        !skips_fail(),
        "{component} is required on CI (CI=true), and missing: {why}"
    );
    println!("{SKIP_MARKER} {component}: {why}");
    eprintln!("skipped: {component}: {why}");
}

/// When the demo catalog in [`demo_shop`]'s databases was imported: the tests' fixed "now"
/// (2026-05-28), so the rows are the same in every copy.
#[cfg(feature = "server")]
pub const DEMO_IMPORTED_AT: crate::clock::Millis = 1_780_000_000_000;

/// A scratch database holding the demo catalog as
/// [`import_all`](crate::catalog::import::demo::import_all) leaves it at [`DEMO_IMPORTED_AT`]
/// (a copy of a seed imported once per test binary and run; see
/// [`ScratchDb::seeded`](crate::db::scratch::ScratchDb::seeded)).
///
/// # Errors
/// When the database cannot be made or the import fails.
#[cfg(feature = "server")]
pub async fn demo_shop() -> Result<crate::db::scratch::ScratchDb, crate::db::scratch::SeedError> {
    crate::db::scratch::ScratchDb::seeded("demo-catalog", |db| async move {
        crate::catalog::import::demo::import_all(&db, DEMO_IMPORTED_AT)
            .await
            .map(|_| ())
    })
    .await
}

/// Sets a variant's available stock to exactly `available` (all of it in its first warehouse,
/// none in the others), keeping every row conserved.
///
/// # Panics
/// When the database refuses the update (a test's set-up cannot go on without it).
#[cfg(feature = "server")]
// Test set-up: a failure must stop the test at once, saying what did not happen.
#[allow(clippy::expect_used)]
pub async fn set_available(db: &crate::db::Db, sku: &str, available: i64) {
    sqlx::query(
        "UPDATE stock_levels SET available = 0, received = held + committed \
         WHERE variant_id = (SELECT id FROM variants WHERE sku = $1)",
    )
    .bind(sku)
    .execute(db.pool())
    .await
    .expect("stock set to zero");
    sqlx::query(
        "UPDATE stock_levels SET available = $2, received = $2 + held + committed \
         WHERE variant_id = (SELECT id FROM variants WHERE sku = $1) AND warehouse_id = \
         (SELECT MIN(warehouse_id) FROM stock_levels WHERE variant_id = \
          (SELECT id FROM variants WHERE sku = $1))",
    )
    .bind(sku)
    .bind(available)
    .execute(db.pool())
    .await
    .expect("stock set in the first warehouse");
}

/// Creates the coupon `code` taking `discount` off, with no limits and no expiry.
///
/// # Panics
/// When the coupon cannot be created (a test's set-up cannot go on without it).
#[cfg(feature = "server")]
// Test set-up: a failure must stop the test at once, saying what did not happen.
#[allow(clippy::expect_used)]
pub async fn create_coupon(
    coupons: &crate::coupons::Coupons,
    code: &str,
    discount: crate::coupons::Discount,
) {
    coupons
        .create(&crate::coupons::NewCoupon {
            code: crate::coupons::CouponCode::parse(code).expect("a well-formed coupon code"),
            discount,
            per_customer_limit: None,
            total_limit: None,
            expires_at: None,
        })
        .await
        .expect("the coupon is created");
}

/// A valid US shipping address (Springfield, Illinois), for tests that need one.
pub fn us_address() -> crate::address::Address {
    crate::address::Address {
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        city: "Springfield".into(),
        region: "IL".into(),
        postal_code: "62701".into(),
        country: "US".into(),
        ..Default::default()
    }
}
