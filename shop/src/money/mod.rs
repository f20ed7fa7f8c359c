//! Money is an integer count of a currency's minor units (cents) plus the currency. Never a
//! float: prices are parsed from decimal text exactly and added with overflow checks.

//!
//! The shop sells in one currency and writes amounts for one locale, both settings
//! (`EMPORIUM_CURRENCY`, `EMPORIUM_LOCALE`) given once at start-up to [`configure`]; every
//! amount a person reads goes through [`Money`]'s `Display`, which writes it for that locale.

mod locale;

pub use locale::Locale;

use crate::InvalidInput;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// The shop's currency and locale, set once per process.
static SHOP: OnceLock<(Currency, Locale)> = OnceLock::new();

/// Sets the shop's currency and locale. The first call decides; a later call with other
/// values is refused (two shops in one process would write each other's prices).
pub fn configure(currency: Currency, locale: Locale) -> Result<(), InvalidInput> {
    let set = *SHOP.get_or_init(|| (currency, locale));
    if set == (currency, locale) {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "currency",
            format!(
                "this process already sells in {} for {}; it cannot also use {currency} for {locale}",
                set.0, set.1
            ),
        ))
    }
}

/// A price bound in minor units of the shop's currency, for a label: `$10`, `10 €`.
pub fn bound_label(minor: u64) -> String {
    Money::new(i64::try_from(minor).unwrap_or(i64::MAX), Currency::shop())
        .whole()
        .to_string()
}

/// The locale amounts are written for: the configured one, else en-US.
pub fn locale() -> Locale {
    SHOP.get().map_or(Locale::EnUs, |s| s.1)
}

/// An ISO 4217 currency code, upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const JPY: Currency = Currency(*b"JPY");
    pub const CAD: Currency = Currency(*b"CAD");

    /// The currency the shop sells in: the configured one, else US dollars.
    pub fn shop() -> Currency {
        SHOP.get().map_or(Currency::USD, |s| s.0)
    }

    /// Parses a three-letter code such as `USD` (case-sensitive, as ISO writes it).
    pub fn parse(code: &str) -> Result<Self, InvalidInput> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(InvalidInput::new(
                "currency",
                "must be a three-letter ISO 4217 code such as USD",
            )),
        }
    }

    pub fn code(&self) -> &str {
        // The bytes are checked ASCII letters on every path that builds a Currency.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// How many decimal digits the minor unit has (2 for cents, 0 for yen).
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"ISK" | b"CLP" | b"VND" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" => 3,
            _ => 2,
        }
    }

    /// Minor units in one major unit: 100 for dollars, 1 for yen, 1000 for dinars. Prices a
    /// shopper types as whole amounts (a search's price range) are scaled by it.
    pub fn minor_per_major(&self) -> u64 {
        10_u64.pow(self.minor_digits())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: `amount` minor units of `currency`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    pub amount: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Z]{3}$", example = "USD"))]
    pub currency: Currency,
}

/// The largest price a single unit may have: ten million in major units. Anything above is a
/// typo in a feed, not a product.
const MAX_UNIT_PRICE_MAJOR: i64 = 10_000_000;

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Parses a decimal price such as `9.99` or `1200` exactly into minor units.
    ///
    /// Refuses negatives, more decimals than the currency has, exponents and absurd sizes.
    pub fn parse_price(text: &str, currency: Currency) -> Result<Self, InvalidInput> {
        let refuse = |why: &str| InvalidInput::new("price", why.to_string());
        let digits = currency.minor_digits();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse("must be a non-negative decimal number such as 9.99"));
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (text.contains('.') && frac.is_empty()) {
            return Err(refuse("must be a non-negative decimal number such as 9.99"));
        }
        // Trailing zeros beyond the minor unit are harmless (`9.990`); other digits are not.
        let frac = frac.trim_end_matches('0');
        if frac.len() > digits as usize {
            return Err(refuse(&format!(
                "has more than {digits} decimal places for {currency}"
            )));
        }
        let whole: i64 =
            whole
                .trim_start_matches('0')
                .parse()
                .or_else(|e: std::num::ParseIntError| match e.kind() {
                    std::num::IntErrorKind::Empty => Ok(0),
                    _ => Err(refuse("is too large")),
                })?;
        if whole > MAX_UNIT_PRICE_MAJOR {
            return Err(refuse("is too large"));
        }
        let scale = 10_i64.pow(digits);
        let mut minor: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            minor += i64::from(b - b'0') * 10_i64.pow(digits - 1 - i as u32);
        }
        Ok(Money::new(whole * scale + minor, currency))
    }

    /// `self × quantity`, or `None` on overflow.
    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        Some(Money::new(
            self.amount.checked_mul(quantity)?,
            self.currency,
        ))
    }

    /// `self + other`, or `None` on overflow or when the currencies differ.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_add(other.amount))
            .flatten()
            .map(|amount| Money::new(amount, self.currency))
    }

    /// The amount as plain decimal text without a symbol, e.g. `1234.50`.
    pub fn decimal(&self) -> String {
        let digits = self.currency.minor_digits();
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if digits == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10_u64.pow(digits);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = digits as usize
        )
    }
}

impl Money {
    /// The amount written for `locale`: `$1,234.50`, `1.234,50 €`, `1 234,50 €`.
    pub fn format_in(&self, locale: Locale) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = locale.write(&mut out, self.amount, self.currency, false);
        out
    }

    /// The amount for a label where a whole amount reads better without its zero decimals
    /// (`$10 – $50` on a price filter); any other amount is written in full.
    pub fn whole(self) -> impl fmt::Display {
        struct Whole(Money);
        impl fmt::Display for Whole {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                locale().write(f, self.0.amount, self.0.currency, true)
            }
        }
        Whole(self)
    }
}

