//! Parse, don't validate: the error every boundary type returns when a value is refused.

use crate::failure::{Failure, FailureKind};
use serde::{Deserialize, Serialize};

/// A value from outside (a URL, a form, an import row) that does not fit its type.
///
/// `field` names what was wrong in terms the sender used (`page`, `per_page`, `id`), and
/// `message` is a sentence a shopper or an API client can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    pub field: String,
    pub message: String,
}

impl Failure for InvalidInput {
    fn kind(&self) -> FailureKind {
        FailureKind::Invalid
    }

    /// "The per page must be a whole number from 1 to 100.": the field as the sender named
    /// it, then what it must be.
    fn public_message(&self) -> String {
        format!("The {} {}.", self.field.replace('_', " "), self.message)
    }
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parses an optional query-string number that must lie in `min..=max`.
///
/// An absent or empty value gives `default`; anything else must be a plain decimal number
/// (no sign, no spaces, no exponent) so that `page=1e3` or `page=-1` is refused rather than
/// silently reinterpreted.
pub fn parse_bounded(
    field: &str,
    raw: Option<&str>,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, InvalidInput> {
    let refuse = || InvalidInput::new(field, format!("must be a whole number from {min} to {max}"));
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(default);
    };
    if raw.len() > 10 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    let value: u32 = raw.parse().map_err(|_| refuse())?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(refuse())
    }
}

/// Checks a client-chosen token (an idempotency key, an operation id): 8 to 64 characters of
/// letters, digits, `-` and `_`, so it is safe in logs, URLs and database keys.
pub fn parse_token(field: &str, text: &str) -> Result<String, InvalidInput> {
    let ok = (8..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(text.to_string())
    } else {
        Err(InvalidInput::new(
            field,
            "must be 8 to 64 letters, digits, '-' or '_'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_short_and_plain() {
        assert!(parse_token("key", "7c9e6679-7425-40de-944b-e07fc1f90ae7").is_ok());
        for bad in [
            "short",
            "has space in it",
            "semi;colon;x",
            &"x".repeat(65),
            "ünïcödé-key",
        ] {
            assert!(parse_token("key", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_numbers_accept_only_plain_digits_in_range() {
        assert_eq!(parse_bounded("page", None, 1, 1, 10), Ok(1));
        assert_eq!(parse_bounded("page", Some(""), 1, 1, 10), Ok(1));
        assert_eq!(parse_bounded("page", Some("7"), 1, 1, 10), Ok(7));
        for bad in [
            "0",
            "11",
            "-1",
            "+2",
            " 3",
            "1e1",
            "abc",
            "99999999999999999999",
        ] {
            let err = parse_bounded("page", Some(bad), 1, 1, 10).unwrap_err();
            assert_eq!(err.field, "page", "{bad}");
            assert!(err.message.contains("1 to 10"), "{bad}: {}", err.message);
        }
    }
}
