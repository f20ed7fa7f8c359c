//! The schema, compiled into the binary so that it runs from any folder.
//!
//! `migrations/sqlite` and `migrations/postgres` hold one schema in two dialects; a
//! migration is added to both folders and listed once in `embed!` below (a test checks that
//! every file is listed and that both sets produce the same tables and columns).

use super::Backend;
use futures_core::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// Lists each migration once and embeds its file from both dialect folders, giving
/// `SQLITE` and `POSTGRES`: (version, description, SQL), in order.
macro_rules! embed {
    ($($version:literal, $description:literal, $file:literal;)*) => {
        pub(crate) const SQLITE: &[(i64, &str, &str)] = &[$(
            ($version, $description, include_str!(concat!("../../../migrations/sqlite/", $file))),
        )*];
        pub(crate) const POSTGRES: &[(i64, &str, &str)] = &[$(
            ($version, $description, include_str!(concat!("../../../migrations/postgres/", $file))),
        )*];
    };
}

embed! {
    1, "catalog and inventory", "0001_catalog_and_inventory.sql";
    2, "listing indexes", "0002_listing_indexes.sql";
    3, "reservations", "0003_reservations.sql";
    4, "carts", "0004_carts.sql";
    5, "checkout, orders and the outbox", "0005_checkout_orders_outbox.sql";
    6, "customers also bought", "0006_recommendations.sql";
    7, "product images and seller API keys", "0007_product_images.sql";
    8, "accounts, sessions and coupons", "0008_accounts_and_coupons.sql";
    9, "refunds and returned items", "0009_refunds.sql";
    10, "mail outbox and account links", "0010_mail_and_account_links.sql";
    11, "seller feeds and the picture queue", "0011_feeds.sql";
    12, "job leases", "0012_job_leases.sql";
    13, "sign-up password on the link page, progressive sign-in delays", "0013_sign_up_password_on_link_page.sql";
    14, "second factor: authenticator secrets, recovery codes, pending sign-ins", "0014_second_factor.sql";
    15, "fair queues per seller", "0015_fair_queues.sql";
    16, "shipping zones and methods, tax rules, weights, order totals, checkout drafts", "0016_shipping_and_tax.sql";
    17, "address book, forms kept as typed", "0017_address_book.sql";
    18, "order mail: HTML parts, de-duplication keys", "0018_order_mail.sql";
    19, "orders' secret links", "0019_order_links.sql";
}

#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let path = format!("{}/../migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_embedded_in_both_dialects() {
        let sqlite = files("sqlite");
        let postgres = files("postgres");
        assert_eq!(
            sqlite, postgres,
            "both dialects must have the same migration files"
        );
        assert_eq!(sqlite.len(), SQLITE.len());
        assert_eq!(postgres.len(), POSTGRES.len());
        for (i, name) in sqlite.iter().enumerate() {
            let version: i64 = name[..4].parse().unwrap();
            assert_eq!(SQLITE[i].0, version, "{name}");
            assert_eq!(POSTGRES[i].0, version, "{name}");
        }
    }
}
