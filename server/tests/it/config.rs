//! Settings (`server::config`): defaults, then the file, then the environment; a bad value
//! names its key.

// figment's test jail returns its own (large) error type; boxing it there buys nothing.
#![allow(clippy::result_large_err)]

use server::config::Settings;
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
        assert_eq!(s.addr.port(), 4000, "the file overrides the default");
        assert_eq!(
            s.data_dir,
            PathBuf::from("from-env"),
            "the environment overrides the file"
        );
        assert!(!s.demo_catalog);
        assert_eq!(s.database_url(), "sqlite://from-env/emporium.db");
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
