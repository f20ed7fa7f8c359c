//! Postal addresses: what a shopper types, checked field by field with rules per country.
//!
//! The United States, Canada, the United Kingdom and Germany have their postal-code formats
//! and (where the post needs one) their list of regions; any other country gets the generic
//! checks (present, bounded, printable). Every problem is reported at once, by field, in
//! words a shopper understands, so a form can put each message next to its field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A checked address. `country` is an ISO 3166-1 alpha-2 code; `region` is the region's code
/// where the country has a list (`CA` for California, `QC` for Quebec), else as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    /// State, province or county: required in the US and Canada.
    #[serde(default)]
    pub region: String,
    pub postal_code: String,
    pub country: String,
    /// For the carrier, if the shopper gave one.
    #[serde(default)]
    pub phone: String,
}

/// An address in a signed-in shopper's address book (`accounts::addresses`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAddress {
    pub id: i64,
    pub address: Address,
    pub is_default: bool,
}

/// Field name → what is wrong with it, as a sentence for the shopper.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// The first field in the order a form shows them (`order`), else any.
    pub fn first<'a>(&'a self, order: &[&'a str]) -> Option<&'a str> {
        order
            .iter()
            .copied()
            .find(|f| self.0.contains_key(*f))
            .or_else(|| self.0.keys().next().map(String::as_str))
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.0.keys().map(String::as_str).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl std::error::Error for FieldErrors {}

/// A form's fields that are wrong: `422`, code `invalid`, each field's message in `fields`.
impl crate::Failure for FieldErrors {
    fn kind(&self) -> crate::FailureKind {
        crate::FailureKind::Refused
    }

    fn code(&self) -> &'static str {
        "invalid"
    }

    fn public_message(&self) -> String {
        match self.0.len() {
            1 => self.0.values().next().cloned().unwrap_or_default(),
            n => format!("{n} fields need your attention: please check them."),
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        Some(self)
    }
}

/// The order of an address form's fields.
pub const FIELDS: [&str; 8] = [
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
];

/// What a country's addresses need.
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    /// What the country calls its regions on a form.
    pub region_label: &'static str,
    /// The regions the post knows, `(code, name)`; empty: free text, optional.
    pub regions: &'static [(&'static str, &'static str)],
    pub postal_label: &'static str,
    /// Normalises a postal code, or says it is not one.
    postal: fn(&str) -> Option<String>,
    /// The message when it is not.
    postal_hint: &'static str,
}

impl Country {
    /// The countries with their own rules.
    pub fn known(code: &str) -> Option<&'static Country> {
        COUNTRIES.iter().find(|c| c.code == code)
    }

    pub fn region_required(&self) -> bool {
        !self.regions.is_empty()
    }
}

pub static COUNTRIES: [Country; 4] = [
    Country {
        code: "US",
        name: "United States",
        region_label: "State",
        regions: US_STATES,
        postal_label: "ZIP code",
        postal: us_zip,
        postal_hint: "Please enter a 5-digit ZIP code, such as 94103 (or ZIP+4, such as 94103-1234).",
    },
    Country {
        code: "CA",
        name: "Canada",
        region_label: "Province or territory",
        regions: CA_PROVINCES,
        postal_label: "Postal code",
        postal: ca_postal,
        postal_hint: "Please enter a postal code such as K1A 0B1 (letter, digit, letter, digit, letter, digit).",
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        region_label: "County (optional)",
        regions: &[],
        postal_label: "Postcode",
        postal: uk_postcode,
        postal_hint: "Please enter a UK postcode, such as SW1A 1AA.",
    },
    Country {
        code: "DE",
        name: "Germany",
        region_label: "State (optional)",
        regions: &[],
        postal_label: "Postleitzahl (postal code)",
        postal: de_plz,
        postal_hint: "Please enter a 5-digit postal code (Postleitzahl), such as 10115.",
    },
];

impl Address {
    /// Checks and normalises what a shopper typed: the address, or every field's problem.
    pub fn parse(input: &Address) -> Result<Address, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut text = |field: &str, value: &str, required: bool, max: usize, what: &str| {
            let value = value.trim();
            if value.chars().any(char::is_control) {
                errors.add(
                    field,
                    format!("Please remove the special characters from the {what}."),
                );
            } else if required && value.is_empty() {
                errors.add(field, format!("Please enter the {what}."));
            } else if value.chars().count() > max {
                errors.add(
                    field,
                    format!("The {what} can be at most {max} characters long."),
                );
            }
            value.to_string()
        };
        let name = text("name", &input.name, true, 100, "name to ship to");
        let line1 = text("line1", &input.line1, true, 200, "street address");
        let line2 = text("line2", &input.line2, false, 200, "second address line");
        let city = text("city", &input.city, true, 100, "city");
        let region_typed = text("region", &input.region, false, 100, "region");
        let postal_typed = text("postal_code", &input.postal_code, false, 20, "postal code");
        let phone_typed = text("phone", &input.phone, false, 30, "phone number");

