//! The report's row type, shared by the parser (server) and the pages (wasm).

use serde::{Deserialize, Serialize};

/// One refused row (or field of a row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowIssue {
    pub line: usize,
    pub column: String,
    pub reason: String,
}

impl RowIssue {
    pub fn new(line: usize, column: &str, reason: impl Into<String>) -> Self {
        Self {
            line,
            column: column.to_owned(),
            reason: reason.into(),
        }
    }
}
