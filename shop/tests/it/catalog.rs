//! The catalog and its importer against a real database: SQLite by default, PostgreSQL when
//! `EMPORIUM_TEST_BACKEND=postgres` (cargo xtask test runs both).

use indicatif::ProgressBar;
use shop::catalog::import::{self, ImportError};
use shop::catalog::{Catalog, CatalogError, CategoryPath, PageRequest, SearchText, Sort};
use shop::db::scratch::ScratchDb;

use crate::common::{DUMMYJSON, NOW, WANDS, count, demo_shop, import_file};

#[tokio::test]
async fn the_demo_catalog_imports_every_real_product() {
    let scratch = ScratchDb::new().await.unwrap();
    let dummy = import_file(&scratch.db, "products.json", DUMMYJSON).await;
    let wands = import_file(&scratch.db, "product.tsv", WANDS).await;

    assert_eq!(dummy.created, 194);
    assert_eq!(wands.created, 390);
    assert!(
        dummy.skipped.is_empty() && wands.skipped.is_empty(),
        "{dummy:?} {wands:?}"
    );
    assert_eq!(count(&scratch.db, "products").await, 584);

    // WANDS products keep their dataset id: search evaluation depends on it.
    let external: Option<String> = sqlx::query_scalar(
        "SELECT external_id FROM products WHERE source = 'wands' AND title LIKE 'King Tufted%'",
    )
    .fetch_optional(scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(external.as_deref(), Some("13"));
}

#[tokio::test]
async fn reimporting_updates_in_place_and_never_duplicates() {
    let scratch = demo_shop().await;
    let before = count(&scratch.db, "products").await;
    let stock_before: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(received) AS BIGINT) FROM stock_levels")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();

    let again = import_file(&scratch.db, "products.json", DUMMYJSON).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 194));

    let edited = DUMMYJSON.replacen(
        "Essence Mascara Lash Princess",
        "Essence Mascara Lash Queen",
        1,
    );
    let edited = edited.replacen("\"price\": 9.99", "\"price\": 8.49", 1);
    let report = import_file(&scratch.db, "products.json", &edited).await;
    assert_eq!((report.created, report.updated), (0, 1));

    assert_eq!(count(&scratch.db, "products").await, before);
    let catalog = Catalog::new(scratch.db.clone());
    let product = catalog
        .product_by_slug("essence-mascara-lash-princess")
        .await
        .unwrap();
    assert_eq!(
        product.title, "Essence Mascara Lash Queen",
        "the slug stays, the title changes"
    );
    assert_eq!(product.variants[0].price.amount, 849);
    let stock_after: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(received) AS BIGINT) FROM stock_levels")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    assert_eq!(
        stock_before, stock_after,
        "re-import never receives stock twice"
    );
}

#[tokio::test]
async fn bad_rows_are_reported_with_their_line_and_the_rest_load() {
    let scratch = ScratchDb::new().await.unwrap();
    let text = r#"[
  {"id": 1, "title": "Good Lipstick", "category": "beauty", "price": 9.99, "stock": 3, "sku": "LIP-1"},
  {"id": 2, "title": "Negative", "category": "beauty", "price": -1, "stock": 3},
  {"id": 3, "title": "Thief", "category": "beauty", "price": 2, "stock": 1, "sku": "LIP-1"},
  {"id": 4, "title": "Huge stock", "category": "beauty", "price": 2, "stock": -5},
  {"id": 5, "title": "Good Perfume", "category": "fragrances", "price": 40, "stock": 3, "sku": "PER-5"}
]"#;
    let report = import_file(&scratch.db, "feed.json", text).await;
    assert_eq!(report.created, 2);
    let lines: Vec<usize> = report.skipped.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(report.skipped[0].reason.contains("price"));
    assert!(
        report.skipped[1].reason.contains("LIP-1"),
        "{}",
        report.skipped[1]
    );
    assert!(report.skipped[2].reason.contains("stock"));
    assert_eq!(count(&scratch.db, "products").await, 2);
    assert_eq!(
        count(&scratch.db, "variants").await,
        3,
        "lipstick + perfume's two sizes"
    );
}

