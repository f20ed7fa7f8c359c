//! One way to fail: a `shop` failure reads the same at both boundaries, the pages'
//! (`app::error::AppError`) and the API's (`server::api::ApiError`), and nothing internal
//! leaves the server.

use app::error::AppError;
use server::api::ApiError;
use shop::{Failure, FailureKind};

/// A failure whose log line and "public" message both hold something no client may see.
#[derive(Debug)]
struct Leaky(FailureKind);

impl std::fmt::Display for Leaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection to 10.0.0.7 refused; password=hunter2")
    }
}

impl std::error::Error for Leaky {}

impl Failure for Leaky {
    fn kind(&self) -> FailureKind {
        self.0
    }

    fn public_message(&self) -> String {
        format!("{:?} (host 10.0.0.7)", self.0)
    }
}

#[test]
fn a_failure_reads_the_same_on_pages_and_in_the_api_and_the_unexpected_says_nothing() {
    for kind in FailureKind::ALL {
        let page = AppError::from(Leaky(kind));
        let api = ApiError::from(Leaky(kind));
        assert_eq!(page.status(), kind.status(), "{kind:?}");
        assert_eq!(api.status.as_u16(), kind.status(), "{kind:?}");
        assert_eq!(api.code, kind.code(), "{kind:?}");
        assert_eq!(page.message, api.message, "{kind:?}: one sentence for both");
        if kind == FailureKind::Internal {
            assert_eq!(api.message, kind.plain_message(), "nothing of the cause");
        } else {
            assert_eq!(api.message, Leaky(kind).public_message(), "{kind:?}");
        }
    }
}
