//! Search against a real database and a real (in-memory) Tantivy index: relevance basics,
//! typos and prefixes, facets and filters, hostile input, freshness and the fallback.

use crate::common::{DUMMYJSON, NOW, demo_shop, eventually, import_file, set_available};
use shop::catalog::{Catalog, CategoryPath, ProductId};
use shop::search::{Hit, Location, Search, SearchParams, SearchQuery, SearchResults, SearchSort};
use std::collections::BTreeSet;
use std::time::Duration;

/// A search over a fresh in-memory index of `scratch`, built and caught up with the outbox.
pub(crate) async fn ready(scratch: &shop::db::scratch::ScratchDb) -> Search {
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
    // The indexer's first pass after a build re-applies the events written just before it
    // (its margin: see `Indexer::rebuild`), re-reading those products. A test's own change must
    // reach the index through its own event, not ride along on that pass.
    let written: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM outbox")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    eventually(
        "the indexer passes the events written before the test",
        async || search.health().position >= written,
    )
    .await;
    search
}

fn q(text: &str) -> SearchQuery {
    SearchQuery::parse(&SearchParams {
        q: Some(text.into()),
        ..Default::default()
    })
    .unwrap()
}

/// A search as the page parses it from its URL's query string.
fn from_url(pairs: &[(&str, &str)]) -> SearchQuery {
    let fields: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(key, value)| (key.to_string(), serde_json::json!(value)))
        .collect();
    let params: SearchParams = serde_json::from_value(fields.into()).unwrap();
    // Deserializing skips a key it does not know; a test with a misspelt one must not pass.
    let known = serde_json::to_value(&params).unwrap();
    for (key, _) in pairs {
        assert!(known.get(key).is_some(), "no such search parameter: {key}");
    }
    SearchQuery::parse(&params).unwrap()
}

fn titles(r: &SearchResults) -> Vec<String> {
    r.hits.iter().map(|h| h.title.to_lowercase()).collect()
}

/// Every hit of `query`, page after page, in order; fails unless there are `total` of them.
async fn every_hit(search: &Search, query: &SearchQuery) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut paged = query.clone();
    paged.per_page = 100;
    for page in 1.. {
        paged.page = page;
        let r = search.search(&paged).await.unwrap();
        assert!(!r.degraded, "{query:?} was answered by the index");
        let last = r.hits.len() < 100;
        hits.extend(r.hits);
        if last {
            assert_eq!(hits.len() as u64, r.total, "{query:?}: every hit once");
            return hits;
        }
    }
    unreachable!("pages are counted without end")
}

