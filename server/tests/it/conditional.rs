//! ETags and conditional GETs (`server::conditional`): a page's tag ignores its nonce, and
//! `If-None-Match` compares weakly.

use http::HeaderValue;
use server::conditional::{none_match, page_tag};

#[test]
fn a_page_tag_ignores_the_nonce_and_nothing_else() {
    let a = br#"<script nonce="AAAA">x</script><p>1</p><link crossorigin="AAAA">"#;
    let b = br#"<script nonce="BBBB">x</script><p>1</p><link crossorigin="BBBB">"#;
    let c = br#"<script nonce="CCCC">x</script><p>2</p><link crossorigin="CCCC">"#;
    assert_eq!(page_tag(a, Some("AAAA")), page_tag(b, Some("BBBB")));
    assert_ne!(page_tag(a, Some("AAAA")), page_tag(c, Some("CCCC")));
    assert_ne!(page_tag(a, None), page_tag(b, None));
    assert!(
        page_tag(a, Some("AAAA"))
            .unwrap()
            .as_bytes()
            .starts_with(b"W/\"")
    );
}

#[test]
fn if_none_match_compares_weakly_and_takes_lists_and_stars() {
    let tag = HeaderValue::from_static("W/\"abc\"");
    let ask = |v: &'static str| none_match(&[HeaderValue::from_static(v)], &tag);
    assert!(ask("W/\"abc\""));
    assert!(ask("\"abc\""));
    assert!(ask("\"x\", W/\"abc\""));
    assert!(ask("*"));
    assert!(!ask("\"abcd\""));
    assert!(!none_match(&[], &tag));
    let strong = HeaderValue::from_static("\"abc\"");
    assert!(none_match(
        &[HeaderValue::from_static("W/\"abc\"")],
        &strong
    ));
}
