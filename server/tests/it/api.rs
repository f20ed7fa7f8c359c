//! The storefront JSON API, v1, over real HTTP; every answer is checked against the OpenAPI
//! document as it arrives (`common::openapi`).

use crate::common::new_cart;
use crate::common::openapi::spawn_checked_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_are_listed_with_paging_and_urls() {
    let app = spawn_checked_app().await;
    let (status, body) = app.get_json("/api/v1/products?per_page=5&page=2").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 584);
    assert_eq!(body["page"], 2);
    assert_eq!(body["per_page"], 5);
    let products = body["products"].as_array().unwrap();
    assert_eq!(products.len(), 5);
    for p in products {
        assert!(p["id"].as_i64().unwrap() > 0);
        assert!(p["external_id"].is_string());
        assert!(p["title"].is_string());
        assert!(p["url"].as_str().unwrap().starts_with("/p/"));
        assert!(p["price_from"]["amount"].is_i64());
        assert_eq!(p["price_from"]["currency"], "USD");
    }
    // The url is a page that exists.
    let url = products[0]["url"].as_str().unwrap();
    assert_eq!(app.get(url).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_can_be_filtered_by_category() {
    let app = spawn_checked_app().await;
    let (status, body) = app
        .get_json("/api/v1/products?category=furniture/bedroom-furniture&per_page=100")
        .await;
    assert_eq!(status, 200);
    let total = body["total"].as_u64().unwrap();
    assert!(total > 0 && total < 584);
    let (_, categories) = app.get_json("/api/v1/categories").await;
    let bedroom = categories["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "furniture/bedroom-furniture")
        .unwrap();
    assert_eq!(bedroom["product_count"].as_u64().unwrap(), total);

    let (status, body) = app
        .get_json("/api/v1/products?category=no-such-thing")
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_has_variants_with_prices_and_live_availability() {
    let app = spawn_checked_app().await;
    let (_, list) = app.get_json("/api/v1/products?category=furniture/bedroom-furniture/beds-and-headboards/beds&per_page=100").await;
    let bed = list["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_id"] == "13")
        .unwrap();
    let (status, body) = app
        .get_json(&format!("/api/v1/products/{}", bed["id"]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["title"], "King Tufted Low Profile Standard Bed");
    let variants = body["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    assert_eq!(variants[2]["sku"], "WANDS-13-QUEEN");
    assert_eq!(variants[2]["options"]["Size"], "Queen");
    assert!(
        variants[2]["price"]["amount"].as_i64().unwrap()
            > variants[0]["price"]["amount"].as_i64().unwrap()
    );

    // `available` is the live stock: change the stock row and the API follows.
    let sku = variants[2]["sku"].as_str().unwrap();
    crate::common::set_available(&app.scratch.db, sku, 0).await;
    let (_, after) = app
        .get_json(&format!("/api/v1/products/{}", bed["id"]))
        .await;
    assert_eq!(after["variants"][2]["available"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_with_a_json_error() {
    let app = spawn_checked_app().await;
    for path in [
        "/api/v1/products/abc",
        "/api/v1/products/-1",
        "/api/v1/products/0",
        "/api/v1/products/1e3",
        "/api/v1/products/99999999999999999999999",
        "/api/v1/products?page=abc",
        "/api/v1/products?page=0",
        "/api/v1/products?per_page=101",
        "/api/v1/products?sort=sideways",
        "/api/v1/products?category=../../etc",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["error"], "bad_request", "{path}");
        assert!(body["message"].as_str().unwrap().len() > 5, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_is_refused_at_the_door_naming_its_field() {
    let app = spawn_checked_app().await;
    // `+5` parses as an integer but is no id as the shop writes them; it must not reach the
    // catalog as product 5.
    for path in [
        "/api/v1/products/0",
        "/api/v1/products/-4",
        "/api/v1/products/+5",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"], "bad_request", "{path}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("id: must be a positive whole number"),
            "{path}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things_get_404_with_a_json_error() {
    let app = spawn_checked_app().await;
    for path in [
        "/api/v1/products/999999",
        "/api/v1/nothing-here",
        "/api/v1/products/1/extra",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "not_found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_report_each_component() {
    let app = spawn_checked_app().await;
    let (status, text) = app.get_text("/healthz").await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "up");
    assert_eq!(body["components"]["database"]["status"], "up");
    assert_eq!(body["components"]["search"]["status"], "up");
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("emporium_search_index_ready 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("emporium_search_documents 584"),
        "{metrics}"
    );

    // With the database gone the node says so, with a 503, instead of hanging or crashing.
    app.scratch.db.close().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["components"]["database"]["status"], "down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_hits_with_live_stock_and_facets() {
    let app = spawn_checked_app().await;
    let (status, body) = app
        .get_json("/api/v1/search?q=wall+clock&per_page=5&sort=relevance")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["total"].as_u64().unwrap() >= 5);
    assert_eq!(body["per_page"], 5);
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5);
    for h in hits {
        assert!(h["product_id"].as_i64().unwrap() > 0);
        assert!(h["external_id"].is_string());
        assert!(h["price"]["amount"].is_i64());
        assert!(h["available"].is_i64());
        assert!(h["url"].as_str().unwrap().starts_with("/p/"));
    }
    assert!(hits[0]["title_html"].as_str().unwrap().contains("<b>"));
    let facets = &body["facets"];
    assert!(!facets["categories"].as_array().unwrap().is_empty());
    assert!(!facets["price_bands"].as_array().unwrap().is_empty());
    assert_eq!(body["degraded"], false);

    // Filters narrow; a price range keeps to its bounds.
    let (_, cheap) = app
        .get_json("/api/v1/search?q=wall+clock&max_price=60&in_stock=true")
        .await;
    for h in cheap["hits"].as_array().unwrap() {
        assert!(h["price"]["amount"].as_i64().unwrap() <= 6099);
        assert!(h["available"].as_i64().unwrap() > 0);
    }
    // Price ascending is ascending.
    let (_, sorted) = app
        .get_json("/api/v1/search?q=clock&sort=price_asc&per_page=50")
        .await;
    let prices: Vec<i64> = sorted["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["available"].as_i64().unwrap() > 0)
        .map(|h| h["price"]["amount"].as_i64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_refuses_bad_filters_and_survives_hostile_words() {
    let app = spawn_checked_app().await;
    for bad in [
        "min_price=-1",
        "max_price=abc",
        "sort=sideways",
        "page=0",
        "per_page=100000",
        "in_stock=maybe",
        "category=../../etc",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/search?q=bed&{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request");
    }
    let long = "bed ".repeat(2000);
    for q in [
        "%22%22%22",
        "title%3A(x)+AND+*",
        "%2A%3F%7E%5E%5B%5D%7B%7D",
        long.as_str(),
        "%F0%9F%9B%8F%EF%B8%8F",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/search?q={q}")).await;
        assert_eq!(status, 200, "{q:.20}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_name_products_and_categories() {
    let app = spawn_checked_app().await;
    let (status, body) = app.get_json("/api/v1/suggest?q=lapt").await;
    assert_eq!(status, 200);
    let suggestions = body["suggestions"].as_array().unwrap();
    assert!(
        suggestions
            .iter()
            .any(|s| s["kind"] == "category" && s["label"] == "Laptops")
    );
    assert!(suggestions.iter().any(|s| s["kind"] == "product"));
    for s in suggestions {
        let url = s["url"].as_str().unwrap();
        assert_eq!(app.get(url).await.status(), 200, "{url}");
    }
    let (status, body) = app.get_json("/api/v1/suggest?q=").await;
    assert_eq!(status, 200);
    assert!(body["suggestions"].as_array().unwrap().is_empty());
}

/// The public catalog answers conditional GETs: a strong ETag from the body, 304 with no body
/// while it still matches, a new tag once the product changes (here, its live stock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_answers_carry_an_etag_and_revalidate_with_304() {
    let app = spawn_checked_app().await;
    let (_, list) = app.get_json("/api/v1/products?per_page=1").await;
    let path = format!("/api/v1/products/{}", list["products"][0]["id"]);
    let first = app.get(&path).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    let body: serde_json::Value = first.json().await.unwrap();

    let conditional = |tags: String| {
        let path = path.clone();
        let app = &app;
        async move { app.get_if_none_match(&path, &tags).await }
    };
    let again = conditional(tag.clone()).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(
        conditional(format!("\"other\", {tag}")).await.status(),
        304,
        "a list of tags"
    );
    assert_eq!(conditional("\"other\"".into()).await.status(), 200);

    // The product's availability changes: the old tag no longer matches.
    let sku = body["variants"][0]["sku"].as_str().unwrap();
    sqlx::query(
        "UPDATE stock_levels SET available = available + 5, received = received + 5 \
         WHERE variant_id = (SELECT id FROM variants WHERE sku = $1)",
    )
    .bind(sku)
    .execute(app.scratch.db.pool())
    .await
    .unwrap();
    let changed = conditional(tag.clone()).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), tag);

    // Search answers too; a personal answer (a cart) is never tagged.
    assert!(
        app.get("/api/v1/search?q=bed")
            .await
            .headers()
            .contains_key("etag")
    );
    let cart = new_cart(&app).await;
    let cart = app.get(&format!("/api/v1/carts/{cart}")).await;
    assert_eq!(cart.status(), 200);
    assert!(!cart.headers().contains_key("etag"));
}
