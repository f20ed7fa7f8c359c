//! The server's integration tests: the real HTTP surface (`common::spawn_app`), the CLI and
//! crashed processes, one module per area, in one test binary: one link of the server and its
//! dependencies instead of one per file (see the README's "Tests").

// A test reports failure by panicking; helpers outside #[test] functions may too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../shop/tests/it/common/images.rs"]
mod images;

mod accounts;
mod api;
mod api_checkout;
mod assets;
mod backoffice;
mod checkout;
mod cli;
mod conditional;
mod config;
mod crash;
mod edge;
mod failures;
mod gateway;
mod http_metrics;
mod lifecycle;
mod listener;
mod openapi;
mod order_access;
mod order_mail;
mod pages;
mod second_factor;
mod totals;
mod ui;
mod web_layers;