        let (country, region, postal_code) = area(
            &input.country,
            &region_typed,
            &postal_typed,
            true,
            &mut errors,
        );
        let phone = phone_typed;
        if !phone.is_empty() {
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            let allowed = phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !allowed || !(6..=15).contains(&digits) || phone.chars().skip(1).any(|c| c == '+') {
                errors.add(
                    "phone",
                    "Please enter a phone number of 6 to 15 digits, such as +1 415 555 0100 (or leave it empty).",
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Address {
            name,
            line1,
            line2,
            city,
            region,
            postal_code,
            country,
            phone,
        })
    }

    /// Checks only where an address is (for a shipping estimate before the rest is known):
    /// the country, its region and, if given, the postal code.
    pub fn parse_area(
        country: &str,
        region: &str,
        postal_code: &str,
    ) -> Result<(String, String, String), FieldErrors> {
        let mut errors = FieldErrors::default();
        let typed = |t: &str| {
            t.chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        };
        let area = area(
            country,
            &typed(region),
            &typed(postal_code),
            false,
            &mut errors,
        );
        if errors.is_empty() {
            Ok(area)
        } else {
            Err(errors)
        }
    }

    /// Re-checks an address that arrived as a whole (JSON).
    pub fn checked(self) -> Result<Self, FieldErrors> {
        Address::parse(&self)
    }
}

/// Checks where an address is: its country, its region (required and normalised to its code
/// where the country has a list) and its postal code (in the country's format; required when
/// `postal_required`). Problems go into `errors`; what was typed comes back either way.
fn area(
    country: &str,
    region_typed: &str,
    postal_typed: &str,
    postal_required: bool,
    errors: &mut FieldErrors,
) -> (String, String, String) {
    let region_typed = region_typed.trim().to_string();
    let postal_typed = postal_typed.trim().to_string();
    let country = country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.add(
            "country",
            "Please choose a country (a two-letter code, such as US).",
        );
    }
    let rules = Country::known(&country);
    let region = match rules {
        Some(c) if c.region_required() => {
            let typed = region_typed.to_ascii_uppercase();
            match c
                .regions
                .iter()
                .find(|(code, name)| *code == typed || name.eq_ignore_ascii_case(&region_typed))
            {
                Some((code, _)) => (*code).to_string(),
                None => {
                    let which = c.region_label.to_lowercase();
                    errors.add(
                        "region",
                        if region_typed.is_empty() {
                            format!("Please choose a {which} for an address in {}.", c.name)
                        } else {
                            format!("{region_typed:?} is not a {which} of {}: please choose one from the list.", c.name)
                        },
                    );
                    region_typed
                }
            }
        }
        _ => region_typed,
    };
    let postal_code = match rules {
        _ if postal_typed.is_empty() && !postal_required => postal_typed,
        Some(c) => match (c.postal)(&postal_typed) {
            Some(normal) => normal,
            None => {
                errors.add("postal_code", c.postal_hint);
                postal_typed
            }
        },
        None => {
            if postal_typed.is_empty() {
                errors.add("postal_code", "Please enter the postal code.");
            } else if !postal_typed
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
            {
                errors.add(
                    "postal_code",
                    "A postal code has only letters, digits, spaces and hyphens.",
                );
            }
            postal_typed
        }
    };
    (country, region, postal_code)
}

fn us_zip(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 if digits(b) => Some(text.to_string()),
        9 if digits(b) => Some(format!("{}-{}", &text[..5], &text[5..])),
        10 if digits(&b[..5]) && b[5] == b'-' && digits(&b[6..]) => Some(text.to_string()),
        _ => None,
    }
}

fn ca_postal(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    // Canada Post never uses D, F, I, O, Q or U, nor W or Z first.
    let letter = |c: u8, first: bool| {
        c.is_ascii_uppercase() && !b"DFIOQU".contains(&c) && !(first && b"WZ".contains(&c))
    };
    let ok = b.len() == 6
        && letter(b[0], true)
        && b[1].is_ascii_digit()
        && letter(b[2], false)
        && b[3].is_ascii_digit()
        && letter(b[4], false)
        && b[5].is_ascii_digit();
    ok.then(|| format!("{} {}", &compact[..3], &compact[3..]))
}

fn uk_postcode(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact == "GIR0AA" {
        return Some("GIR 0AA".into());
    }
    let b = compact.as_bytes();
    if !(5..=7).contains(&b.len()) {
        return None;
    }
    // Inward code: digit, letter, letter. Outward: a letter or two, a digit, then an
    // optional letter or digit (A9, A9A, A99, AA9, AA9A, AA99).
    let (outward, inward) = compact.split_at(b.len() - 3);
    let i = inward.as_bytes();
    let inward_ok = i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase();
    let o = outward.as_bytes();
    let letters = o.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let rest = &o[letters..];
    let outward_ok = (1..=2).contains(&letters)
        && !rest.is_empty()
        && rest.len() <= 2
        && rest[0].is_ascii_digit()
        && rest.get(1).is_none_or(|c| c.is_ascii_alphanumeric());
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

fn de_plz(text: &str) -> Option<String> {
    (text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) && text != "00000")
        .then(|| text.to_string())
}

/// The states, the District of Columbia, and the territories and military post codes USPS
/// delivers to.
static US_STATES: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("AS", "American Samoa"),
    ("GU", "Guam"),
    ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
    ("AA", "Armed Forces Americas"),
    ("AE", "Armed Forces Europe"),
    ("AP", "Armed Forces Pacific"),
];

static CA_PROVINCES: &[(&str, &str)] = &[
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

#[cfg(test)]
mod tests;
