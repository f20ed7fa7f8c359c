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

/// The most pages a listing goes to: beyond, a shopper or a client is walking the catalog.
pub const MAX_PAGE: u32 = 10_000;

/// Parses a listing's page number from a query string: absent or empty is the first page.
pub fn parse_page(raw: Option<&str>) -> Result<i64, InvalidInput> {
    parse_bounded("page", raw, 1, 1, MAX_PAGE).map(i64::from)
}

/// Parses a database id from text: a positive decimal integer that fits in 63 bits, with no
/// sign, spaces or exponent (so `/products/+5`, `-1`, `0` and `1e9` are all refused).
pub fn parse_id(field: &str, text: &str) -> Result<i64, InvalidInput> {
    let refuse = || not_an_id(field);
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(refuse()),
    }
}

/// Checks a database id that arrived as a number (JSON): positive and within 63 bits.
pub fn check_id(field: &str, n: i128) -> Result<i64, InvalidInput> {
    i64::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| not_an_id(field))
}

fn not_an_id(field: &str) -> InvalidInput {
    InvalidInput::new(field, "must be a positive whole number")
}

/// Reads an id the way the sender wrote it: a JSON number, or the text of a URL path, a query
/// string or a form (server functions). Either way through [`parse_id`]'s rules, so an id that
/// deserialized is one that parses.
pub struct IdVisitor(pub &'static str);

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a positive whole number ({})", self.0)
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<i64, E> {
        check_id(self.0, n.into()).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<i64, E> {
        check_id(self.0, n.into()).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<i64, E> {
        Err(E::custom(not_an_id(self.0)))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<i64, E> {
        parse_id(self.0, text).map_err(E::custom)
    }
}

/// Defines a database id newtype whose every way in checks it: [`parse`] from text, and
/// `Deserialize` (JSON numbers, path and query text) through the same rules, so a zero,
/// negative or malformed id stops at the boundary with its field named. `new` is for ids the
/// database handed out.
///
/// Deserialized with `deserialize_any` so that one impl takes both a JSON number and the text
/// of a URL; every format the shop reads ids from (JSON, URL paths, query strings, server
/// function forms) describes itself.
///
/// [`parse`]: crate::catalog::ProductId::parse
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps an id read from the database.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            pub const fn get(self) -> i64 {
                self.0
            }

            /// Parses an id from text: a positive decimal integer that fits in 63 bits.
            pub fn parse(text: &str) -> Result<Self, $crate::InvalidInput> {
                $crate::input::parse_id($field, text).map(Self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($crate::input::IdVisitor($field)).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use id_type;

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

    #[test]
    fn ids_deserialize_only_through_their_parser() {
        use crate::accounts::UserId;
        use crate::catalog::{ProductId, VariantId};
        // A JSON number or the text of a URL: both read, both checked.
        let id: ProductId = serde_json::from_str("42").unwrap();
        assert_eq!(id.get(), 42);
        let id: ProductId = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(id.get(), 42);
        for bad in [
            "0",
            "-1",
            "1.5",
            "\"+5\"",
            "\"1e3\"",
            "\"\"",
            "9223372036854775808",
        ] {
            let err = serde_json::from_str::<ProductId>(bad)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("id: must be a positive whole number"),
                "{bad}: {err}"
            );
        }
        // Each names its own field, so the sender knows which one was wrong.
        let err = serde_json::from_str::<VariantId>("-7")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("variant_id:"), "{err}");
        let err = serde_json::from_str::<UserId>("0").unwrap_err().to_string();
        assert!(err.starts_with("user_id:"), "{err}");
    }

    #[test]
    fn a_rating_out_of_range_does_not_deserialize() {
        use crate::catalog::Rating;
        let r: Rating = serde_json::from_str("456").unwrap();
        assert_eq!(r.stars(), "4.6");
        assert_eq!(serde_json::to_string(&r).unwrap(), "456");
        for bad in ["501", "-1"] {
            let err = serde_json::from_str::<Rating>(bad).unwrap_err().to_string();
            assert!(err.contains("rating"), "{bad}: {err}");
        }
    }
}