/// Sells out every variant of `product` the way checkouts do (holds on all its available
/// units), so that the change reaches the index through the outbox like a real sale.
async fn sell_out(db: &shop::db::Db, product: ProductId) {
    let variants: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT v.id, CAST(SUM(s.available) AS BIGINT) FROM variants v JOIN stock_levels s ON s.variant_id = v.id \
         WHERE v.product_id = $1 GROUP BY v.id HAVING SUM(s.available) > 0",
    )
    .bind(product.get())
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!(!variants.is_empty(), "{product:?} has stock to sell");
    let mut tx = db.begin_write().await.unwrap();
    for (variant, available) in variants {
        shop::inventory::holds::reserve(
            &mut tx,
            &format!("co_sell_out_{variant}"),
            &[(shop::catalog::VariantId::new(variant), available)],
            NOW + 1000,
            NOW,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
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
    let ids = |r: &SearchResults| {
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
async fn facets_agree_with_filters(search: &Search, text: &str) -> SearchResults {
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
    sell_out(&shop.db, product).await;
    eventually("the sold-out product is counted out of stock", async || {
        search.search(&q("")).await.unwrap().facets.in_stock + 1 == before.facets.in_stock
    })
    .await;
    let now = search.search(&q("")).await.unwrap();
    assert_eq!(now.total, before.total, "the product is counted once");
    let after = facets_agree_with_filters(&search, "").await;
    assert_eq!(
        after.facets.categories.iter().map(|c| c.count).sum::<u64>(),
        before.total
    );
    facets_agree_with_filters(&search, "lamp").await;
}

/// Query syntax is never interpreted: a field prefix, operators, brackets, a wildcard and
/// quotes are punctuation between words, so each of these finds exactly what its words alone
/// find (what the index matches, in the same order). A search engine's parser would read
/// them as a field query, an exclusion or an error, and an error would leave the shopper with
/// the database's plain fallback.
#[tokio::test]
async fn hostile_and_absurd_queries_get_a_page() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let ids = |r: &SearchResults| r.hits.iter().map(|h| h.product_id).collect::<Vec<_>>();
    // The query text is cut at 200 characters: fifty times "bed".
    let long = "bed ".repeat(2000);
    // (what is typed, its words alone, whether those words find anything)
    let cases = [
        ("title:(bed OR", "title bed or", true),
        ("title:(tufted) AND bed*", "title tufted and bed", true),
        ("\"tufted bed", "tufted bed", true),
        ("brand:essence -mascara", "brand essence mascara", true),
        (
            "category:(furniture) NOT lamp^5",
            "category furniture not lamp 5",
            true,
        ),
        (long.as_str(), "bed", true),
        (
            "(xyzzyplugh) AND plughxyzzy*",
            "xyzzyplugh plughxyzzy",
            false,
        ),
        // No words at all (punctuation, stop words): every product, as with an empty box.
        ("!!! ### ***", "", true),
        ("*", "", true),
        ("a the of", "", true),
        ("ñandú 🛏️", "ñandú", false),
    ];
    for (typed, words, finds) in cases {
        let found = search.search(&q(typed)).await.unwrap();
        let plain = search.search(&q(words)).await.unwrap();
        assert!(!found.degraded, "{typed:.40?} was answered by the index");
        assert_eq!(plain.total > 0, finds, "{words:?} finds something: {finds}");
        assert_eq!(
            (found.total, ids(&found)),
            (plain.total, ids(&plain)),
            "{typed:.40?} finds what {words:?} finds"
        );
    }
    let r = search.search(&q("fuontain")).await.unwrap();
    assert!(r.total > 0, "a swap is a typo too");
    let none = search.search(&q("xyzzyplugh")).await.unwrap();
    assert_eq!(none.total, 0);
}

/// Products out of stock rank after every product in stock, however well they match. The
/// best match for "bed" that is in stock sells out through checkouts' holds; once the index
/// has the change, it comes after every bed still in stock.
#[tokio::test]
async fn out_of_stock_products_rank_last_and_stock_is_live() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let best = every_hit(&search, &q("bed"))
        .await
        .into_iter()
        .find(|h| h.available > 0)
        .expect("a bed in stock")
        .product_id;

    sell_out(&shop.db, best).await;
    let mut stocked = q("bed");
    stocked.in_stock = true;
    eventually("the sold-out bed is indexed as out of stock", async || {
        !every_hit(&search, &stocked)
            .await
            .iter()
            .any(|h| h.product_id == best)
    })
    .await;

    let hits = every_hit(&search, &q("bed")).await;
    let order: Vec<(&str, i64)> = hits
        .iter()
        .map(|h| (h.title.as_str(), h.available))
        .collect();
    let in_stock = hits.iter().filter(|h| h.available > 0).count();
    assert!(in_stock > 0, "beds in stock remain: {order:?}");
    let sold_out_at = hits
        .iter()
        .position(|h| h.product_id == best)
        .expect("a sold-out bed still matches");
    assert!(
        sold_out_at >= in_stock,
        "the sold-out best match (at {sold_out_at}) comes after all {in_stock} beds in stock: {order:?}"
    );
    assert!(
        hits[..in_stock].iter().all(|h| h.available > 0),
        "sold-out products come after the rest: {order:?}"
    );

    // The stock a hit shows is read live: sell out the top hit's SKUs without telling the
    // index, and the next search shows it sold out (while the index still ranks it in stock).
    let top = hits[0].product_id;
    sqlx::query("UPDATE stock_levels SET received = received - available, available = 0 WHERE variant_id IN (SELECT id FROM variants WHERE product_id = $1)")
        .bind(top.get())
        .execute(shop.db.pool())
        .await
        .unwrap();
    let again = search.search(&q("bed")).await.unwrap();
    let hit = again.hits.iter().find(|h| h.product_id == top).unwrap();
    assert_eq!(hit.available, 0);
}

/// The rating filter (`min_rating=4` in the URL: four stars and up) keeps exactly the
/// products rated at least that many stars: one rated exactly four is kept, one rated a
/// hundredth of a star less is not, nor is one with no rating; and it narrows whatever
/// else the search asks, on both ways a search runs (by relevance with words, and sorted).
#[tokio::test]
async fn the_rating_filter_keeps_what_is_rated_at_least_the_stars_asked() {
    let shop = demo_shop().await;
    let products: Vec<i64> = sqlx::query_scalar("SELECT id FROM products ORDER BY id LIMIT 3")
        .fetch_all(shop.db.pool())
        .await
        .unwrap();
    let (four, just_under, unrated) = (products[0], products[1], products[2]);
    for (product, rating) in [
        (four, Some(400_i64)),
        (just_under, Some(399)),
        (unrated, None),
    ] {
        sqlx::query("UPDATE products SET rating = $1 WHERE id = $2")
            .bind(rating)
            .bind(product)
            .execute(shop.db.pool())
            .await
            .unwrap();
    }
    let search = ready(&shop).await;
    let everything = search.search(&q("")).await.unwrap().total;
    let hundredths = |h: &Hit| h.rating.map_or(-1, |r| r.hundredths());

    for stars in 1..=5_i64 {
        let asked = stars.to_string();
        let hits = every_hit(&search, &from_url(&[("min_rating", &asked)])).await;
        let rated: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE rating >= $1")
            .bind(stars * 100)
            .fetch_one(shop.db.pool())
            .await
            .unwrap();
        assert_eq!(
            hits.len() as i64,
            rated,
            "{stars}★ and up: as many as the catalog has"
        );
        for hit in &hits {
            assert!(
                hundredths(hit) >= stars * 100,
                "{stars}★ and up shows {:?} rated {:?}",
                hit.title,
                hit.rating
            );
        }
        let ids: BTreeSet<i64> = hits.iter().map(|h| h.product_id.get()).collect();
        assert!(
            !ids.contains(&unrated),
            "{stars}★ and up: the unrated product"
        );
        if stars == 4 {
            assert!(ids.contains(&four), "4★ and up keeps a product rated 4.00");
            assert!(!ids.contains(&just_under), "4★ and up leaves out 3.99");
            assert!(
                0 < rated && (rated as u64) < everything,
                "4★ and up narrows {everything} products to {rated}"
            );
        }
    }

    // With other filters, words, or another order: what the same search finds, less what is
    // rated under four stars.
    let brand = search.search(&q("")).await.unwrap().facets.brands[0]
        .value
        .clone();
    let mut narrowed = 0;
    for others in [
        vec![("category", "furniture")],
        vec![("brand", brand.as_str())],
        vec![
            ("in_stock", "true"),
            ("min_price", "20"),
            ("max_price", "900"),
        ],
        vec![("q", "bed")],
        vec![("q", "table chair"), ("in_stock", "true")],
        vec![("q", "bed"), ("sort", "price_asc"), ("max_price", "2000")],
        vec![("q", "black"), ("sort", "rating")],
    ] {
        let unfiltered = every_hit(&search, &from_url(&others)).await;
        let mut with_rating = others.clone();
        with_rating.push(("min_rating", "4"));
        let filtered = every_hit(&search, &from_url(&with_rating)).await;
        // Compared as sets: by relevance the rerank goes by blocks of the first stage's best,
        // and a filter changes which products share a block, so the order may differ.
        let set = |hits: &[Hit]| hits.iter().map(|h| h.product_id).collect::<BTreeSet<_>>();
        let expected: Vec<Hit> = unfiltered
            .iter()
            .filter(|h| hundredths(h) >= 400)
            .cloned()
            .collect();
        let found = set(&filtered);
        assert_eq!(found, set(&expected), "{others:?} and 4★ and up");
        assert!(
            !found.is_empty(),
            "{others:?} finds something rated 4★ and up"
        );
        if found.len() < unfiltered.len() {
            narrowed += 1;
        }
    }
    assert!(
        narrowed >= 5,
        "the rating narrowed {narrowed} of 7 searches"
    );
}

/// A re-import's rename and new price, and a SKU selling out, reach the index through the
/// outbox: each becomes searchable (and filterable) without a rebuild.
#[tokio::test]
async fn renames_prices_and_sell_outs_reach_the_index() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let renamed = DUMMYJSON.replacen(
        "Essence Mascara Lash Princess",
        "Essence Mascara Quokkaberry",
        1,
    );
    import_file(&shop.db, "products.json", &renamed).await;
    eventually("the renamed product is found by its new name", async || {
        search.search(&q("quokkaberry")).await.unwrap().total == 1
    })
    .await;

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
    eventually("the new price passes a price filter", async || {
        search.search(&over_ten).await.unwrap().total == 1
    })
    .await;
    let r = search.search(&over_ten).await.unwrap();
    assert_eq!(r.hits[0].price_from.amount, 1249);

    // A SKU running out through a sale reaches the index's in-stock filter too.
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
    let mut in_stock = q("quokkaberry");
    in_stock.in_stock = true;
    eventually("the sold-out SKU leaves the in-stock filter", async || {
        search.search(&in_stock).await.unwrap().total == 0
    })
    .await;
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

/// Waits until `word` finds exactly one product; fails saying that `what` never did.
async fn until_searchable(search: &Search, word: &str, what: &str) {
    eventually(what, async || {
        search.search(&q(word)).await.unwrap().total == 1
    })
    .await;
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
    until_searchable(&search, "quokkafirst", "the first commit is indexed").await;
    // …and the first commits a moment later: its change must still reach the index.
    rename_with_event_id(&shop.db, ids[1], "Wombatlate lamp", last + 1).await;
    until_searchable(&search, "wombatlate", "the late commit is indexed").await;
    // A hole that never fills (a rolled-back transaction's id) holds nothing up.
    rename_with_event_id(&shop.db, ids[2], "Numbatafter lamp", last + 4).await;
    until_searchable(&search, "numbatafter", "a commit after a hole is indexed").await;
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

#[tokio::test]
async fn a_node_at_its_limit_of_searches_refuses_more_at_once_instead_of_queueing() {
    use shop::catalog::CatalogError;
    use shop::resilience::Admission;
    let shop = demo_shop().await;
    let search = ready(&shop).await.with_admission(Admission::new(1, 0));
    let running = search.admission().admit().await.unwrap();
    assert!(
        matches!(search.search(&q("bed")).await, Err(CatalogError::Busy)),
        "one search runs and none may wait: the next is refused"
    );
    assert!(matches!(
        search.suggest("be").await,
        Err(CatalogError::Busy)
    ));
    drop(running);
    assert!(search.search(&q("bed")).await.unwrap().total > 0);
}

#[tokio::test]
async fn only_the_first_twelve_words_of_a_query_are_looked_up() {
    let shop = demo_shop().await;
    let search = ready(&shop).await;
    let after = |n: usize| format!("{} fuontain", ["bed"; 12][..n].join(" "));
    // A typo among the first twelve words is looked up and corrected…
    let eleventh = search.search(&q(&after(11))).await.unwrap();
    assert!(
        eleventh
            .did_you_mean
            .as_deref()
            .is_some_and(|d| d.ends_with("fountain")),
        "{:?}",
        eleventh.did_you_mean
    );
    // …and the thirteenth is not even looked at: a pasted paragraph costs no more.
    let thirteenth = search.search(&q(&after(12))).await.unwrap();
    assert_eq!(
        thirteenth.did_you_mean, None,
        "the thirteenth word was looked up"
    );
}
