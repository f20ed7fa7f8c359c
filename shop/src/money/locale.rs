//! How amounts are written for the people who read them: the shop's locale decides the
//! decimal mark, the grouping of thousands, the currency's symbol and where it goes. The
//! figures are the Unicode CLDR's (`cldr-numbers-full`, standard currency pattern and
//! symbols) for the locales listed in [`Locale::ALL`]; a full CLDR library (ICU4X) would
//! carry every locale's data into the shopper's WebAssembly bundle, where a handful of rows
//! do.

use std::borrow::Cow;
use std::fmt;

use super::Currency;

/// A locale the shop can write amounts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Locale {
    EnUs,
    EnGb,
    EnCa,
    DeDe,
    FrFr,
}

/// No-break space (U+00A0): between a number and a symbol written after it.
const NBSP: &str = "\u{a0}";
/// Narrow no-break space (U+202F): French thousands.
const NNBSP: &str = "\u{202f}";

impl Locale {
    pub const ALL: [Locale; 5] = [
        Locale::EnUs,
        Locale::EnGb,
        Locale::EnCa,
        Locale::DeDe,
        Locale::FrFr,
    ];

    /// The BCP 47 tag, such as `en-US`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::EnUs => "en-US",
            Locale::EnGb => "en-GB",
            Locale::EnCa => "en-CA",
            Locale::DeDe => "de-DE",
            Locale::FrFr => "fr-FR",
        }
    }

    /// The language alone, for `<html lang>`.
    pub fn language(self) -> &'static str {
        match self {
            Locale::EnUs | Locale::EnGb | Locale::EnCa => "en",
            Locale::DeDe => "de",
            Locale::FrFr => "fr",
        }
    }

    /// Parses a tag such as `de-DE` (also `de_DE`, any case).
    pub fn parse(text: &str) -> Result<Self, crate::InvalidInput> {
        let wanted = text.trim().replace('_', "-");
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                let known: Vec<&str> = Locale::ALL.iter().map(|l| l.tag()).collect();
                crate::InvalidInput::new(
                    "locale",
                    format!(
                        "{text:?} is not a locale amounts can be written in; use one of {}",
                        known.join(", ")
                    ),
                )
            })
    }

    fn decimal_mark(self) -> &'static str {
        match self {
            Locale::EnUs | Locale::EnGb | Locale::EnCa => ".",
            Locale::DeDe | Locale::FrFr => ",",
        }
    }

    fn group_separator(self) -> &'static str {
        match self {
            Locale::EnUs | Locale::EnGb | Locale::EnCa => ",",
            Locale::DeDe => ".",
            Locale::FrFr => NNBSP,
        }
    }

    /// Whether the symbol comes after the number (`1.234,50 €`) rather than before (`$1,234.50`).
    fn symbol_after(self) -> bool {
        matches!(self, Locale::DeDe | Locale::FrFr)
    }

    /// The currency's symbol as this locale writes it (CLDR's `symbol`, not `narrow`): a
    /// foreign dollar is told apart (`US$` in Britain and Canada, `$US` in France); a currency
    /// without a symbol here is written as its ISO code.
    pub fn symbol(self, currency: Currency) -> Cow<'static, str> {
        use Locale::*;
        let symbol = match (currency.code(), self) {
            ("USD", EnUs | DeDe) => "$",
            ("USD", EnGb | EnCa) => "US$",
            ("USD", FrFr) => "$US",
            ("CAD", EnCa) => "$",
            ("CAD", EnUs | EnGb | DeDe) => "CA$",
            ("CAD", FrFr) => "$CA",
            ("EUR", _) => "€",
            ("GBP", FrFr) => "£GB",
            ("GBP", _) => "£",
            ("JPY", EnGb | EnCa) => "JP¥",
            ("JPY", EnUs | DeDe) => "¥",
            ("JPY", FrFr) => "JPY",
            (code, _) => return Cow::Owned(code.to_string()),
        };
        Cow::Borrowed(symbol)
    }

    /// Writes `minor` units of `currency`; with `whole`, a whole amount leaves out its
    /// zero decimals (`$10` in a price filter's label, never `$10.50` cut short).
    pub(crate) fn write(
        self,
        f: &mut impl fmt::Write,
        minor: i64,
        currency: Currency,
        whole: bool,
    ) -> fmt::Result {
        let digits = currency.minor_digits();
        let scale = 10_u64.pow(digits);
        let abs = minor.unsigned_abs();
        let (major, fraction) = (abs / scale, abs % scale);
        let major = major.to_string();
        let mut number = String::with_capacity(major.len() + major.len() / 3 + 8);
        for (i, c) in major.chars().enumerate() {
            if i > 0 && (major.len() - i) % 3 == 0 {
                number.push_str(self.group_separator());
            }
            number.push(c);
        }
        if digits > 0 && !(whole && fraction == 0) {
            number.push_str(self.decimal_mark());
            number.push_str(&format!("{fraction:0width$}", width = digits as usize));
        }
        let sign = if minor < 0 { "-" } else { "" };
        let symbol = self.symbol(currency);
        if self.symbol_after() {
            write!(f, "{sign}{number}{NBSP}{symbol}")
        } else if symbol.ends_with(|c: char| c.is_ascii_alphabetic()) {
            // CLDR's currency spacing: a code or a lettered symbol is kept off the digits.
            write!(f, "{sign}{symbol}{NBSP}{number}")
        } else {
            write!(f, "{sign}{symbol}{number}")
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl serde::Serialize for Locale {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.tag())
    }
}

impl<'de> serde::Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Locale::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
    }
}
