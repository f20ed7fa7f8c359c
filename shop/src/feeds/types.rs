//! Feeds and picture fetches as the pages show them (wasm-safe).

use serde::{Deserialize, Serialize};

pub use super::parse_types::RowIssue;

/// Where one picture URL stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    Queued,
    Stored,
    NeedsReview,
    Refused,
}

impl FetchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchStatus::Queued => "queued",
            FetchStatus::Stored => "stored",
            FetchStatus::NeedsReview => "needs_review",
            FetchStatus::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => FetchStatus::Queued,
            "stored" => FetchStatus::Stored,
            "needs_review" => FetchStatus::NeedsReview,
            "refused" => FetchStatus::Refused,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            FetchStatus::Queued => "waiting",
            FetchStatus::Stored => "stored",
            FetchStatus::NeedsReview => "needs review",
            FetchStatus::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FetchView {
    pub id: i64,
    pub seller_id: i64,
    pub product_id: i64,
    pub url: String,
    pub status: FetchStatus,
    pub attempts: i64,
    /// `code: words`, e.g. `http_404: the server answered 404`.
    pub reason: Option<String>,
    pub created_at: i64,
    pub image_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedView {
    pub id: i64,
    pub file_name: String,
    pub format: String,
    /// queued, processing, done or failed.
    pub status: String,
    pub rows_total: i64,
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub errors: Vec<RowIssue>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub fetches: Vec<FetchView>,
}

impl FeedView {
    pub fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "processing")
    }
}

/// The picture queue at a glance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub queued: i64,
    pub stored: i64,
    pub needs_review: i64,
    pub refused: i64,
    pub oldest_queued_at: Option<i64>,
    pub feeds_waiting: i64,
}
