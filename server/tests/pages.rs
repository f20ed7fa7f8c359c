//! The storefront's pages over real HTTP: content, status codes, bad input.

// A test reports failure by panicking; helpers outside #[test] functions may too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_lists_departments_and_products() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Shop by department"));
    assert!(html.contains("href=\"/c/furniture\""));
    assert!(html.contains("Top rated"));
    assert!(html.contains("584 products"));
    assert!(
        html.contains("/pkg/emporium.js"),
        "the page loads the hydrate bundle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_category_page_lists_its_products_with_pagination() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/c/furniture?sort=price_asc").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Furniture</h1>"));
    assert_eq!(html.matches("class=\"product-card\"").count(), 24);
    assert!(html.contains("rel=\"next\""));
    assert!(
        html.contains("href=\"/c/furniture?sort=price_asc&amp;page=2\""),
        "links keep the sort"
    );

    let (status, page2) = app.get_text("/c/furniture?sort=price_asc&page=2").await;
    assert_eq!(status, 200);
    let nav = &page2[page2.find("class=\"pagination\"").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    assert!(nav.contains("class=\"current\">2</span>"));
    assert_eq!(
        nav.matches("aria-current").count(),
        1,
        "only the current page is marked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_paging_is_a_clear_400_not_a_crash() {
    let app = spawn_app().await;
    for query in [
        "page=abc",
        "page=0",
        "page=-1",
        "per_page=1000",
        "page=99999999999",
        "sort=random",
    ] {
        let (status, html) = app.get_text(&format!("/c/furniture?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(html.contains("That request didn"), "{query}");
    }
    let (_, html) = app.get_text("/c/furniture?page=abc").await;
    assert!(html.contains("The page must be a whole number from 1 to 10000."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_page_shows_the_chosen_variant() {
    let app = spawn_app().await;
    let (status, html) = app
        .get_text("/p/king-tufted-low-profile-standard-bed")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>King Tufted Low Profile Standard Bed</h1>"));
    assert!(html.contains("data-testid=\"selected-variant\">Twin<"));

    let (status, king) = app
        .get_text("/p/king-tufted-low-profile-standard-bed?sku=WANDS-13-KING")
        .await;
    assert_eq!(status, 200);
    assert!(king.contains("data-testid=\"selected-variant\">King<"));
    assert!(king.contains("data-testid=\"sku\">WANDS-13-KING<"));

    // An unknown SKU in the query falls back to the first variant rather than failing.
    let (status, _) = app
        .get_text("/p/king-tufted-low-profile-standard-bed?sku=nope")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_products_categories_and_routes_are_real_404s() {
    let app = spawn_app().await;
    for path in [
        "/p/no-such-thing",
        "/p/..%2f..%2fetc",
        "/c/no/such/category",
        "/c/%00",
        "/nowhere",
        "/p/",
    ] {
        let (status, html) = app.get_text(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Page not found"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_products_and_survives_absurd_queries() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/search?q=tufted+bed").await;
    assert_eq!(status, 200);
    assert!(html.contains("King Tufted Low Profile Standard Bed"));
    let long = "x".repeat(5000);
    for q in ["", "%25%25", "title%3A(x)+AND+*", long.as_str()] {
        let (status, _) = app.get_text(&format!("/search?q={q}")).await;
        assert_eq!(status, 200, "{q:.20}");
    }
    // Facets are links to the narrowed search; a typo gets "did you mean".
    let (_, html) = app.get_text("/search?q=wall+clock").await;
    assert!(html.contains("data-facet=\"category\""), "category facet");
    assert!(
        html.contains("href=\"/search?q=wall+clock&amp;category="),
        "facet links"
    );
    let (_, html) = app.get_text("/search?q=fountian").await;
    assert!(html.contains("data-testid=\"did-you-mean\""));
    let (_, html) = app.get_text("/search?q=zzqqxxvv").await;
    assert!(html.contains("data-testid=\"no-results\""));
    // A malformed filter is a clear 400 page.
    let (status, html) = app.get_text("/search?q=bed&min_price=abc").await;
    assert_eq!(status, 400);
    assert!(html.contains("min price"), "names the filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_page_recommends_other_products() {
    let app = spawn_app().await;
    let (_, html) = app.get_text("/search?q=fountain").await;
    let at = html.find("href=\"/p/").unwrap() + 6;
    let url = &html[at..at + html[at..].find('"').unwrap()];
    let (status, page) = app.get_text(url).await;
    assert_eq!(status, 200);
    // No orders yet: similar products, each a link to a product page.
    assert!(page.contains("Similar products"), "{url}");
    assert!(page.contains("data-testid=\"recommendations\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_are_served_and_missing_ones_are_404() {
    let app = spawn_app().await;
    let response = app.get("/favicon.ico").await;
    // The test server's site root is not built, so this proves only that a missing file is a
    // clean 404 page rather than an error.
    assert!(matches!(response.status().as_u16(), 200 | 404));
    let (status, _) = app.get_text("/pkg/does-not-exist.js").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_compressed_for_browsers_that_accept_it() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/c/furniture"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "br");
    let plain = app.get("/c/furniture").await;
    assert!(
        plain.headers().get("content-encoding").is_none(),
        "and plain for those that don't"
    );
}
