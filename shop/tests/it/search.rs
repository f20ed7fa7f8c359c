//! Search against a real database and a real (in-memory) Tantivy index: relevance basics,
//! typos and prefixes, facets and filters, hostile input, freshness and the fallback.

use crate::common::{DUMMYJSON, NOW, demo_shop, import_file, set_available};
use shop::catalog::{Catalog, CategoryPath};
use shop::search::{Location, Search, SearchParams, SearchQuery, SearchSort};
use std::time::{Duration, Instant};

async fn ready(scratch: &shop::db::scratch::ScratchDb) -> Search {
    let search = Search::start(
        scratch.db.clone(),
        Catalog::new(scratch.db.clone()),
        Location::Ram,
    );
    assert!(
        search.wait_ready(Duration::from_secs(30)).await,
        "{:?}",
        search.health()
    );
    search
}

fn q(text: &str) -> SearchQuery {
    SearchQuery::parse(&SearchParams {
        q: Some(text.into()),
        ..Default::default()
    })
    .unwrap()
}

fn titles(r: &shop::search::SearchResults) -> Vec<String> {
    r.hits.iter().map(|h| h.title.to_lowercase()).collect()
}

#[tokio::test]
async fn words_typos_and_prefixes_find_the_product() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    for text in [
        "tufted bed",
        "tuftd bed",
        "king tufted",
        "TUFTED  Béd",
        "tufte",
    ] {
        let r = search.search(&q(text)).await.unwrap();
        assert!(!r.degraded);
        assert!(
            titles(&r).iter().take(5).any(|t| t.contains("tufted")),
            "{text}: {:?}",
            titles(&r)
        );
    }
    let r = search.search(&q("fountain")).await.unwrap();
    assert!(r.total >= 10, "stems and plurals: {}", r.total);
    assert!(
        r.hits[0].title_html.contains("<b>"),
        "{}",
        r.hits[0].title_html
    );
}

#[tokio::test]
async fn facets_count_and_filters_narrow() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let all = search.search(&q("")).await.unwrap();
    assert_eq!(all.total, 584, "an empty query lists everything");
    let furniture = all
        .facets
        .categories
        .iter()
        .find(|c| c.value == "furniture")
        .unwrap();

    let mut filtered = q("");
    filtered.category = Some(CategoryPath::parse("furniture").unwrap());
    let r = search.search(&filtered).await.unwrap();
    assert_eq!(r.total, furniture.count);
    assert!(
        r.facets
            .categories
            .iter()
            .all(|c| c.value.starts_with("furniture/"))
    );

    let mut cheap = q("lamp");
    cheap.max_price = Some(5_099);
    cheap.sort = SearchSort::PriceAsc;
    let r = search.search(&cheap).await.unwrap();
    assert!(r.hits.iter().all(|h| h.price_from.amount <= 5_099));
    let prices: Vec<i64> = r.hits.iter().map(|h| h.price_from.amount).collect();
    let mut sorted = prices.clone();
    sorted.sort();
    assert_eq!(prices, sorted);

    let mut in_stock = q("");
    in_stock.in_stock = true;
    let r = search.search(&in_stock).await.unwrap();
    assert_eq!(r.total, all.facets.in_stock);
    assert!(r.hits.iter().all(|h| h.available > 0));
}

