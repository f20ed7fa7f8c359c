//! The shop's integration tests, one module per bounded context, in one test binary: one link
//! of the shop and its dependencies instead of one per file (see the README's "Tests").
//!
//! Every test runs on the backend `EMPORIUM_TEST_BACKEND` names (SQLite by default, or
//! PostgreSQL with `EMPORIUM_TEST_POSTGRES_URL`); `cargo xtask test` runs those that touch a
//! database on both.

// A test reports failure by panicking; helpers outside #[test] functions may too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/images.rs"]
mod images;
mod sim;

mod accounts;
mod address_book;
mod assets;
mod cart;
mod catalog;
mod feeds;
mod feeds_fair;
mod inventory;
mod inventory_audit;
mod jobs;
mod mail;
mod retention;
mod schema;
mod scratch;
mod search;
mod search_paths;
mod second_factor;
mod shipping_setup;
mod simulate;