#[tokio::test]
async fn a_row_refused_after_creating_its_category_leaves_no_trace() {
    let scratch = ScratchDb::new().await.unwrap();
    // Row 2 creates the new category "Other / Gadgets" and then fails on its SKU; row 3 in the
    // same category must still load (the rolled-back category is created again).
    let text = r#"[
  {"id": 1, "title": "Lipstick", "category": "beauty", "price": 9.99, "stock": 3, "sku": "DUP"},
  {"id": 2, "title": "Gadget A", "category": "gadgets", "price": 5, "stock": 1, "sku": "DUP"},
  {"id": 3, "title": "Gadget B", "category": "gadgets", "price": 5, "stock": 1, "sku": "GAD-B"}
]"#;
    let report = import_file(&scratch.db, "feed.json", text).await;
    assert_eq!(report.created, 2, "{report:?}");
    let catalog = Catalog::new(scratch.db.clone());
    let gadgets = CategoryPath::parse("other/gadgets").unwrap();
    let page = catalog
        .list(Some(&gadgets), Sort::Name, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].title, "Gadget B");
}

#[tokio::test]
async fn a_corrupt_file_is_refused_and_changes_nothing() {
    let scratch = demo_shop().await;
    let before = count(&scratch.db, "products").await;
    let truncated = &DUMMYJSON[..DUMMYJSON.len() / 2];
    let err = import::parse("products.json", truncated).unwrap_err();
    assert!(
        matches!(err, ImportError::File(ref m) if m.contains("products.json")),
        "{err}"
    );
    let err = import::parse("notes.txt", "hello").unwrap_err();
    assert!(err.to_string().contains("unknown format"), "{err}");
    assert_eq!(count(&scratch.db, "products").await, before);
}

