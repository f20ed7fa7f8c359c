//! Card numbers as the provider sees them, and the test cards that choose an outcome.

/// Succeeds (as does any other valid number that is not below).
pub const SUCCEEDS: &str = "4242424242424242";
/// Declined: `card_declined`.
pub const DECLINED: &str = "4000000000000002";
/// Declined: `insufficient_funds`.
pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
/// Declined: `expired_card`.
pub const EXPIRED: &str = "4000000000000069";

/// A card number the provider accepts: 12 to 19 digits (spaces and dashes ignored) whose
/// check digit is right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Card(String);

impl Card {
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let plausible =
            (12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        (plausible && check_digit_holds(&digits)).then_some(Card(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    pub fn brand(&self) -> &'static str {
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| self.0.starts_with(p));
        if starts(&["4"]) {
            "visa"
        } else if starts(&["51", "52", "53", "54", "55", "2"]) {
            "mastercard"
        } else if starts(&["34", "37"]) {
            "amex"
        } else if starts(&["6"]) {
            "discover"
        } else {
            "card"
        }
    }

    /// Why this card is declined, if it is a test card that is.
    pub fn decline_code(&self) -> Option<&'static str> {
        [
            (DECLINED, "card_declined"),
            (INSUFFICIENT_FUNDS, "insufficient_funds"),
            (EXPIRED, "expired_card"),
        ]
        .into_iter()
        .find_map(|(card, code)| (card == self.0).then_some(code))
    }
}

/// The Luhn check: from the right, every second digit doubled (its digits summed), and the
/// total a multiple of ten.
fn check_digit_holds(digits: &str) -> bool {
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let total: u32 = digits
        .bytes()
        .rev()
        .map(|b| usize::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d as u32 } else { DOUBLED[d] })
        .sum();
    total.is_multiple_of(10)
}
