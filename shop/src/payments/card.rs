//! Card numbers: parsed and checked on the way in, masked on the way out.

use crate::InvalidInput;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A card number (PAN): 12–19 digits passing the Luhn check. Spaces and dashes in the input
/// are ignored. `Debug` and `Display` show only the last four digits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let refuse = || InvalidInput::new("card_number", "is not a valid card number");
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        if !luhn(&digits) {
            return Err(refuse());
        }
        Ok(CardNumber(digits))
    }

    /// The digits, for the gateway request and nothing else.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The card network, from the leading digits.
    pub fn brand(&self) -> &'static str {
        let d = self.0.as_bytes();
        match (d[0], d[1]) {
            (b'4', _) => "visa",
            (b'5', b'1'..=b'5') | (b'2', _) => "mastercard",
            (b'3', b'4' | b'7') => "amex",
            (b'6', _) => "discover",
            _ => "card",
        }
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(…{})", self.last4())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "•••• {}", self.last4())
    }
}

impl TryFrom<String> for CardNumber {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CardNumber::parse(&s)
    }
}

impl From<CardNumber> for String {
    fn from(c: CardNumber) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_parse_and_print_masked() {
        let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(card.last4(), "4242");
        assert_eq!(card.brand(), "visa");
        assert_eq!(format!("{card:?}"), "CardNumber(…4242)");
        assert_eq!(card.to_string(), "•••• 4242");
        assert!(CardNumber::parse("4000-0000-0000-0002").is_ok());
    }

    #[test]
    fn bad_numbers_are_refused() {
        for bad in [
            "4242424242424241",
            "",
            "abcd",
            "42424242",
            "4242424242424242424242",
            "4242 4242 4242 424x",
        ] {
            assert!(CardNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