#[tokio::test]
async fn listings_paginate_sort_and_count_descendants() {
    let scratch = demo_shop().await;
    let catalog = Catalog::new(scratch.db.clone());
    let furniture = CategoryPath::parse("furniture").unwrap();

    let categories = catalog.categories().await.unwrap();
    let top = categories.iter().find(|c| c.path == furniture).unwrap();
    let page1 = catalog
        .list(
            Some(&furniture),
            Sort::PriceAsc,
            PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page1.total, top.product_count,
        "a department counts its subcategories"
    );
    assert!(page1.total > 100);
    assert_eq!(page1.items.len(), 10);
    let prices: Vec<i64> = page1.items.iter().map(|c| c.price_from.amount).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");

    let page2 = catalog
        .list(
            Some(&furniture),
            Sort::PriceAsc,
            PageRequest {
                page: 2,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert!(page2.items[0].price_from.amount >= prices[9]);
    assert!(
        page1
            .items
            .iter()
            .all(|a| page2.items.iter().all(|b| a.id != b.id))
    );

    let beyond = catalog
        .list(
            Some(&furniture),
            Sort::PriceAsc,
            PageRequest {
                page: 500,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, page1.total);

    let desc = catalog
        .list(
            None,
            Sort::PriceDesc,
            PageRequest {
                page: 1,
                per_page: 5,
            },
        )
        .await
        .unwrap();
    assert!(
        desc.items
            .windows(2)
            .all(|w| w[0].price_from.amount >= w[1].price_from.amount)
    );
    assert_eq!(desc.total, 584);
}

#[tokio::test]
async fn a_product_page_has_variants_with_live_availability() {
    let scratch = demo_shop().await;
    let catalog = Catalog::new(scratch.db.clone());
    let bed = catalog
        .product_by_slug("king-tufted-low-profile-standard-bed")
        .await
        .unwrap();
    assert_eq!(bed.external_id, "13");
    let sizes: Vec<String> = bed.variants.iter().map(|v| v.label()).collect();
    assert_eq!(sizes, ["Twin", "Full", "Queen", "King"]);
    assert_eq!(bed.breadcrumbs.first().unwrap().name, "Furniture");

    // Availability is the live stock rows, summed over warehouses.
    let live: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(s.available) AS BIGINT) FROM stock_levels s \
         JOIN variants v ON v.id = s.variant_id WHERE v.sku = $1",
    )
    .bind(bed.variants[2].sku.as_str())
    .fetch_one(scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(bed.variants[2].available, live);

    let by_id = catalog.product_by_id(bed.id).await.unwrap();
    assert_eq!(by_id, bed);
}

#[tokio::test]
async fn a_crowd_missing_one_product_reads_it_once_and_stock_stays_live() {
    let scratch = demo_shop().await;
    let catalog = Catalog::new(scratch.db.clone());
    let slug = "king-tufted-low-profile-standard-bed";

    // 64 page views of a product nobody has looked at yet, all at once.
    let views: Vec<_> = (0..64)
        .map(|_| {
            let catalog = catalog.clone();
            tokio::spawn(async move { catalog.product_by_slug(slug).await })
        })
        .collect();
    for view in views {
        assert_eq!(view.await.unwrap().unwrap().external_id, "13");
    }
    assert_eq!(catalog.product_loads(), 1, "one loader for the whole crowd");

    // Stock is never cached: a sale shows on the next view, without a reload.
    let bed = catalog.product_by_slug(slug).await.unwrap();
    let king = &bed.variants[3];
    let sold = sqlx::query(
        "UPDATE stock_levels SET available = available - 1, committed = committed + 1 \
         WHERE variant_id = $1 AND warehouse_id = (SELECT MIN(warehouse_id) FROM stock_levels \
                                                   WHERE variant_id = $1 AND available > 0)",
    )
    .bind(king.id.get())
    .execute(scratch.db.pool())
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(sold, 1);
    let after = catalog.product_by_slug(slug).await.unwrap();
    assert_eq!(after.variants[3].available, king.available - 1);
    assert_eq!(catalog.product_loads(), 1);
}

#[tokio::test]
async fn a_product_changed_through_one_node_is_forgotten_by_every_node() {
    let scratch = demo_shop().await;
    // Two nodes: each its own catalog (and cache) over the one database.
    let (here, there) = (
        Catalog::new(scratch.db.clone()),
        Catalog::new(scratch.db.clone()),
    );
    // A node starts a little before the outbox's end (the import's own events here).
    let mut cursor = there.change_cursor().await.unwrap();
    there.follow_changes(&mut cursor).await.unwrap();
    let slug = "essence-mascara-lash-princess";
    let before = there.product_by_slug(slug).await.unwrap();
    let beauty_before = there
        .list(
            Some(&CategoryPath::parse("beauty").unwrap()),
            Sort::Name,
            PageRequest::parse(None, Some("100")).unwrap(),
        )
        .await
        .unwrap();
    assert!(beauty_before.items.iter().any(|c| c.title == before.title));
    assert_eq!(before.title, "Essence Mascara Lash Princess");

    // The change is an import (as the seller portal and feeds make it) on the other node.
    let edited = DUMMYJSON.replacen(
        "Essence Mascara Lash Princess",
        "Essence Mascara Lash Queen",
        1,
    );
    import_file(&scratch.db, "products.json", &edited).await;
    let _ = here.product_by_slug(slug).await.unwrap();
    assert_eq!(
        there.product_by_slug(slug).await.unwrap().title,
        "Essence Mascara Lash Princess",
        "cached until the event is read"
    );

    let beauty = CategoryPath::parse("beauty").unwrap();
    let listed = |page: shop::catalog::Page<shop::catalog::ProductCard>| {
        page.items
            .iter()
            .any(|c| c.title == "Essence Mascara Lash Queen")
    };
    let everything = PageRequest::parse(None, Some("100")).unwrap();
    assert!(
        !listed(
            there
                .list(Some(&beauty), Sort::Name, everything)
                .await
                .unwrap()
        ),
        "the listing is cached too until the event is read"
    );

    let forgotten = there.follow_changes(&mut cursor).await.unwrap();
    assert_eq!(forgotten, 1);
    assert_eq!(
        there.product_by_slug(slug).await.unwrap().title,
        "Essence Mascara Lash Queen"
    );
    assert!(listed(
        there
            .list(Some(&beauty), Sort::Name, everything)
            .await
            .unwrap()
    ));
    // Nothing new: nothing forgotten, and the cursor does not go back.
    let position = cursor.position();
    assert_eq!(there.follow_changes(&mut cursor).await.unwrap(), 0);
    assert_eq!(cursor.position(), position);
}

#[tokio::test]
async fn unknown_products_and_categories_are_not_found() {
    let scratch = demo_shop().await;
    let catalog = Catalog::new(scratch.db.clone());
    for slug in [
        "no-such-product",
        "../etc/passwd",
        "",
        "DROP TABLE products",
    ] {
        assert!(matches!(
            catalog.product_by_slug(slug).await,
            Err(CatalogError::ProductNotFound)
        ));
    }
    let missing = CategoryPath::parse("no/such/category").unwrap();
    assert!(matches!(
        catalog
            .category_page(&missing, Sort::Featured, PageRequest::default())
            .await,
        Err(CatalogError::CategoryNotFound)
    ));
}

#[tokio::test]
async fn stock_conserves_what_was_received() {
    let scratch = demo_shop().await;
    let broken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_levels WHERE available + held + committed <> received",
    )
    .fetch_one(scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(broken, 0);
    // Every unit received is in the audit trail.
    let received: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(received) AS BIGINT) FROM stock_levels")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    let moved: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(delta_received) AS BIGINT) FROM stock_movements")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    assert_eq!(received, moved);
    // And the schema itself refuses a row that breaks conservation.
    let violation = sqlx::query("UPDATE stock_levels SET available = available + 1")
        .execute(scratch.db.pool())
        .await;
    assert!(violation.is_err());
}

