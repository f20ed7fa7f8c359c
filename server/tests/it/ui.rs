//! The UI crate's pure helpers (paging, dates, what a query string may carry). They live here,
//! not in unit tests inside `app`, because a unit-test harness would compile the whole UI a
//! second time in every test build.

use app::accounts::{decode_merge, local_path};
use app::format::{civil_from_days, month_day, utc};
use app::pager::page_count;

#[test]
fn pages_round_up_and_never_drop_below_one() {
    assert_eq!(page_count(0, 20), 1);
    assert_eq!(page_count(20, 20), 1);
    assert_eq!(page_count(21, 20), 2);
    assert_eq!(page_count(5, 0), 5);
}

#[test]
fn dates_come_out_as_the_calendar_says() {
    assert_eq!(utc(0), "1970-01-01 00:00 UTC");
    assert_eq!(utc(1_795_861_500_000), "2026-11-28 10:25 UTC");
    assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    assert_eq!(month_day(19_783), "03-01");
}

#[test]
fn only_local_paths_are_followed() {
    assert_eq!(local_path(Some("/cart")), Some("/cart".into()));
    for bad in [
        "//evil.example",
        "https://evil.example",
        "/\\evil",
        "cart",
        "",
    ] {
        assert_eq!(local_path(Some(bad)), None, "{bad}");
    }
}

#[test]
fn merge_reports_read_back_only_known_kinds() {
    let notes = decode_merge("SKU-1~kept~2~2.SKU-2~reduced~3~5.X~evil~1~1.bad");
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1].kind, "reduced");
    assert_eq!((notes[1].quantity, notes[1].wanted), (3, 5));
}

#[test]
fn each_picture_button_posts_a_change_the_server_reads_back() {
    use app::sellers::ImageChange;
    for change in [
        ImageChange::Approve,
        ImageChange::First,
        ImageChange::Remove,
    ] {
        let posted = serde_json::Value::String(change.as_str().into());
        assert_eq!(
            serde_json::from_value::<ImageChange>(posted).ok(),
            Some(change),
            "the button for {change:?} posts {:?}",
            change.as_str()
        );
    }
}

/// A component built under an owner whose root is gone (the shopper closed the connection
/// while a suspended part was being rendered) reads empty values instead of panicking.
#[test]
fn route_reads_nothing_and_does_not_panic_once_the_request_is_gone() {
    use app::route::{Navigator, params_map, query_map};
    use leptos::prelude::*;
    let root = Owner::new_root(None);
    let child = root.with(Owner::new);
    drop(root);
    child.with(|| {
        assert!(query_map().get_untracked().get("q").is_none());
        assert!(params_map().get_untracked().get("slug").is_none());
        let _navigator = Navigator::here();
    });
}

/// Under a route the same reads see the route's address.
#[test]
fn route_reads_the_routes_address() {
    use app::route::{params_map, path, query_map};
    use leptos::prelude::*;
    use leptos_router::location::RequestUrl;
    use leptos_router::params::ParamsMap;
    let root = Owner::new_root(None);
    root.with(|| {
        let url = RequestUrl::new("/search?q=lamp").parse().expect("a url");
        provide_context(ArcRwSignal::new(url));
        let mut params = ParamsMap::new();
        params.insert("slug", "oak-desk".to_string());
        provide_context(ArcMemo::new(move |_| params.clone()));
        assert_eq!(
            query_map().get_untracked().get("q").as_deref(),
            Some("lamp")
        );
        assert_eq!(
            params_map().get_untracked().get("slug").as_deref(),
            Some("oak-desk")
        );
        assert_eq!(path().get_untracked(), "/search");
    });
}