/// A price range and "in stock" are checked on each match by the relevance path's collector,
/// and as query clauses by the sorted path: both find the same products, for ranges that cut
/// through the facet's price bands as well as ones that follow them.
#[tokio::test]
async fn filters_checked_per_match_find_what_the_same_filters_in_the_query_find() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let ids = |r: &shop::search::SearchResults| {
        let mut ids: Vec<i64> = r.hits.iter().map(|h| h.product_id.get()).collect();
        ids.sort_unstable();
        ids
    };
    let mut narrowed = 0;
    for text in ["lamp", "bed", "table chair", "fountian"] {
        let everything = search.search(&q(text)).await.unwrap();
        for (min, max) in [
            (Some(3_000), Some(7_000)),
            (Some(12_345), Some(99_999)),
            (None, Some(2_600)),
            (Some(40_000), None),
            (Some(2_500), Some(4_999)),
            (None, None),
        ] {
            for in_stock in [false, true] {
                let mut filtered = q(text);
                filtered.min_price = min;
                filtered.max_price = max;
                filtered.in_stock = in_stock;
                filtered.per_page = 100;
                let by_relevance = search.search(&filtered).await.unwrap();
                filtered.sort = SearchSort::Rating;
                let by_rating = search.search(&filtered).await.unwrap();
                let case = format!("{text:?} {min:?}..{max:?} in stock {in_stock}");
                assert_eq!(by_relevance.total, by_rating.total, "{case}");
                assert!(by_relevance.total <= 100, "{case}: one page holds them all");
                assert_eq!(ids(&by_relevance), ids(&by_rating), "{case}");
                for hit in &by_relevance.hits {
                    let price = u64::try_from(hit.price_from.amount).unwrap();
                    assert!(min.is_none_or(|m| price >= m), "{case}: {price}");
                    assert!(max.is_none_or(|m| price <= m), "{case}: {price}");
                    assert!(!in_stock || hit.available > 0, "{case}");
                }
                if by_relevance.total > 0 && by_relevance.total < everything.total {
                    narrowed += 1;
                }
            }
        }
    }
    assert!(narrowed >= 10, "the filters narrowed {narrowed} searches");
}

/// Every facet count of `text`'s results equals the total its own filter gives, and the
/// categories and the price bands each add up to the total.
async fn facets_agree_with_filters(search: &Search, text: &str) -> shop::search::SearchResults {
    let all = search.search(&q(text)).await.unwrap();
    assert!(all.total > 0, "{text:?} finds something");
    let total_with = |edit: &dyn Fn(&mut SearchQuery)| {
        let mut filtered = q(text);
        edit(&mut filtered);
        async move { search.search(&filtered).await.unwrap().total }
    };
    for c in &all.facets.categories {
        let path = CategoryPath::parse(&c.value).unwrap();
        let n = total_with(&|f| f.category = Some(path.clone())).await;
        assert_eq!(n, c.count, "{text:?} in category {}", c.value);
    }
    for b in &all.facets.brands {
        let n = total_with(&|f| f.brand = Some(b.value.clone())).await;
        assert_eq!(n, b.count, "{text:?} by brand {}", b.value);
    }
    for band in &all.facets.price_bands {
        let (lo, hi) = band.value.split_once('-').unwrap();
        let lo: u64 = lo.parse().unwrap();
        let hi: Option<u64> = (!hi.is_empty()).then(|| hi.parse().unwrap());
        let n = total_with(&|f| {
            f.min_price = Some(lo * 100);
            f.max_price = hi.map(|h| h * 100 + 99);
        })
        .await;
        assert_eq!(n, band.count, "{text:?} priced {}", band.value);
    }
    let n = total_with(&|f| f.in_stock = true).await;
    assert_eq!(n, all.facets.in_stock, "{text:?} in stock");
    let sum = |values: &[shop::search::FacetValue]| values.iter().map(|v| v.count).sum::<u64>();
    assert_eq!(
        sum(&all.facets.categories),
        all.total,
        "{text:?}: categories"
    );
    assert_eq!(
        sum(&all.facets.price_bands),
        all.total,
        "{text:?}: price bands"
    );
    all
}

