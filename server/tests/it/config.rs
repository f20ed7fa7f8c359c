//! Settings (`server::config`): defaults, then the file, then the environment; a bad value
//! names its key.

// figment's test jail returns its own (large) error type; boxing it there buys nothing.
#![allow(clippy::result_large_err)]

use secrecy::ExposeSecret;
use server::config::Settings;
use shop::assets::StoreLocation;
use std::path::{Path, PathBuf};

#[test]
fn layers_apply_in_order() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "emporium.toml",
            "addr = \"127.0.0.1:4000\"\ndata_dir = \"from-file\"\ndemo_catalog = false\n",
        )?;
        jail.set_env("EMPORIUM_DATA_DIR", "from-env");
        let s = Settings::from_layers(Path::new("emporium.toml")).map_err(|e| *e)?;
        assert_eq!(s.http.addr.port(), 4000, "the file overrides the default");
        assert_eq!(
            s.data_dir,
            PathBuf::from("from-env"),
            "the environment overrides the file"
        );
        assert!(!s.catalog.demo);
        assert_eq!(
            s.database_url().expose_secret(),
            "sqlite://from-env/emporium.db"
        );
        Ok(())
    });
}

#[test]
fn bad_values_are_refused_with_the_key_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("EMPORIUM_ADDR", "not an address");
        let err = Settings::from_layers(Path::new("missing.toml")).unwrap_err();
        assert!(err.to_string().contains("addr"), "{err}");
        Ok(())
    });
}

/// The shop's money settings: read from their flat names, and a locale amounts cannot be
/// written in is refused naming the setting and the locales that exist.
#[test]
fn the_currency_and_locale_are_read_and_an_unknown_locale_is_refused() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("EMPORIUM_CURRENCY", "EUR");
        jail.set_env("EMPORIUM_LOCALE", "fr-FR");
        let s = Settings::from_layers(Path::new("missing.toml")).map_err(|e| *e)?;
        assert_eq!(s.money.currency, shop::Currency::EUR);
        assert_eq!(s.money.locale, shop::money::Locale::FrFr);
        jail.set_env("EMPORIUM_LOCALE", "tlh-KX");
        let err = Settings::from_layers(Path::new("missing.toml")).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("locale") && err.contains("de-DE"), "{err}");
        jail.set_env("EMPORIUM_LOCALE", "en-US");
        jail.set_env("EMPORIUM_CURRENCY", "euro");
        let err = Settings::from_layers(Path::new("missing.toml")).unwrap_err();
        assert!(err.to_string().contains("currency"), "{err}");
        Ok(())
    });
}

#[test]
fn flat_names_reach_their_concern_and_a_file_may_nest_them() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "emporium.toml",
            "sign_in_failures = 9\nmail_from = \"Shop <shop@example.com>\"\n\
             [http]\nsecure_cookies = true\n[checkout]\nlease_secs = 45\n",
        )?;
        jail.set_env("EMPORIUM_CHECKOUT_LEASE_SECS", "77");
        jail.set_env("EMPORIUM_MAIL", "sendmail:/usr/sbin/sendmail");
        jail.set_env("EMPORIUM_ASSET_PROBE_MS", "250");
        jail.set_env("LEPTOS_SITE_ROOT", "site-from-leptos");
        let s = Settings::from_layers(Path::new("emporium.toml")).map_err(|e| *e)?;
        assert_eq!(s.accounts.sign_in_failures, 9, "a flat key in the file");
        assert_eq!(s.mail.from, "Shop <shop@example.com>");
        assert!(s.http.secure_cookies, "a nested section in the file");
        assert_eq!(
            s.checkout.lease_secs, 77,
            "the environment over the file's section"
        );
        assert_eq!(
            s.mail_transport().unwrap(),
            shop::mail::Transport::Sendmail("/usr/sbin/sendmail".into())
        );
        assert_eq!(s.assets.probe_ms, 250);
        assert_eq!(s.http.site_root, PathBuf::from("site-from-leptos"));
        assert_eq!(
            s.payments.gateway_timeout_ms, 3000,
            "untouched: the default"
        );
        Ok(())
    });
}

#[test]
fn the_settings_never_print_their_secrets() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "EMPORIUM_DATABASE_URL",
            "postgres://shop:db-password-1@db.internal/shop",
        );
        jail.set_env("EMPORIUM_ASSET_STORE", "s3://pictures/shop");
        jail.set_env("EMPORIUM_S3_ACCESS_KEY_ID", "key-id-2");
        jail.set_env("EMPORIUM_S3_SECRET_ACCESS_KEY", "secret-key-3");
        let s = Settings::from_layers(Path::new("missing.toml")).map_err(|e| *e)?;
        let printed = format!("{s:?} {s:#?}");
        for secret in ["db-password-1", "key-id-2", "secret-key-3"] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        // Still there for the code that uses them.
        assert_eq!(
            s.database_url().expose_secret(),
            "postgres://shop:db-password-1@db.internal/shop"
        );
        let location = s.asset_location().map_err(|e| e.to_string())?;
        let StoreLocation::S3 {
            credentials: Some(keys),
            ..
        } = location
        else {
            panic!("an S3 store with the settings' keys: {location:?}");
        };
        assert_eq!(
            keys.secret_access_key, "secret-key-3",
            "the store gets its keys"
        );
        Ok(())
    });
}
