//! Pictures end to end: the seller upload API (keys, ownership, hostile uploads), `/assets/…`
//! serving and caching, pages with responsive `<img>`s, the S3 path against a real
//! S3-compatible server, and pages showing only the pictures the node holds while that server
//! is killed or black-holed, with every picture back once it returns.

use crate::images;

use crate::common::s3::{self, S3Server};
use crate::common::{JsonApi, TestApp, json_of, new_cart, spawn_app, spawn_app_with, wait_for};
use serde_json::Value;
use shop::catalog::{ProductId, SellerId};

const BED: &str = "king-tufted-low-profile-standard-bed";

/// The product's id and seller.
async fn product(app: &TestApp, slug: &str) -> (ProductId, SellerId, String) {
    let (id, seller, seller_slug): (i64, i64, String) = sqlx::query_as(
        "SELECT p.id, p.seller_id, s.slug FROM products p JOIN sellers s ON s.id = p.seller_id \
         WHERE p.slug = $1",
    )
    .bind(slug)
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap();
    (ProductId::new(id), SellerId::new(seller), seller_slug)
}

async fn another_seller(app: &TestApp, not: SellerId) -> String {
    sqlx::query_scalar("SELECT slug FROM sellers WHERE id <> $1 ORDER BY id LIMIT 1")
        .bind(not.get())
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap()
}

async fn key_for(app: &TestApp, seller_slug: &str) -> String {
    app.state
        .services
        .api_keys
        .issue(seller_slug, "test")
        .await
        .unwrap()
        .1
}