/// Facet counts come from every segment's values packed in memory when the reader opens it;
/// a change writes the product into a new segment and deletes it from the old one, and the
/// counts must follow: the new segment counted, the deleted copy not.
#[tokio::test]
async fn facet_counts_agree_with_filters_as_the_index_changes() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let before = facets_agree_with_filters(&search, "").await;
    facets_agree_with_filters(&search, "lamp").await;

    // Sell out one product that is in stock: it is re-indexed, out of stock.
    let mut stocked = q("");
    stocked.in_stock = true;
    let product = search.search(&stocked).await.unwrap().hits[0].product_id;
    let variants: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT v.id, CAST(SUM(s.available) AS BIGINT) FROM variants v JOIN stock_levels s ON s.variant_id = v.id \
         WHERE v.product_id = $1 GROUP BY v.id HAVING SUM(s.available) > 0",
    )
    .bind(product.get())
    .fetch_all(shop.db.pool())
    .await
    .unwrap();
    assert!(!variants.is_empty());
    let mut tx = shop.db.begin_write().await.unwrap();
    for (variant, available) in variants {
        shop::inventory::holds::reserve(
            &mut tx,
            &format!("co_facets_{variant}"),
            &[(shop::catalog::VariantId::new(variant), available)],
            NOW + 1000,
            NOW,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let started = Instant::now();
    loop {
        let now = search.search(&q("")).await.unwrap();
        if now.facets.in_stock + 1 == before.facets.in_stock {
            assert_eq!(now.total, before.total, "the product is counted once");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the sold-out product is still counted in stock"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let after = facets_agree_with_filters(&search, "").await;
    assert_eq!(
        after.facets.categories.iter().map(|c| c.count).sum::<u64>(),
        before.total
    );
    facets_agree_with_filters(&search, "lamp").await;
}

#[tokio::test]
async fn hostile_and_absurd_queries_get_a_page() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let long = "bed ".repeat(2000);
    for text in [
        "title:(x) AND y*",
        "!!! ### ***",
        "\"unbalanced",
        "*",
        "a the of",
        &long,
        "zzzzqqqq",
        "ñandú 🛏️",
    ] {
        let r = search.search(&q(text)).await;
        assert!(r.is_ok(), "{text:.30}");
    }
    let r = search.search(&q("fuontain")).await.unwrap();
    assert!(r.total > 0, "a swap is a typo too");
    let none = search.search(&q("xyzzyplugh")).await.unwrap();
    assert_eq!(none.total, 0);
}

#[tokio::test]
async fn out_of_stock_products_rank_last_and_stock_is_live() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let r = search.search(&q("bed")).await.unwrap();
    let first_out = r.hits.iter().position(|h| h.available == 0);
    if let Some(i) = first_out {
        assert!(
            r.hits[i..].iter().all(|h| h.available == 0),
            "sold-out products come after the rest"
        );
    }
    // The badge is read live: sell out the top hit's SKUs without telling the index.
    let top = r.hits[0].product_id;
    sqlx::query("UPDATE stock_levels SET received = received - available, available = 0 WHERE variant_id IN (SELECT id FROM variants WHERE product_id = $1)")
        .bind(top.get())
        .execute(shop.db.pool())
        .await
        .unwrap();
    let again = search.search(&q("bed")).await.unwrap();
    let hit = again.hits.iter().find(|h| h.product_id == top).unwrap();
    assert_eq!(hit.available, 0);
}

#[tokio::test]
async fn changes_are_searchable_within_a_second() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    // A re-import renames a product: the change goes through the outbox to the index.
    let renamed = DUMMYJSON.replacen(
        "Essence Mascara Lash Princess",
        "Essence Mascara Quokkaberry",
        1,
    );
    import_file(&shop.db, "products.json", &renamed).await;
    let started = Instant::now();
    loop {
        let r = search.search(&q("quokkaberry")).await.unwrap();
        if r.total == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not searchable after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A price change is searchable (and filterable) within a second too.
    let at = renamed.find("Essence Mascara Quokkaberry").unwrap();
    let (head, tail) = renamed.split_at(at);
    let repriced = format!(
        "{head}{}",
        tail.replacen("\"price\": 9.99", "\"price\": 12.49", 1)
    );
    assert_ne!(repriced, renamed, "the fixture's price was found");
    import_file(&shop.db, "products.json", &repriced).await;
    let mut over_ten = q("quokkaberry");
    over_ten.min_price = Some(1_000);
    let started = Instant::now();
    loop {
        let r = search.search(&over_ten).await.unwrap();
        if r.total == 1 {
            assert_eq!(r.hits[0].price_from.amount, 1249);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "price change not searchable after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A SKU running out through a sale reaches the index's in-stock filter promptly too.
    let r = search.search(&q("quokkaberry")).await.unwrap();
    let sku: String = sqlx::query_scalar("SELECT sku FROM variants WHERE product_id = $1")
        .bind(r.hits[0].product_id.get())
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    set_available(&shop.db, &sku, 1).await;
    let variant: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
        .bind(&sku)
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    let mut tx = shop.db.begin_write().await.unwrap();
    shop::inventory::holds::reserve(
        &mut tx,
        "co_test",
        &[(shop::catalog::VariantId::new(variant), 1)],
        NOW + 1000,
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut filter = q("quokkaberry");
    filter.in_stock = true;
    let started = Instant::now();
    loop {
        if search.search(&filter).await.unwrap().total == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "stock change not indexed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn without_an_index_the_database_answers() {
    let shop = demo_shop().await;
    let search = Search::database_only(Catalog::new(shop.db.clone()));
    let r = search.search(&q("tufted bed")).await.unwrap();
    assert!(r.degraded);
    assert!(titles(&r).iter().any(|t| t.contains("tufted")));
    assert_eq!(search.health().degraded_queries, 1);
    assert!(!search.health().ready);
}

#[tokio::test]
async fn suggestions_follow_the_letters_typed() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let s = search.suggest("fount").await.unwrap();
    assert!(
        s.iter()
            .any(|s| s.kind == "product" && s.label.to_lowercase().contains("fountain")),
        "{s:?}"
    );
    let s = search.suggest("furn").await.unwrap();
    assert!(
        s.iter()
            .any(|s| s.kind == "category" && s.label == "Furniture"),
        "{s:?}"
    );
    assert!(
        search.suggest("f").await.unwrap().is_empty(),
        "one letter is too little"
    );
}

#[tokio::test]
async fn similar_products_share_words() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let r = search.search(&q("fountain")).await.unwrap();
    let similar = search.similar(r.hits[0].product_id, 5).await;
    assert!(!similar.is_empty());
    assert!(!similar.contains(&r.hits[0].product_id));
}

#[tokio::test]
async fn ranking_rules_split_run_together_words_use_synonyms_and_correct_typos() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    // Two words run together are read as the two words.
    let r = search.search(&q("wallclock")).await.unwrap();
    assert!(
        titles(&r)[0].contains("wall clock"),
        "wallclock: {:?}",
        titles(&r)
    );
    // A synonym from the shop's list finds what the catalog calls it.
    let r = search.search(&q("couch")).await.unwrap();
    assert!(
        titles(&r).iter().take(5).any(|t| t.contains("sofa")),
        "couch: {:?}",
        titles(&r)
    );
    // Products matching more of the words come before those matching fewer.
    let r = search.search(&q("decorative wall clock")).await.unwrap();
    let full = |t: &String| t.contains("wall") && t.contains("clock");
    let first_partial = titles(&r)
        .iter()
        .position(|t| !full(t))
        .unwrap_or(r.hits.len());
    assert!(first_partial >= 3, "{:?}", titles(&r));
    assert!(titles(&r)[first_partial..].iter().all(|t| !full(t)));
    // A typo is read as the closest real word, and the page says so.
    let r = search.search(&q("fountian")).await.unwrap();
    assert!(r.total > 0);
    assert_eq!(r.did_you_mean.as_deref(), Some("fountain"));
    assert_eq!(
        search.search(&q("fountain")).await.unwrap().did_you_mean,
        None
    );
}

#[tokio::test]
async fn an_unusable_index_folder_degrades_to_the_database() {
    let shop = demo_shop().await;
    let dir = tempfile::tempdir().unwrap();
    // A file where the index folder should be: the index cannot be opened or created.
    let path = dir.path().join("search");
    std::fs::write(&path, b"not a folder").unwrap();
    let search = Search::start(
        shop.db.clone(),
        Catalog::new(shop.db.clone()),
        Location::Dir(path),
    );
    assert!(!search.wait_ready(Duration::from_secs(10)).await);
    let health = search.health();
    assert!(!health.ready);
    assert!(health.detail.contains("database"), "{}", health.detail);
    let r = search.search(&q("tufted bed")).await.unwrap();
    assert!(r.degraded);
    assert!(titles(&r).iter().any(|t| t.contains("tufted")));
}

#[tokio::test]
async fn a_corrupt_index_folder_is_rebuilt_from_the_database() {
    let shop = demo_shop().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("meta.json"), b"{ this is not an index").unwrap();
    let search = Search::start(
        shop.db.clone(),
        Catalog::new(shop.db.clone()),
        Location::Dir(path),
    );
    assert!(search.wait_ready(Duration::from_secs(30)).await);
    assert_eq!(search.health().documents, 584);
    assert!(!search.search(&q("fountain")).await.unwrap().degraded);
}

#[tokio::test]
async fn recommendations_come_from_co_purchases_else_similar_products() {
    use shop::search::{RecommendationKind, Recommender};
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let catalog = Catalog::new(shop.db.clone());
    let recommender = Recommender::new(shop.db.clone(), catalog.clone(), search.clone());
    let products: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT MIN(id), product_id FROM variants GROUP BY product_id ORDER BY product_id LIMIT 4",
    )
    .fetch_all(shop.db.pool())
    .await
    .unwrap();
    let (a, b, c, d) = (products[0], products[1], products[2], products[3]);
    // No orders yet: similar products.
    let before = recommender
        .for_product(shop::catalog::ProductId::new(a.1))
        .await
        .unwrap();
    assert_eq!(before.kind, RecommendationKind::Similar);
    // Two orders with A and B, one with A and C, a cancelled one with A and D.
    for (order, status, lines) in [
        ("o1", "confirmed", vec![a, b]),
        ("o2", "delivered", vec![a, b, c]),
        ("o3", "cancelled", vec![a, d]),
    ] {
        sqlx::query("INSERT INTO orders (id, checkout_id, email, status, total_amount, currency, shipping_address, charge_id, created_at, updated_at) VALUES ($1, $1, 'r@example.com', $2, 100, 'USD', '{}', 'ch', 0, 0)")
            .bind(order)
            .bind(status)
            .execute(shop.db.pool())
            .await
            .unwrap();
        for (position, (variant, _)) in lines.into_iter().enumerate() {
            sqlx::query("INSERT INTO order_lines (order_id, position, variant_id, sku, title, options, quantity, unit_price, currency) VALUES ($1, $2, $3, 's', 't', '', 1, 100, 'USD')")
                .bind(order)
                .bind(i64::try_from(position).unwrap())
                .bind(variant)
                .execute(shop.db.pool())
                .await
                .unwrap();
        }
    }
    assert!(recommender.recompute().await.unwrap() > 0);
    let after = recommender
        .for_product(shop::catalog::ProductId::new(a.1))
        .await
        .unwrap();
    assert_eq!(after.kind, RecommendationKind::AlsoBought);
    let ids: Vec<i64> = after.products.iter().map(|p| p.id.get()).collect();
    assert_eq!(
        &ids[..2],
        &[b.1, c.1],
        "most often bought together first: {ids:?}"
    );
    assert!(!ids.contains(&d.1), "a cancelled order counts for nothing");
    assert!(!ids.contains(&a.1));
    assert!(
        ids.len() > 2 && ids.len() <= shop::search::SHOWN_RECOMMENDATIONS,
        "topped up with similar ones: {ids:?}"
    );
}

