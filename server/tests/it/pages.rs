//! The storefront's pages over real HTTP: content, status codes, bad input.

use crate::common::spawn_app;

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
    let html = crate::common::without_hydration_markers(&html);
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Furniture</h1>"));
    assert_eq!(html.matches("class=\"product-card\"").count(), 24);
    assert!(html.contains("rel=\"next\""));
    assert!(
        html.contains("href=\"/c/furniture?sort=price_asc&amp;page=2\""),
        "links keep the sort"
    );

    let (status, page2) = app.get_text("/c/furniture?sort=price_asc&page=2").await;
    let page2 = crate::common::without_hydration_markers(&page2);
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
    assert!(
        crate::common::without_hydration_markers(&html)
            .contains("<h1>King Tufted Low Profile Standard Bed</h1>")
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_page_is_answered_304_and_a_changed_one_in_full() {
    let app = spawn_app().await;
    let path = "/c/furniture";
    let first = app.get(path).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(tag.starts_with("W/\""), "a weak tag: {tag}");
    let html = first.text().await.unwrap();

    // Rendered again (a new nonce), the same page has the same tag.
    let second = app.get(path).await;
    assert_eq!(second.headers()["etag"].to_str().unwrap(), tag);
    let csp = second.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("'nonce-"));

    let conditional = |tags: String| {
        let app = &app;
        async move { app.get_if_none_match(path, &tags).await }
    };
    let again = conditional(tag.clone()).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
    assert!(
        !again.headers().contains_key("content-security-policy"),
        "the browser keeps the policy whose nonce its copy carries"
    );
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(conditional("W/\"other\"".into()).await.status(), 200);

    // The first product's stock runs out: its badge changes, and so does the tag.
    let product: i64 = html
        .split("data-product-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("a product card");
    sqlx::query(
        "UPDATE stock_levels SET available = 0, received = held + committed \
         WHERE variant_id IN (SELECT id FROM variants WHERE product_id = $1)",
    )
    .bind(product)
    .execute(app.scratch.db.pool())
    .await
    .unwrap();
    let changed = conditional(tag.clone()).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), tag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_with_a_one_time_token_is_always_sent_whole() {
    let app = spawn_app().await;
    // The product page's add-to-cart form carries an operation id that may be spent once
    // the shopper adds: a kept copy must never be reused.
    let (_, home) = app.get_text("/").await;
    let product = home
        .split("href=\"/p/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a product link");
    let path = format!("/p/{product}");
    let page = app.get(&path).await;
    assert_eq!(page.status(), 200);
    assert!(!page.headers().contains_key("etag"));
    assert!(
        !page.headers().contains_key("x-emporium-one-time"),
        "the app's mark stays inside the server"
    );
    assert!(page.text().await.unwrap().contains("name=\"op\""));
    assert_eq!(app.get_if_none_match(&path, "*").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_is_served_under_its_version_as_immutable() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (name, body) in [
        ("emporium.js", "export default 1;"),
        ("emporium_bg.wasm", "\0asm"),
        ("emporium.css", "body{}"),
    ] {
        std::fs::write(pkg.join(name), body).unwrap();
    }
    let version = server::bundle_version(site.path()).expect("a built site has a version");
    let root = site.path().to_path_buf();
    let app = crate::common::spawn_app_with(|s| s.http.site_root = root).await;

    let (_, html) = app.get_text("/").await;
    for file in ["emporium.js", "emporium_bg.wasm", "emporium.css"] {
        let url = format!("/pkg/{version}/{file}");
        assert!(html.contains(&url), "the page loads {url}");
        let response = app.get(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    assert_eq!(
        app.get("/pkg/0000000000000000/emporium.js").await.status(),
        404
    );
    let plain = app.get("/pkg/emporium.js").await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["cache-control"], "no-cache");

    // A different build is a different version.
    std::fs::write(pkg.join("emporium.js"), "export default 2;").unwrap();
    assert_ne!(server::bundle_version(site.path()), Some(version));
}

/// `EMPORIUM_LOCALE=de-DE`: the page says its language, hands the setting to the browser's
/// half, and writes every amount the German way (decimal comma, symbol after a no-break
/// space), the search's price bands included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_set_to_german_writes_amounts_the_german_way() {
    let app = crate::common::spawn_app_with(|s| s.money.locale = shop::money::Locale::DeDe).await;
    let (status, html) = app.get_text("/p/essence-mascara-lash-princess").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"de\""), "{}", &html[..200]);
    assert!(html.contains("name=\"emporium-money\" content=\"USD de-DE\""));
    assert!(
        html.contains("9,99\u{a0}$"),
        "the mascara's price, written for de-DE"
    );
    assert!(!html.contains("$9.99"), "no amount in the US way");

    let (status, html) = app.get_text("/search?q=lamp").await;
    assert_eq!(status, 200);
    let bands = html.matches("\u{a0}$ – ").count() + html.matches("\u{a0}$ and up").count();
    assert!(bands > 0, "price bands read like 10\u{a0}$ – 25\u{a0}$");
    assert!(!html.contains("$10"), "no band in the US way");
}