fn multipart(file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----emporium-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\nFront view\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{file_name}\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    app: &TestApp,
    key: Option<&str>,
    product: &str,
    file_name: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let (content_type, body) = multipart(file_name, bytes);
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/seller/products/{product}/images")))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn stored_files(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| {
                        let path = e.unwrap().path();
                        if path.is_dir() { walk(&path) } else { 1 }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&app.assets_dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_uploads_and_shoppers_see_responsive_pictures() {
    let app = spawn_app().await;
    let (id, _, seller) = product(&app, BED).await;
    let key = key_for(&app, &seller).await;
    let photo = images::jpeg(&images::photo(1600, 1200));
    let (status, image) = upload(&app, Some(&key), &id.to_string(), "bed.jpg", &photo).await;
    assert_eq!(status, 201, "{image}");
    assert_eq!(image["status"], "live");
    assert_eq!(image["alt"], "Front view");
    assert_eq!(image["quality"]["tier"], "zoom");
    let base = image["picture"]["base"].as_str().unwrap().to_owned();

    // The product page shows it: sized, with a srcset, not lazy (it is the main picture).
    let (status, html) = app.get_text(&format!("/p/{BED}")).await;
    assert_eq!(status, 200);
    let img = html
        .split("<img")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("an <img> on the product page");
    assert!(img.contains(&format!("src=\"{base}/zoom.jpg\"")), "{img}");
    assert!(
        img.contains("width=\"1600\"") && img.contains("height=\"1200\""),
        "{img}"
    );
    assert!(
        img.contains("srcset=") && img.contains("loading=\"eager\""),
        "{img}"
    );
    assert!(img.contains("alt=\"Front view\""), "{img}");
    assert!(!html.contains("data-testid=\"images-note\""));

    // Listings show the card variant, lazily below the first row.
    let (_, results) = app.get_text("/search?q=tufted+bed").await;
    assert!(results.contains(&format!("{base}/card.jpg")));

    // /assets serves each variant with immutable caching and an ETag, and revalidates.
    let response = app.get(&format!("{base}/card.jpg")).await;
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let etag = h["etag"].to_str().unwrap().to_owned();
    let card = response.bytes().await.unwrap();
    let decoded = image::load_from_memory(&card).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (480, 360));
    let again = app
        .client
        .get(app.url(&format!("{base}/card.jpg")))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // The seller lists it; removing takes it off the page and off /assets.
    let list = json_of(
        app.client
            .get(app.url(&format!("/api/v1/seller/products/{id}/images")))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let removed = app
        .client
        .delete(app.url(&format!(
            "/api/v1/seller/products/{id}/images/{}",
            image["id"]
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let (_, html) = app.get_text(&format!("/p/{BED}")).await;
    assert!(
        !html.contains("/assets/s/"),
        "removed pictures are not shown"
    );
    // (The shared cache of "is this shown" is per node and short-lived; this node cleared it.)
    assert_eq!(app.get(&format!("{base}/card.jpg")).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_probing_for_picture_hashes_is_refused_and_shown_pictures_still_load() {
    let app = spawn_app_with(|s| s.http.rate_limits = true).await;
    let (id, seller_id, seller) = product(&app, BED).await;
    let key = key_for(&app, &seller).await;
    let photo = images::jpeg(&images::photo(1600, 1200));
    let (status, image) = upload(&app, Some(&key), &id.to_string(), "bed.jpg", &photo).await;
    assert_eq!(
        (status, image["status"].as_str()),
        (201, Some("live")),
        "{image}"
    );
    let shown = format!("{}/card.jpg", image["picture"]["base"].as_str().unwrap());
    assert_eq!(app.get(&shown).await.status(), 200);

    // Hashes nobody uploaded: each would cost the database a query. Past the miss budget (a burst of
    // 30), the client is told to wait instead.
    let mut misses = 0;
    let refused = loop {
        // A new, well-formed hash each time (no cache has seen it).
        let hash = format!("{:064x}", 0xdead_beef_0000_u64 + misses);
        let response = app
            .get(&format!("/assets/s/{seller_id}/{hash}/card.jpg"))
            .await;
        match response.status().as_u16() {
            404 => misses += 1,
            429 => break response,
            other => panic!("a random hash answered {other}"),
        }
        assert!(misses <= 100, "100 unknown hashes and still no refusal");
    };
    assert!(misses >= 30, "refused after only {misses} misses");
    assert!(refused.headers().contains_key("retry-after"));
    // A picture the node knows it shows still loads for that client.
    assert_eq!(app.get(&shown).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_chooses_the_main_picture_and_only_their_own() {
    let app = spawn_app().await;
    let (id, seller_id, seller) = product(&app, BED).await;
    let key = key_for(&app, &seller).await;
    let mut ids = Vec::new();
    for (w, h) in [(1600, 1200), (1400, 1400)] {
        let photo = images::jpeg(&images::photo(w, h));
        let (status, image) = upload(&app, Some(&key), &id.to_string(), "bed.jpg", &photo).await;
        assert_eq!(
            (status, &image["status"]),
            (201, &Value::from("live")),
            "{image}"
        );
        ids.push(image["id"].as_i64().unwrap());
    }
    let assets = &app.state.services.assets;
    let order = |pictures: &std::collections::HashMap<ProductId, Vec<shop::assets::Picture>>| {
        pictures[&id].iter().map(|p| p.width).collect::<Vec<_>>()
    };
    assert_eq!(
        order(&assets.pictures_for(&[id]).await.unwrap()),
        vec![1600, 1400]
    );
    assets.move_first(seller_id, id, ids[1]).await.unwrap();
    assert_eq!(
        order(&assets.pictures_for(&[id]).await.unwrap()),
        vec![1400, 1600]
    );
    // Another seller cannot reorder this product's pictures: it is not theirs.
    let other = SellerId::new(seller_id.get() + 1);
    assert!(matches!(
        assets.move_first(other, id, ids[0]).await,
        Err(shop::assets::AssetError::NotFound)
    ));
    assert_eq!(
        order(&assets.pictures_for(&[id]).await.unwrap()),
        vec![1400, 1600]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_check_the_key_the_owner_and_the_file() {
    let app = spawn_app().await;
    let (id, seller_id, seller) = product(&app, BED).await;
    let other = another_seller(&app, seller_id).await;
    let key = key_for(&app, &seller).await;
    let other_key = key_for(&app, &other).await;
    let photo = images::jpeg(&images::photo(1200, 900));
    let product = id.to_string();

    // Requests refused before their body is read carry a small one: the server answers
    // without reading the rest (as it should), which would cut a large upload short.
    let (status, body) = upload(&app, None, &product, "a.jpg", b"tiny").await;
    assert_eq!(status, 401, "{body}");
    let forged = format!("emp_sk_{}", "0".repeat(64));
    assert_eq!(
        upload(&app, Some(&forged), &product, "a.jpg", b"tiny")
            .await
            .0,
        401
    );
    // Another seller's key: the product does not exist for them.
    let (status, body) = upload(&app, Some(&other_key), &product, "a.jpg", &photo).await;
    assert_eq!(status, 404, "{body}");
    // Malformed product ids.
    for bad in ["abc", "-1", "0", "1e9", "99999999999999999999", "..%2F1"] {
        let (status, _) = upload(&app, Some(&key), bad, "a.jpg", b"tiny").await;
        assert!(status == 404 || status == 400, "{bad}: {status}");
    }
    // A path in the file name.
    for name in [
        "../../etc/passwd.jpg",
        "..\\win.jpg",
        "sellers/2/images/x.jpg",
    ] {
        let (status, body) = upload(&app, Some(&key), &product, name, &photo).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(body["message"].as_str().unwrap().contains("path"), "{body}");
    }
    // Wrong magic bytes, a bomb, a truncated file: 422 with the reason.
    let html = b"<!doctype html><title>hi</title>".to_vec();
    let truncated = photo[..photo.len() / 2].to_vec();
    for (what, bytes, says) in [
        ("html named .jpg", html, "not a JPEG, PNG or WebP"),
        ("png bomb", images::png_bomb(20_000), "20000 × 20000"),
        ("truncated", truncated, "damaged or incomplete"),
    ] {
        let (status, body) = upload(&app, Some(&key), &product, "x.jpg", &bytes).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["error"], "image_refused");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{what}: {body}"
        );
    }
    // A huge body is refused before it is read in full. (On a client of its own: the server
    // closes a connection whose body it did not read, which a pooled client might reuse.)
    let huge = vec![0xFF_u8; 12 * 1024 * 1024];
    let (content_type, body) = multipart("huge.jpg", &huge);
    let refused = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/seller/products/{product}/images")))
        .bearer_auth(&key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await;
    // The 413 usually arrives; the server may also cut the upload off before the client has
    // finished writing it. Either way nothing is stored (counted below).
    match refused {
        Ok(response) => assert_eq!(response.status(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // A raw body works too, and an unknown content type is a 415.
    let raw = app
        .client
        .post(app.url(&format!("/api/v1/seller/products/{product}/images?alt=Raw")))
        .bearer_auth(&key)
        .header("Content-Type", "image/jpeg")
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 201);
    let text = app
        .client
        .post(app.url(&format!("/api/v1/seller/products/{product}/images")))
        .bearer_auth(&key)
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    // Only the one good upload was stored: its three variants.
    assert_eq!(stored_files(&app), 3);
    // Nothing about the store can be listed or reached by path games.
    let (_, seller_num, _) = product_ids(&app).await;
    for path in [
        format!("/assets/s/{seller_num}/"),
        "/assets/".into(),
        format!("/assets/s/{seller_num}/..%2F..%2Fetc/card.jpg"),
        "/assets/s/1/%2e%2e/card.jpg".into(),
        format!("/assets/s/{seller_num}/{}/card.png", "a".repeat(64)),
    ] {
        let status = app.get(&path).await.status().as_u16();
        assert_eq!(status, 404, "{path}");
    }
}

async fn product_ids(app: &TestApp) -> (ProductId, i64, String) {
    let (id, seller, slug) = product(app, BED).await;
    (id, seller.get(), slug)
}

/// `spawn_app` on the S3 server, with a fast probe and breaker.
async fn app_on(s3: &S3Server) -> TestApp {
    app_on_with(s3, |_| {}).await
}

/// `app_on`, with `more` settings on top.
async fn app_on_with(s3: &S3Server, more: impl FnOnce(&mut server::config::Settings)) -> TestApp {
    let endpoint = s3.endpoint.clone();
    spawn_app_with(|s| {
        s.assets.store = Some(format!("s3://{}/shop", s3::BUCKET));
        s.assets.s3_endpoint = Some(endpoint);
        s.assets.s3_access_key_id = Some(s3::KEY_ID.into());
        s.assets.s3_secret_access_key = Some(s3::SECRET.into());
        s.assets.s3_region = Some("us-east-1".into());
        s.assets.probe_ms = 200;
        s.assets.cool_down_ms = 500;
        more(s);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_variants_versions_and_sellers_are_kept_apart() {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let app = app_on(&s3).await;
    let (id, seller_id, seller) = product(&app, BED).await;
    let key = key_for(&app, &seller).await;
    let v1 = images::jpeg(&images::photo(1200, 900));
    let (status, first) = upload(&app, Some(&key), &id.to_string(), "v1.jpg", &v1).await;
    assert_eq!(status, 201, "{first}");
    let hash = first["hash"].as_str().unwrap();
    let prefix = format!("shop/sellers/{}/images/{hash}", seller_id.get());
    assert_eq!(
        s3.keys().await,
        ["card", "thumb", "zoom"]
            .map(|v| format!("{prefix}/{v}.jpg"))
            .to_vec()
    );
    // Replace it: the page shows v2, v1's objects stay, and v1 can be restored.
    let v2 = images::jpeg(&images::photo(1400, 1000));
    let (content_type, body) = multipart("v2.jpg", &v2);
    let replaced: Value = app
        .client
        .post(app.url(&format!(
            "/api/v1/seller/products/{id}/images?replaces={}",
            first["id"]
        )))
        .bearer_auth(&key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["status"], "live", "{replaced}");
    assert_eq!(s3.keys().await.len(), 6, "the old version is kept");
    let (_, html) = app.get_text(&format!("/p/{BED}")).await;
    assert!(html.contains(replaced["hash"].as_str().unwrap()));
    assert!(!html.contains(hash));
    let restored = app
        .client
        .post(app.url(&format!(
            "/api/v1/seller/products/{id}/images/{}/restore",
            first["id"]
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status(), 200);
    let (_, html) = app.get_text(&format!("/p/{BED}")).await;
    assert!(
        html.contains(hash),
        "restored from the store's kept objects"
    );
    let served = app
        .get(&format!(
            "{}/zoom.jpg",
            first["picture"]["base"].as_str().unwrap()
        ))
        .await;
    assert_eq!(served.status(), 200);

    // Another seller, same bytes, own product: under its own prefix, and it cannot touch ours.
    let other = another_seller(&app, seller_id).await;
    let other_key = key_for(&app, &other).await;
    let other_product: i64 = sqlx::query_scalar(
        "SELECT p.id FROM products p JOIN sellers s ON s.id = p.seller_id WHERE s.slug = $1 \
         ORDER BY p.id LIMIT 1",
    )
    .bind(&other)
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap();
    let (status, theirs) = upload(
        &app,
        Some(&other_key),
        &other_product.to_string(),
        "v1.jpg",
        &v1,
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    let their_seller = theirs["picture"]["base"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .to_owned();
    assert_ne!(their_seller, seller_id.get().to_string());
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 9);
    assert_eq!(
        keys.iter()
            .filter(|k| k.starts_with(&format!("shop/sellers/{their_seller}/")))
            .count(),
        3
    );
    let denied = app
        .client
        .delete(app.url(&format!(
            "/api/v1/seller/products/{id}/images/{}",
            first["id"]
        )))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 404);
}

/// Every page a shopper goes through, with a cart holding the bed.
async fn shopper_pages(app: &TestApp) -> Vec<String> {
    let cart_id = new_cart(app).await;
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/carts/{cart_id}/lines/WANDS-13-TWIN"),
            None,
            &serde_json::json!({ "quantity": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    vec![
        "/".into(),
        "/c/furniture".into(),
        format!("/p/{BED}"),
        "/search?q=tufted+bed".into(),
        format!("/cart#{cart_id}"),
        format!("/checkout#{cart_id}"),
    ]
}

/// Fetches a page (with the cart cookie when the path carries `#cart`), returning its
/// status and body.
async fn fetch(app: &TestApp, path: &str) -> (u16, String) {
    let (path, cart) = path
        .split_once('#')
        .map_or((path, None), |(p, c)| (p, Some(c)));
    let mut request = app.client.get(app.url(path));
    if let Some(cart) = cart {
        request = request.header("Cookie", format!("emporium_cart={cart}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, body)
}

async fn assets_status(app: &TestApp) -> String {
    let (_, ready) = app.get_json("/readyz").await;
    ready["components"]["assets"]["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Every picture address in `html` (`src` and `srcset` alike), once each.
fn picture_urls(html: &str) -> Vec<String> {
    let mut urls: Vec<String> = html
        .match_indices("/assets/s/")
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            rest.find(".jpg").map(|end| rest[..end + 4].to_owned())
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// The pages are whole, point only at pictures this node holds (each loads, from the node's
/// own copy: no placeholder), and serving them and their pictures asked nothing of the store.
async fn assert_only_held_pictures(
    app: &TestApp,
    s3: &S3Server,
    pages: &[String],
    held: &str,
    why: &str,
) {
    let mark = s3.requests_seen();
    let mut pictures = 0;
    for page in pages {
        let (status, html) = fetch(app, page).await;
        assert_eq!(status, 200, "{why}: {page}");
        assert!(
            html.contains("Tufted") || html.contains("Emporium"),
            "{why}: {page} has its text"
        );
        for url in picture_urls(&html) {
            let response = app.get(&url).await;
            assert_eq!(response.status(), 200, "{why}: {url} on {page}");
            assert!(
                response.headers().get(PLACEHOLDER).is_none(),
                "{why}: {url} on {page} is a placeholder, not the picture"
            );
            pictures += 1;
        }
    }
    assert!(pictures > 0, "{why}: the held pictures are still shown");
    // The breaker's probe keeps asking, on its own schedule; nothing else may.
    let asked: Vec<String> = s3
        .requests_since(mark)
        .into_iter()
        .filter(|line| !line.starts_with("HEAD /emporium-test/shop/health/probe "))
        .collect();
    assert!(
        asked.is_empty(),
        "{why}: serving the pages asked the store: {asked:?}"
    );
    let (_, product) = fetch(app, &format!("/p/{BED}")).await;
    assert!(product.contains(held), "{why}: the bed's picture is held");
    assert!(
        crate::common::without_hydration_markers(&product)
            .contains("<h1>King Tufted Low Profile Standard Bed</h1>")
    );
    assert!(
        product.contains("Add to cart"),
        "{why}: the buy button stays"
    );
}

const PLACEHOLDER: &str = "x-emporium-placeholder";

/// A picture this node never served, asked for while the store fails: the first failed read
/// flips the node at once (no probe runs in these tests), and the answer is a neutral,
/// never-kept placeholder instead of a broken image.
async fn first_failed_read(app: &TestApp, unseen: &str, why: &str) {
    assert_eq!(assets_status(app).await, "up", "{why}: before");
    let response = app.get(unseen).await;
    assert_eq!(response.status(), 200, "{why}");
    assert_eq!(
        response
            .headers()
            .get(PLACEHOLDER)
            .map(|v| v.to_str().unwrap()),
        Some("store-unavailable"),
        "{why}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store", "{why}");
    assert_eq!(
        assets_status(app).await,
        "degraded",
        "{why}: one failed read switched the node"
    );
}

/// Asks for `picture` until the store answers it (the cool-down over, a read closes the
/// breaker again): no probe runs in these tests.
async fn until_the_store_answers(app: &TestApp, picture: &str) {
    wait_for("pictures to return", async || {
        let response = app.get(picture).await;
        response.status() == 200 && response.headers().get(PLACEHOLDER).is_none()
    })
    .await;
    assert_eq!(assets_status(app).await, "up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_or_silent_store_costs_only_the_pictures_not_held() {
    let Some(mut s3) = S3Server::start().await else {
        return;
    };
    let app = app_on_with(&s3, |s| s.assets.probe_ms = 3_600_000).await;
    let (id, seller, _) = product(&app, BED).await;
    let upload = |product: ProductId, width: u32| {
        let assets = app.state.services.assets.clone();
        async move {
            assets
                .upload(
                    seller,
                    product,
                    images::jpeg(&images::photo(width, 900)),
                    Default::default(),
                )
                .await
                .unwrap()
        }
    };
    let image = upload(id, 1200).await;
    let other: i64 = sqlx::query_scalar(
        "SELECT id FROM products WHERE seller_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
    )
    .bind(seller.get())
    .bind(id.get())
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap();
    let unseen = upload(ProductId::new(other), 1300).await;
    let pages = shopper_pages(&app).await;
    let (_, html) = fetch(&app, &format!("/p/{BED}")).await;
    assert!(html.contains(&image.hash), "healthy: the picture is shown");
    let (_, cart) = fetch(&app, &pages[4]).await;
    assert!(
        cart.contains(&format!("{}/thumb.jpg", image.picture.base)),
        "healthy: the cart line has its thumbnail"
    );
    // A shopper sees the bed's picture in every size: this node keeps a copy.
    for variant in ["thumb", "card", "zoom"] {
        let url = format!("{}/{variant}.jpg", image.picture.base);
        assert_eq!(app.get(&url).await.status(), 200, "{url}");
    }
    assert_eq!(assets_status(&app).await, "up");

    // 1. The store's process is killed.
    s3.kill().await;
    let unseen_url = |variant: &str| format!("{}/{variant}.jpg", unseen.picture.base);
    first_failed_read(&app, &unseen_url("card"), "killed").await;
    assert_only_held_pictures(&app, &s3, &pages, &image.hash, "killed").await;
    let (_, ready) = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "degraded", "the node stays ready: {ready}");

    // It comes back: pictures return without a restart of the shop.
    s3.restart().await;
    until_the_store_answers(&app, &unseen_url("card")).await;
    let (_, html) = fetch(&app, &format!("/p/{BED}")).await;
    assert!(html.contains(&image.hash));

    // 2. The store accepts connections and never answers.
    s3.black_hole(true);
    first_failed_read(&app, &unseen_url("zoom"), "black-holed").await;
    assert_only_held_pictures(&app, &s3, &pages, &image.hash, "black-holed").await;
    s3.black_hole(false);
    until_the_store_answers(&app, &unseen_url("thumb")).await;

    let (_, metrics) = app.get_text("/metrics").await;
    let opened = metrics
        .lines()
        .find(|l| l.starts_with("emporium_asset_breaker_transitions_total{to=\"open\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap();
    assert!(opened >= 2, "{metrics}");
}
