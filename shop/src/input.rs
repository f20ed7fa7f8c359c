//! Parse, don't validate: the error every boundary type returns when a value is refused.

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

#[cfg(test)]
mod tests {
    use super::*;

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