/// Renames a product in the database and writes its `product.changed` event with the given
/// outbox id, as a transaction that took that id would.
async fn rename_with_event_id(db: &shop::db::Db, product: i64, title: &str, event: i64) {
    sqlx::query("UPDATE products SET title = $1 WHERE id = $2")
        .bind(title)
        .bind(product)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outbox (id, topic, aggregate_id, payload, created_at, attempts, available_at, \
         locked_until) VALUES ($1, $2, $3, '{}', $4, 0, $4, 0)",
    )
    .bind(event)
    .bind(shop::events::PRODUCT_CHANGED)
    .bind(product.to_string())
    .bind(NOW)
    .execute(db.pool())
    .await
    .unwrap();
}

async fn searchable(search: &Search, word: &str, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if search.search(&q(word)).await.unwrap().total == 1 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn an_event_committed_after_a_later_one_is_not_lost() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM products ORDER BY id LIMIT 3")
        .fetch_all(shop.db.pool())
        .await
        .unwrap();
    let last: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM outbox")
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    // Two transactions take ids last+1 and last+2; the second commits first…
    rename_with_event_id(&shop.db, ids[0], "Quokkafirst lamp", last + 2).await;
    assert!(searchable(&search, "quokkafirst", Duration::from_secs(2)).await);
    // …and the first commits a moment later: its change must still reach the index.
    rename_with_event_id(&shop.db, ids[1], "Wombatlate lamp", last + 1).await;
    assert!(
        searchable(&search, "wombatlate", Duration::from_secs(2)).await,
        "the late commit was passed over"
    );
    // A hole that never fills (a rolled-back transaction's id) holds nothing up.
    rename_with_event_id(&shop.db, ids[2], "Numbatafter lamp", last + 4).await;
    assert!(searchable(&search, "numbatafter", Duration::from_secs(2)).await);
}

