//! Seller feeds against a real database and a real (local) HTTP server: rows apply or are
//! reported one by one, the same feed twice changes nothing, and every kind of picture URL
//! ends as documented (stored; retried then stored; needs review with its reason; refused)
//! without holding up the feed or the other pictures.

use crate::images;

use crate::common::imported_shop_with_assets;
use shop::assets::Assets;
use shop::catalog::{Catalog, SellerId};
use shop::clock::{Clock, ManualClock, SystemClock};
use shop::db::scratch::ScratchDb;
use shop::feeds::fetch::{Fetcher, Limits};
use shop::feeds::guard::Policy;
use shop::feeds::worker::{PoolConfig, run_pictures};
use shop::feeds::{FeedView, Feeds, FetchStatus, QueueConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) struct Rig {
    pub(crate) scratch: ScratchDb,
    pub(crate) feeds: Feeds,
    assets: Assets,
    pub(crate) seller: SellerId,
    slug: String,
    pub(crate) category: String,
    _dir: tempfile::TempDir,
}

pub(crate) async fn rig() -> Rig {
    let (scratch, assets, dir) = imported_shop_with_assets().await;
    let catalog = Catalog::new(scratch.db.clone());
    let (seller, slug): (i64, String) =
        sqlx::query_as("SELECT id, slug FROM sellers ORDER BY id LIMIT 1")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    // A category path as a seller would write it.
    let categories = catalog.categories().await.unwrap();
    let leaf = categories.iter().find(|c| c.parent_id.is_some()).unwrap();
    let parent = categories
        .iter()
        .find(|c| Some(c.id) == leaf.parent_id)
        .unwrap();
    let category = format!("{} > {}", parent.name, leaf.name);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let feeds = Feeds::new(
        scratch.db.clone(),
        catalog,
        clock,
        QueueConfig {
            max_retries: 3,
            backoff: Duration::from_millis(40),
            lease: Duration::from_secs(30),
            ..QueueConfig::default()
        },
    );
    Rig {
        scratch,
        feeds,
        assets,
        seller: SellerId::new(seller),
        slug,
        category,
        _dir: dir,
    }
}

/// A picture server with every behaviour a seller's server has been seen to have.
pub(crate) struct PictureServer {
    pub(crate) base: String,
    /// The most requests the server was ever answering at once.
    peak: Arc<AtomicUsize>,
    flaky_hits: Arc<AtomicUsize>,
    hang_hits: Arc<AtomicUsize>,
    missing_hits: Arc<AtomicUsize>,
}

