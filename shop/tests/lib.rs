//! Empty: this package holds the shop's integration tests (`it/`), kept out of the `shop`
//! package so that the `quick` profile can compile them unoptimised (see Cargo.toml).
