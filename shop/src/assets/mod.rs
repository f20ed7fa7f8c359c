//! Assets: sellers' product pictures in an object store (a local folder or S3), checked and
//! re-encoded on upload, graded by a quality gate, and served behind a circuit breaker so
//! that a failing store costs pictures, never pages or sales.
//!
//! - [`types`]: what pages see (wasm-safe).
//! - `pipeline`: bytes → checked, graded, re-encoded variants.
//! - `store`: the object store behind a breaker with adaptive timeouts.
//! - `service`: uploads, review, the pictures pages show, the bytes `/assets/…` serves.
//! - `art`: the demo catalog's generated pictures.

pub mod types;

#[cfg(feature = "server")]
pub mod art;
#[cfg(feature = "server")]
pub mod pipeline;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod store;

#[cfg(feature = "server")]
pub use service::{AssetError, Assets, Unpictured, UploadRequest, is_hash, object_key};
#[cfg(feature = "server")]
pub use store::{AssetStore, S3Credentials, StoreError, StoreLocation, StoreOptions};
pub use types::{
    ImageId, ImageStatus, ImageVariant, Picture, ProductImage, QualityReport, ResolutionTier,
};