pub(crate) async fn picture_server() -> PictureServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let good = images::jpeg(&images::photo(900, 700));
    let other = images::encode(&images::photo(800, 800), image::ImageFormat::Png);
    let flaky_hits = Arc::new(AtomicUsize::new(0));
    let hang_hits = Arc::new(AtomicUsize::new(0));
    let missing_hits = Arc::new(AtomicUsize::new(0));
    let (flaky, hang, missing) = (flaky_hits.clone(), hang_hits.clone(), missing_hits.clone());
    let peak = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak_seen = peak.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (good, other) = (good.clone(), other.clone());
            let (flaky, hang, missing) = (flaky.clone(), hang.clone(), missing.clone());
            let (in_flight, peak) = (in_flight.clone(), peak_seen.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                // A request counts as in flight from its arrival until its answer starts, so
                // the fetcher cannot have moved on to its next request before the count
                // drops. Not the hanging one: its end is the fetcher giving up, which this
                // side sees only after the fetcher has already freed its place.
                let busy = (path != "/hang.jpg").then(|| {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    Finally(in_flight)
                });
                let respond = |status: &str, headers: &str, body: &[u8]| {
                    let mut out = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
                        body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(body);
                    out
                };
                let reply = match path.as_str() {
                    "/good.jpg" => respond("200 OK", "Content-Type: image/jpeg\r\n", &good),
                    "/slow.png" => {
                        // A slow server, not a wait for a state: the answer comes well inside
                        // the fetcher's timeout, and the picture must be stored all the same.
                        tokio::time::sleep(Duration::from_millis(400)).await;
                        respond("200 OK", "Content-Type: image/png\r\n", &other)
                    }
                    "/hang.jpg" => {
                        hang.fetch_add(1, Ordering::SeqCst);
                        // Never answers; the request ends when the client gives up.
                        let mut rest = [0u8; 64];
                        while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
                        return;
                    }
                    "/flaky.jpg" => {
                        if flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                            respond("500 Internal Server Error", "", b"try later")
                        } else {
                            let mut bytes = good.clone();
                            // Different bytes from good.jpg: a picture of its own.
                            bytes.extend_from_slice(b"\0flaky");
                            respond("200 OK", "Content-Type: image/jpeg\r\n", &bytes)
                        }
                    }
                    "/missing.jpg" => {
                        missing.fetch_add(1, Ordering::SeqCst);
                        respond("404 Not Found", "", b"no such picture")
                    }
                    "/to-private.jpg" => respond(
                        "302 Found",
                        "Location: http://169.254.169.254/latest/meta-data/\r\n",
                        b"",
                    ),
                    "/to-private-v6.jpg" => respond(
                        "301 Moved",
                        "Location: http://[::ffff:10.0.0.1]/x.jpg\r\n",
                        b"",
                    ),
                    p if p.starts_with("/loop") => {
                        let n: u32 = p.trim_start_matches("/loop").parse().unwrap_or(0);
                        respond("302 Found", &format!("Location: /loop{}\r\n", n + 1), b"")
                    }
                    "/huge.jpg" => {
                        drop(busy);
                        // An endless body without a length: 1 GB if nobody stops reading.
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n";
                        if socket.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![0xFFu8; 64 * 1024];
                        for _ in 0..(1024 * 1024 * 1024 / chunk.len()) {
                            if socket.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    "/page.jpg" => respond(
                        "200 OK",
                        "Content-Type: image/jpeg\r\n",
                        b"<!doctype html><html><body>Not a picture</body></html>",
                    ),
                    _ => respond("404 Not Found", "", b""),
                };
                drop(busy);
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    PictureServer {
        base,
        peak,
        flaky_hits,
        hang_hits,
        missing_hits,
    }
}

/// Counts a request as finished when its task ends, however it ends.
struct Finally(Arc<AtomicUsize>);

impl Drop for Finally {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn test_fetcher() -> Fetcher {
    Fetcher::new(
        Policy {
            allow_loopback: true,
            ..Policy::default()
        },
        Limits {
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_millis(1500),
            ..Limits::default()
        },
    )
    .unwrap()
}

async fn process(feeds: &Feeds) {
    while feeds.process_next().await.unwrap() {}
}

async fn feed(rig: &Rig, id: i64) -> FeedView {
    rig.feeds.view(Some(rig.seller), id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_picture_url_ends_as_documented_and_none_blocks_the_rest() {
    let rig = rig().await;
    let server = picture_server().await;
    let base = &server.base;
    let cases = [
        ("good", format!("{base}/good.jpg")),
        ("slow", format!("{base}/slow.png")),
        ("hang", format!("{base}/hang.jpg")),
        ("flaky", format!("{base}/flaky.jpg")),
        ("missing", format!("{base}/missing.jpg")),
        ("private", format!("{base}/to-private.jpg")),
        ("private6", format!("{base}/to-private-v6.jpg")),
        ("loop", format!("{base}/loop0")),
        ("huge", format!("{base}/huge.jpg")),
        ("page", format!("{base}/page.jpg")),
        (
            "metadata",
            "http://169.254.169.254/latest/meta-data/".to_owned(),
        ),
        ("file", "file:///etc/passwd".to_owned()),
        (
            "creds",
            format!(
                "http://user:secret@{}/good.jpg",
                base.trim_start_matches("http://")
            ),
        ),
    ];
    let mut csv = String::from("product_key,sku,price,title,description,category,image_urls\n");
    for (key, url) in &cases {
        csv.push_str(&format!(
            "{key},FEED-{key},12.50,Feed {key},A product with the {key} picture,\"{}\",{url}\n",
            rig.category
        ));
    }
    let id = rig
        .feeds
        .submit(rig.seller, "pictures.csv", csv.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let view = feed(&rig, id).await;
    assert_eq!(view.status, "done");
    assert_eq!(view.created as usize, cases.len(), "{:?}", view.errors);
    assert!(view.errors.is_empty(), "{:?}", view.errors);
    // The products are listed already, text-only, before any picture is fetched.
    let listed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM products WHERE source = 'feed' AND seller_id = $1",
    )
    .bind(rig.seller.get())
    .fetch_one(rig.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(listed as usize, cases.len());

    let pool = tokio::spawn(run_pictures(
        rig.feeds.clone(),
        test_fetcher(),
        rig.assets.clone(),
        PoolConfig {
            workers: 4,
            per_host: 2,
            host_interval: Duration::from_millis(10),
            poll: Duration::from_millis(20),
        },
    ));
    // The good picture is stored while the hanging one is still being waited for.
    let started = Instant::now();
    let status_of = |view: &FeedView, key: &str| {
        let url = &cases.iter().find(|(k, _)| *k == key).unwrap().1;
        view.fetches
            .iter()
            .find(|f| &f.url == url)
            .cloned()
            .unwrap()
    };
    loop {
        let view = feed(&rig, id).await;
        if status_of(&view, "good").status == FetchStatus::Stored {
            assert_eq!(status_of(&view, "hang").status, FetchStatus::Queued);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "good.jpg never stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Then everything settles: the hanging one after its timeout and three retries.
    let view = loop {
        let view = feed(&rig, id).await;
        if view.fetches.iter().all(|f| f.status != FetchStatus::Queued) {
            break view;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "still queued: {:?}",
            view.fetches
                .iter()
                .filter(|f| f.status == FetchStatus::Queued)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    pool.abort();
    let outcome: HashMap<&str, (FetchStatus, String, i64)> = cases
        .iter()
        .map(|(key, _)| {
            let f = status_of(&view, key);
            let code = f
                .reason
                .as_deref()
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("")
                .to_owned();
            (*key, (f.status, code, f.attempts))
        })
        .collect();
    let expect = |key: &str, status: FetchStatus, code: &str| {
        let (s, c, _) = &outcome[key];
        assert_eq!((s, c.as_str()), (&status, code), "{key}: {outcome:?}");
    };
    expect("good", FetchStatus::Stored, "");
    expect("slow", FetchStatus::Stored, "");
    expect("flaky", FetchStatus::Stored, "");
    assert_eq!(outcome["flaky"].2, 3, "two 500s, then stored");
    expect("hang", FetchStatus::NeedsReview, "timeout");
    assert_eq!(outcome["hang"].2, 4, "the first try and three retries");
    assert_eq!(server.hang_hits.load(Ordering::SeqCst), 4);
    expect("missing", FetchStatus::NeedsReview, "http_404");
    assert_eq!(
        server.missing_hits.load(Ordering::SeqCst),
        1,
        "a 404 is never retried"
    );
    expect("private", FetchStatus::Refused, "private_address");
    expect("private6", FetchStatus::Refused, "private_address");
    expect("loop", FetchStatus::NeedsReview, "too_many_redirects");
    expect("huge", FetchStatus::NeedsReview, "too_large");
    expect("page", FetchStatus::NeedsReview, "not_an_image");
    expect("metadata", FetchStatus::Refused, "private_address");
    expect("file", FetchStatus::Refused, "bad_scheme");
    expect("creds", FetchStatus::Refused, "credentials_in_url");
    assert!(server.flaky_hits.load(Ordering::SeqCst) >= 3);
    // All of these live on one host: never more than two requests to it at once.
    assert!(
        server.peak.load(Ordering::SeqCst) <= 2,
        "peak {}",
        server.peak.load(Ordering::SeqCst)
    );
    // Stored pictures are the products' pictures.
    let images: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM product_images i JOIN products p ON p.id = i.product_id \
         WHERE p.source = 'feed' AND p.seller_id = $1",
    )
    .bind(rig.seller.get())
    .fetch_one(rig.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(images, 3);
    // The seller can put a failed one back in the queue.
    let missing = status_of(&view, "missing");
    rig.feeds.retry(rig.seller, missing.id).await.unwrap();
    let other = SellerId::new(rig.seller.get() + 1);
    assert!(
        rig.feeds.retry(other, missing.id).await.is_err(),
        "not another seller"
    );
    let stats = rig.feeds.stats().await.unwrap();
    assert_eq!(stats.queued, 1);
}

#[tokio::test]
async fn rows_are_checked_one_by_one_and_the_same_feed_twice_changes_nothing() {
    let rig = rig().await;
    let c = &rig.category;
    let csv = format!(
        "product_key,sku,price,title,description,category,options,stock,image_urls\n\
         lamp,LAMP-S,19.99,Desk lamp,A small desk lamp,\"{c}\",Size: Small,5,\n\
         lamp,LAMP-L,29.99,,,,Size: Large,3,\n\
         lamp,LAMP-X,-4,,,,Size: Huge,,\n\
         chair,CHAIR-1,abc,Chair,A chair,\"{c}\",,,\n\
         chair,CHAIR-2,45.00,,,,,,\n\
         nocat,NOCAT-1,10.00,No category,Somewhere,Nowhere > Else,,,\n\
         ,ORPHAN,1.00,Orphan,No key,\"{c}\",,,\n\
         bad,bad sku!,1.00,Bad,Bad SKU,\"{c}\",,,\n\
         dup,LAMP-S,1.00,Dup,Duplicate SKU,\"{c}\",,,\n\
         opts,OPTS-1,1.00,Options,Bad options,\"{c}\",justtext,,\n\
         stock,STOCK-1,1.00,Stock,Bad stock,\"{c}\",,-3,\n"
    );
    let id = rig
        .feeds
        .submit(rig.seller, "catalog.csv", csv.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let view = feed(&rig, id).await;
    assert_eq!(view.status, "done");
    assert_eq!(view.rows_total, 11);
    assert_eq!(view.rows_done, 11);
    let issues: Vec<(usize, &str)> = view
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(
        issues,
        vec![
            (4, "price"),
            (5, "price"),
            (7, "category"),
            (8, "product_key"),
            (9, "sku"),
            (10, "sku"),
            (11, "options"),
            (12, "stock"),
        ],
        "{:#?}",
        view.errors
    );
    // The lamp (two good variants) and the chair (its good variant) are in.
    assert_eq!(view.created, 2, "{view:?}");
    let skus: Vec<String> = sqlx::query_scalar(
        "SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE p.source = 'feed' ORDER BY v.sku",
    )
    .fetch_all(rig.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(skus, ["CHAIR-2", "LAMP-L", "LAMP-S"]);
    let options: String = sqlx::query_scalar("SELECT options FROM variants WHERE sku = 'LAMP-S'")
        .fetch_one(rig.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&options).unwrap(),
        serde_json::json!([{ "name": "Size", "value": "Small" }]),
        "`Size: Small` is the option named Size with the value Small"
    );
    let stock: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(s.available) AS BIGINT) FROM stock_levels s \
         JOIN variants v ON v.id = s.variant_id \
         WHERE v.sku IN ('LAMP-S', 'LAMP-L')",
    )
    .fetch_one(rig.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(stock, 8);

    // Once more: nothing changes.
    let again = rig
        .feeds
        .submit(rig.seller, "catalog.csv", csv.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let view = feed(&rig, again).await;
    assert_eq!((view.created, view.updated, view.unchanged), (0, 0, 2));
    assert_eq!(view.errors.len(), 8);

    // The same products in JSON, one price changed: one update.
    let json = format!(
        r#"[{{"product_key":"lamp","sku":"LAMP-S","price":"21.99","title":"Desk lamp",
             "description":"A small desk lamp","category":"{c}","options":"Size: Small","stock":5}},
            {{"product_key":"lamp","sku":"LAMP-L","price":29.99,"options":"Size: Large","stock":3}},
            {{"product_key":"chair","sku":"CHAIR-2","price":"45.00","title":"Chair",
             "description":"A chair","category":"{c}"}},
            "not an object"]"#
    );
    let id = rig
        .feeds
        .submit(rig.seller, "catalog.json", json.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let view = feed(&rig, id).await;
    assert_eq!(view.format, "json");
    assert_eq!(
        (view.created, view.updated, view.unchanged),
        (0, 1, 1),
        "{view:?}"
    );
    assert_eq!(view.errors.len(), 1, "{:?}", view.errors);
    assert_eq!(view.errors[0].line, 4);
}

#[tokio::test]
async fn a_feed_that_is_not_a_feed_fails_as_a_whole_and_writes_nothing() {
    let rig = rig().await;
    let before = crate::common::count(&rig.scratch.db, "products").await;
    for (name, body) in [
        ("notes.csv", "just,some,words\n1,2,3\n"),
        ("broken.json", "[{\"product_key\": "),
        ("object.json", "{\"products\": []}"),
    ] {
        let id = rig
            .feeds
            .submit(rig.seller, name, body.as_bytes())
            .await
            .unwrap();
        process(&rig.feeds).await;
        let view = feed(&rig, id).await;
        assert_eq!(view.status, "failed", "{name}");
        assert!(view.failure.is_some(), "{name}");
    }
    assert_eq!(
        crate::common::count(&rig.scratch.db, "products").await,
        before
    );
    // Not text, too big, empty: refused at the door.
    assert!(
        rig.feeds
            .submit(rig.seller, "x.csv", &[0xff, 0xfe, 0x00])
            .await
            .is_err()
    );
    assert!(
        rig.feeds
            .submit(rig.seller, "x.csv", b"  \n")
            .await
            .is_err()
    );
    let big = vec![b'a'; shop::feeds::parse::MAX_FEED_BYTES + 1];
    assert!(rig.feeds.submit(rig.seller, "x.csv", &big).await.is_err());
    // Another seller's feed is not found.
    let id = rig
        .feeds
        .submit(rig.seller, "mine.csv", b"product_key,sku,price\n")
        .await
        .unwrap();
    let other = SellerId::new(rig.seller.get() + 1);
    assert!(rig.feeds.view(Some(other), id).await.is_err());
    let _ = rig.slug.len();
}

/// Prices are never converted: a feed that says it is in another currency is refused whole
/// with the reason, one in the shop's own applies, and a price written with its currency
/// sign is refused on its row with what to write instead.
#[tokio::test]
async fn a_feed_in_another_currency_is_refused_with_the_reason() {
    let rig = rig().await;
    let c = &rig.category;
    let before = crate::common::count(&rig.scratch.db, "products").await;
    let euros = format!(
        "product_key,sku,price,currency,title,description,category\n\
         vase,VASE-1,12.99,EUR,Vase,A vase,\"{c}\"\n"
    );
    let id = rig
        .feeds
        .submit(rig.seller, "euros.csv", euros.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let view = feed(&rig, id).await;
    assert_eq!(view.status, "failed", "{view:?}");
    let failure = view.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("in EUR") && failure.contains("sells in USD"),
        "{failure}"
    );
    assert_eq!(
        crate::common::count(&rig.scratch.db, "products").await,
        before
    );

    let dollars = format!(
        "product_key,sku,price,currency,title,description,category\n\
         vase,VASE-1,12.99,usd,Vase,A vase,\"{c}\"\n\
         jug,JUG-1,€8.50,,Jug,A jug,\"{c}\"\n"
    );
    let id = rig
        .feeds
        .submit(rig.seller, "dollars.csv", dollars.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let view = feed(&rig, id).await;
    assert_eq!(view.status, "done", "{view:?}");
    assert_eq!(view.created, 1, "{view:?}");
    let issue = view.errors.first().expect("the jug's price is refused");
    assert_eq!((issue.line, issue.column.as_str()), (3, "price"));
    assert!(
        issue.reason.contains("plain number in USD"),
        "{}",
        issue.reason
    );
}

#[tokio::test]
async fn several_nodes_taking_fetches_never_take_the_same_one() {
    let rig = rig().await;
    let mut csv = String::from("product_key,sku,price,title,description,category,image_urls\n");
    for n in 0..30 {
        csv.push_str(&format!(
            "p{n},MANY-{n},5.00,Item {n},Item number {n},\"{}\",http://host{}.example/{n}.jpg\n",
            rig.category,
            n % 3
        ));
    }
    rig.feeds
        .submit(rig.seller, "many.csv", csv.as_bytes())
        .await
        .unwrap();
    process(&rig.feeds).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let feeds = rig.feeds.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..20 {
                for job in feeds.take(5, &[]).await.unwrap() {
                    mine.push(job.id);
                }
            }
            mine
        });
    }
    let mut all = Vec::new();
    while let Some(ids) = tasks.join_next().await {
        all.extend(ids.unwrap());
    }
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "a fetch was taken twice");
    assert_eq!(total, 30);
}

#[tokio::test]
async fn outside_tests_a_name_for_this_machine_is_refused_even_when_something_listens() {
    let server = picture_server().await;
    let port = server.base.rsplit(':').next().unwrap();
    let production = Fetcher::new(Policy::default(), Limits::default()).unwrap();
    for url in [
        format!("http://localhost:{port}/good.jpg"),
        format!("http://127.0.0.1:{port}/good.jpg"),
        format!("http://[::1]:{port}/good.jpg"),
        format!("http://2130706433:{port}/good.jpg"),
    ] {
        let refused = production.fetch(&url).await.unwrap_err();
        assert_eq!(refused.code(), "private_address", "{url}");
        assert!(!refused.retryable());
    }
    // With the test-only setting, loopback (and nothing else) opens.
    assert!(
        test_fetcher()
            .fetch(&format!("{}/good.jpg", server.base))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_node_that_dies_mid_feed_or_mid_fetch_leaves_its_work_to_another() {
    let rig = rig().await;
    let csv = format!(
        "product_key,sku,price,title,description,category,image_urls\n\
         crash,CRASH-1,3.00,Crash,Left half done,\"{}\",http://pictures.example/crash.jpg\n",
        rig.category
    );
    let id = rig
        .feeds
        .submit(rig.seller, "crash.csv", csv.as_bytes())
        .await
        .unwrap();
    // Node A took the feed (its lease runs ten minutes) and died before finishing.
    sqlx::query("UPDATE feeds SET status = 'processing', lease_until = $1 WHERE id = $2")
        .bind(SystemClock.now() + 10 * 60 * 1000)
        .bind(id)
        .execute(rig.scratch.db.pool())
        .await
        .unwrap();
    // Node B leaves it alone while the lease lasts…
    while rig.feeds.process_next().await.unwrap() {}
    assert_eq!(feed(&rig, id).await.status, "processing");
    // …and takes it over once the lease has run out.
    let later = ManualClock::starting_at(SystemClock.now() + 11 * 60 * 1000);
    let node_b = Feeds::new(
        rig.scratch.db.clone(),
        Catalog::new(rig.scratch.db.clone()),
        Arc::new(later.clone()),
        QueueConfig::default(),
    );
    while node_b.process_next().await.unwrap() {}
    let view = feed(&rig, id).await;
    assert_eq!((view.status.as_str(), view.created), ("done", 1));

    // A fetch taken by a node that then dies is taken again after its lease, once.
    let taken = node_b.take(10, &[]).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(node_b.take(10, &[]).await.unwrap().is_empty(), "leased");
    later.advance(10 * 60 * 1000);
    let again = node_b.take(10, &[]).await.unwrap();
    assert_eq!(
        again.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![taken[0].id]
    );
}

/// The shop's currency at start-up: a catalog priced in another currency stops the start
/// (nothing is converted); in an empty shop the default shipping methods take the shop's
/// currency, and a method someone has edited keeps its own.
#[tokio::test]
async fn the_stored_prices_must_be_in_the_shops_currency() {
    use shop::Currency;
    let demo = crate::common::demo_shop().await;
    let err = shop::shipping::settle_currency(&demo.db, Currency::EUR)
        .await
        .expect_err("a dollar catalog cannot be sold in euros");
    assert!(err.to_string().contains("in USD"), "{err}");
    shop::shipping::settle_currency(&demo.db, Currency::USD)
        .await
        .unwrap();

    let empty = shop::db::scratch::ScratchDb::new().await.unwrap();
    sqlx::query(
        "UPDATE shipping_methods SET updated_at = 1 WHERE code = 'express' AND zone_id = 1",
    )
    .execute(empty.db.pool())
    .await
    .unwrap();
    shop::shipping::settle_currency(&empty.db, Currency::EUR)
        .await
        .unwrap();
    let currencies: Vec<(String, String)> = sqlx::query_as(
        "SELECT code, currency FROM shipping_methods WHERE zone_id = 1 ORDER BY code",
    )
    .fetch_all(empty.db.pool())
    .await
    .unwrap();
    assert_eq!(
        currencies,
        [
            ("express".into(), "USD".into()),
            ("standard".into(), "EUR".into())
        ]
    );
}