impl fmt::Display for Money {
    /// Written for the shop's locale (see [`configure`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        locale().write(f, self.amount, self.currency, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_exactly_into_minor_units() {
        let usd = Currency::USD;
        assert_eq!(Money::parse_price("9.99", usd).unwrap().amount, 999);
        assert_eq!(Money::parse_price("1299", usd).unwrap().amount, 129_900);
        assert_eq!(Money::parse_price("0.5", usd).unwrap().amount, 50);
        assert_eq!(Money::parse_price("12.340", usd).unwrap().amount, 1234);
        assert_eq!(Money::parse_price("0", usd).unwrap().amount, 0);
        assert_eq!(
            Money::parse_price("1500", Currency::JPY).unwrap().amount,
            1500
        );
    }

    #[test]
    fn malformed_or_absurd_prices_are_refused() {
        for bad in [
            "",
            "-1",
            "1.999",
            "1e3",
            "abc",
            ".5",
            "5.",
            "1.2.3",
            " 1",
            "99999999999",
        ] {
            assert!(Money::parse_price(bad, Currency::USD).is_err(), "{bad}");
        }
        assert!(Money::parse_price("10.5", Currency::JPY).is_err());
    }

    /// The unconfigured shop writes en-US (what `Display` uses when no locale is set).
    #[test]
    fn money_formats_like_a_shop_window() {
        assert_eq!(Money::new(123_450, Currency::USD).to_string(), "$1,234.50");
        assert_eq!(Money::new(999, Currency::EUR).to_string(), "€9.99");
        assert_eq!(Money::new(5, Currency::USD).to_string(), "$0.05");
        assert_eq!(Money::new(1500, Currency::JPY).to_string(), "¥1,500");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Money::new(12_000, kwd).to_string(), "KWD\u{a0}12.000");
        assert_eq!(Money::new(-250, Currency::USD).to_string(), "-$2.50");
        assert_eq!(Money::new(1000, Currency::USD).whole().to_string(), "$10");
        assert_eq!(
            Money::new(1050, Currency::USD).whole().to_string(),
            "$10.50"
        );
    }

    /// CLDR's standard currency format for each locale the shop supports: the decimal mark,
    /// the thousands, the symbol and where it goes (U+00A0 and U+202F are no-break spaces).
    #[test]
    fn each_locale_writes_amounts_as_its_readers_do() {
        let cases = [
            (Locale::EnUs, Currency::USD, 123_456_789, "$1,234,567.89"),
            (Locale::EnUs, Currency::EUR, 123_450, "€1,234.50"),
            (Locale::EnUs, Currency::CAD, 500, "CA$5.00"),
            (Locale::EnGb, Currency::GBP, 123_450, "£1,234.50"),
            (Locale::EnGb, Currency::USD, 999, "US$9.99"),
            (Locale::EnGb, Currency::EUR, -250, "-€2.50"),
            (Locale::EnCa, Currency::CAD, 123_450, "$1,234.50"),
            (Locale::DeDe, Currency::EUR, 123_450, "1.234,50\u{a0}€"),
            (Locale::DeDe, Currency::EUR, 5, "0,05\u{a0}€"),
            (
                Locale::DeDe,
                Currency::USD,
                123_456_789,
                "1.234.567,89\u{a0}$",
            ),
            (Locale::DeDe, Currency::EUR, -250, "-2,50\u{a0}€"),
            (
                Locale::FrFr,
                Currency::EUR,
                123_450,
                "1\u{202f}234,50\u{a0}€",
            ),
            (Locale::FrFr, Currency::USD, 999, "9,99\u{a0}$US"),
            (
                Locale::FrFr,
                Currency::GBP,
                100_000_000,
                "1\u{202f}000\u{202f}000,00\u{a0}£GB",
            ),
            (Locale::FrFr, Currency::JPY, 1500, "1\u{202f}500\u{a0}JPY"),
        ];
        for (locale, currency, minor, written) in cases {
            assert_eq!(
                Money::new(minor, currency).format_in(locale),
                written,
                "{locale} {currency}"
            );
        }
    }

    #[test]
    fn locales_are_read_from_their_tags_and_unknown_ones_are_named() {
        assert_eq!(Locale::parse("de-DE").unwrap(), Locale::DeDe);
        assert_eq!(Locale::parse("fr_fr").unwrap(), Locale::FrFr);
        assert_eq!(Locale::parse(" en-GB ").unwrap(), Locale::EnGb);
        let err = Locale::parse("xx-YY").unwrap_err();
        assert!(
            err.message.contains("en-US, en-GB, en-CA, de-DE, fr-FR"),
            "{}",
            err.message
        );
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.tag()).unwrap(), l);
        }
    }

    #[test]
    fn arithmetic_refuses_overflow_and_mixed_currencies() {
        let a = Money::new(i64::MAX, Currency::USD);
        assert_eq!(a.checked_mul(2), None);
        assert_eq!(a.checked_add(Money::new(1, Currency::USD)), None);
        assert_eq!(
            Money::new(1, Currency::USD).checked_add(Money::new(1, Currency::EUR)),
            None
        );
        assert_eq!(
            Money::new(250, Currency::USD).checked_mul(3),
            Some(Money::new(750, Currency::USD))
        );
    }

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("USDX").is_err());
        assert_eq!(
            serde_json::from_str::<Currency>("\"EUR\"").unwrap(),
            Currency::EUR
        );
    }
}