/// Paging through a result larger than the rerank window (the best of the one-field pass are
/// reranked by the full query in blocks): every match shows exactly once, those in stock
/// before those sold out, and a page's contents do not depend on the page size.
#[tokio::test]
async fn paging_through_a_large_result_shows_every_match_once_in_stock_first() {
    let shop = shop::db::scratch::ScratchDb::new().await.unwrap();
    let bar = indicatif::ProgressBar::hidden();
    shop::catalog::import::apply(&shop.db, shop::catalog::import::synthetic(330), NOW, &bar)
        .await
        .unwrap();
    // Every fifth product sold out, before the index is built.
    for i in (0..330).step_by(5) {
        sqlx::query(
            "UPDATE stock_levels SET received = received - available, available = 0 \
             WHERE variant_id IN (SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE p.external_id = $1)",
        )
        .bind(format!("syn-{i}"))
        .execute(shop.db.pool())
        .await
        .unwrap();
    }
    let search = ready(&shop).await;
    let page = |text: &str, page: u32, per_page: u32| {
        SearchQuery::parse(&SearchParams {
            q: Some(text.into()),
            page: Some(page.to_string()),
            per_page: Some(per_page.to_string()),
            ..Default::default()
        })
        .unwrap()
    };
    // One word, two (all required) and three (two of three, as k-word intersections).
    for text in [
        "synthetic",
        "synthetic benchmarks",
        "synthetic benchmarks furniture",
    ] {
        let mut seen = Vec::new();
        let mut total = 0;
        for n in 1..=20 {
            let r = search.search(&page(text, n, 24)).await.unwrap();
            assert!(!r.degraded);
            total = r.total;
            if r.hits.is_empty() {
                break;
            }
            seen.extend(r.hits.iter().map(|h| (h.product_id, h.available > 0)));
        }
        assert_eq!(total, 330, "{text}");
        let mut ids: Vec<_> = seen.iter().map(|(id, _)| *id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 330, "{text}: every match once");
        let first_sold_out = seen.iter().position(|(_, stocked)| !stocked).unwrap();
        let sold_out = seen.iter().filter(|(_, stocked)| !stocked).count();
        assert!(sold_out >= 66, "{text}: {sold_out}");
        assert_eq!(first_sold_out, 330 - sold_out, "{text}: in stock first");
        assert!(seen[first_sold_out..].iter().all(|(_, stocked)| !stocked));

        let big = search.search(&page(text, 1, 100)).await.unwrap();
        let small = search.search(&page(text, 2, 24)).await.unwrap();
        let big: Vec<_> = big.hits.iter().map(|h| h.product_id).collect();
        let small: Vec<_> = small.hits.iter().map(|h| h.product_id).collect();
        assert_eq!(small, big[24..48], "{text}: page 2 of 24 is places 25–48");
    }
}
