use super::*;

fn typed(country: &str, region: &str, postal: &str) -> Address {
    Address {
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: String::new(),
        city: "Springfield".into(),
        region: region.into(),
        postal_code: postal.into(),
        country: country.into(),
        phone: String::new(),
    }
}

fn ok(country: &str, region: &str, postal: &str) -> Address {
    Address::parse(&typed(country, region, postal))
        .unwrap_or_else(|e| panic!("{country} {region:?} {postal:?}: {e:?}"))
}

fn errors(address: &Address) -> FieldErrors {
    Address::parse(address).expect_err("refused")
}

#[test]
fn us_addresses_need_a_state_and_a_zip_code() {
    let a = ok("us", "ca", " 94103 ");
    assert_eq!(
        (
            a.country.as_str(),
            a.region.as_str(),
            a.postal_code.as_str()
        ),
        ("US", "CA", "94103")
    );
    assert_eq!(
        ok("US", "California", "941031234").postal_code,
        "94103-1234"
    );
    assert_eq!(ok("US", "NY", "10001-0001").region, "NY");
    let e = errors(&typed("US", "", "9410"));
    assert_eq!(
        e.get("region"),
        Some("Please choose a state for an address in United States.")
    );
    assert!(
        e.get("postal_code")
            .is_some_and(|m| m.contains("5-digit ZIP code")),
        "{e:?}"
    );
    let e = errors(&typed("US", "Narnia", "94103"));
    assert!(
        e.get("region")
            .is_some_and(|m| m.contains("\"Narnia\" is not a state")),
        "{e:?}"
    );
    for bad in ["ABCDE", "94103-12", "941031", "94 103"] {
        assert!(
            errors(&typed("US", "CA", bad)).get("postal_code").is_some(),
            "{bad}"
        );
    }
}

#[test]
fn canadian_addresses_need_a_province_and_a_postal_code_in_its_pattern() {
    let a = ok("CA", "qc", "h2x1y4");
    assert_eq!(
        (a.region.as_str(), a.postal_code.as_str()),
        ("QC", "H2X 1Y4")
    );
    assert_eq!(ok("CA", "Ontario", "K1A 0B1").region, "ON");
    // D, F, I, O, Q, U never appear; W and Z never first.
    for bad in [
        "K1A0B",
        "D1A 0B1",
        "K1O 0B1",
        "W1A 0B1",
        "12345",
        "K1A 0B1 2",
    ] {
        assert!(
            errors(&typed("CA", "ON", bad)).get("postal_code").is_some(),
            "{bad}"
        );
    }
    assert!(errors(&typed("CA", "", "K1A 0B1")).get("region").is_some());
}

#[test]
fn uk_postcodes_in_every_shape_and_an_optional_county() {
    for (typed_code, normal) in [
        ("sw1a1aa", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("gir 0aa", "GIR 0AA"),
    ] {
        assert_eq!(ok("GB", "", typed_code).postal_code, normal, "{typed_code}");
    }
    assert_eq!(ok("GB", "Kent", "CT1 1AA").region, "Kent");
    for bad in ["SW1A", "1AA SW1", "SW1A 1A1", "ABC1 1AA", "12345"] {
        let e = errors(&typed("GB", "", bad));
        assert_eq!(
            e.get("postal_code"),
            Some("Please enter a UK postcode, such as SW1A 1AA."),
            "{bad}"
        );
    }
}

#[test]
fn german_postal_codes_have_five_digits() {
    assert_eq!(ok("DE", "", "10115").postal_code, "10115");
    for bad in ["1011", "101155", "D-10115", "00000"] {
        assert!(
            errors(&typed("DE", "", bad)).get("postal_code").is_some(),
            "{bad}"
        );
    }
}

#[test]
fn other_countries_get_the_generic_checks() {
    assert_eq!(ok("FR", "", "75001").postal_code, "75001");
    assert_eq!(ok("NL", "", "1012 AB").postal_code, "1012 AB");
    assert!(errors(&typed("FR", "", "")).get("postal_code").is_some());
    assert!(
        errors(&typed("FR", "", "75<01"))
            .get("postal_code")
            .is_some()
    );
    assert!(errors(&typed("USA", "", "75001")).get("country").is_some());
}

#[test]
fn every_problem_is_reported_at_once_by_field() {
    let mut a = typed("US", "", "x");
    a.name = " ".into();
    a.city = "a\u{0}b".into();
    a.phone = "call me".into();
    a.line2 = "x".repeat(201);
    let e = errors(&a);
    let fields: Vec<&str> = e.0.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        ["city", "line2", "name", "phone", "postal_code", "region"]
    );
    assert_eq!(
        e.first(&FIELDS),
        Some("name"),
        "the first in the form's order"
    );
}

#[test]
fn phone_numbers_are_optional_and_checked_when_given() {
    let mut a = typed("US", "CA", "94103");
    for good in ["", "+1 415 555 0100", "(415) 555-0100", "030 1234567"] {
        a.phone = good.into();
        assert!(Address::parse(&a).is_ok(), "{good}");
    }
    for bad in [
        "12345",
        "+1 415 555 0100 1234 5",
        "415+5550100",
        "call me",
        "４１５５５５０１００",
    ] {
        a.phone = bad.into();
        assert!(errors(&a).get("phone").is_some(), "{bad}");
    }
}