#[tokio::test]
async fn the_synthetic_catalog_is_the_same_every_time() {
    let a = ScratchDb::new().await.unwrap();
    let report = import::apply(&a.db, import::synthetic(300), NOW, &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(report.created, 300);
    let again = import::apply(&a.db, import::synthetic(300), NOW, &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(again.unchanged, 300);
    let fingerprint: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, price_amount FROM variants ORDER BY sku")
            .fetch_all(a.db.pool())
            .await
            .unwrap();
    let b = ScratchDb::new().await.unwrap();
    import::apply(&b.db, import::synthetic(300), NOW, &ProgressBar::hidden())
        .await
        .unwrap();
    let other: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, price_amount FROM variants ORDER BY sku")
            .fetch_all(b.db.pool())
            .await
            .unwrap();
    assert_eq!(fingerprint, other);
}

#[tokio::test]
async fn plain_search_finds_every_word_and_survives_any_input() {
    let scratch = demo_shop().await;
    let catalog = Catalog::new(scratch.db.clone());
    let beds = catalog
        .search(&SearchText::parse("tufted BED"), PageRequest::default())
        .await
        .unwrap();
    assert!(beds.total >= 1);
    assert!(beds.items.iter().all(|c| {
        let t = c.title.to_lowercase();
        t.contains("tufted") && (t.contains("bed") || c.category.to_lowercase().contains("bed"))
    }));
    for absurd in [
        "",
        "%%%",
        "' OR 1=1 --",
        "title:(x) AND y*",
        &"z".repeat(5000),
    ] {
        let page = catalog
            .search(&SearchText::parse(absurd), PageRequest::default())
            .await;
        assert!(page.is_ok(), "{absurd:.20}");
    }
    let none = catalog
        .search(&SearchText::parse("%"), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        none.total, 0,
        "a bare wildcard matches nothing rather than everything"
    );
}

/// What a node's start made of the demo catalog, without the import reports.
fn outcome_kind(outcome: &import::demo::Outcome) -> &'static str {
    match outcome {
        import::demo::Outcome::Imported(_) => "imported",
        import::demo::Outcome::AlreadyImported => "already imported",
        import::demo::Outcome::InProgressElsewhere => "in progress elsewhere",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_at_once_import_the_demo_catalog_exactly_once() {
    let scratch = ScratchDb::new().await.unwrap();
    // Each node with a pool of its own, as separate processes have, all let go at once.
    let nodes = 4;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(nodes));
    let mut starting = tokio::task::JoinSet::new();
    for _ in 0..nodes {
        let db = shop::db::Db::connect(&scratch.url, &shop::db::DbOptions::default())
            .await
            .unwrap();
        let start = start.clone();
        starting.spawn(async move {
            start.wait().await;
            import::demo::ensure_imported(&db, NOW).await.unwrap()
        });
    }
    let outcomes = starting.join_all().await;

    let kinds: Vec<&str> = outcomes.iter().map(outcome_kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "imported").count(),
        1,
        "exactly one of the nodes imports the demo catalog: {kinds:?}"
    );
    assert_eq!(count(&scratch.db, "products").await, 194 + 390);
    assert_eq!(
        outcome_kind(
            &import::demo::ensure_imported(&scratch.db, NOW + 1)
                .await
                .unwrap()
        ),
        "already imported",
        "a node started later finds the import done"
    );
}

#[tokio::test]
async fn a_demo_import_claimed_by_a_dead_node_is_taken_over_once_stale() {
    let scratch = ScratchDb::new().await.unwrap();
    // A node claimed the import at NOW and died before finishing it.
    sqlx::query(
        "INSERT INTO app_meta (key, value, updated_at) VALUES ('demo_catalog', 'importing', $1)",
    )
    .bind(NOW)
    .execute(scratch.db.pool())
    .await
    .unwrap();

    let soon = import::demo::ensure_imported(&scratch.db, NOW + 60_000).await;
    assert_eq!(outcome_kind(&soon.unwrap()), "in progress elsewhere");
    assert_eq!(count(&scratch.db, "products").await, 0);

    let later = NOW + import::demo::STALE_CLAIM_MS + 1;
    let stale = import::demo::ensure_imported(&scratch.db, later).await;
    assert_eq!(outcome_kind(&stale.unwrap()), "imported");
    assert_eq!(count(&scratch.db, "products").await, 194 + 390);
}
