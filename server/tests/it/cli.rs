//! The `server` binary's import command, run as a user would run it.

use shop::db::scratch::ScratchDb;
use std::process::Command;

fn server(scratch: &ScratchDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("EMPORIUM_DATABASE_URL", &scratch.url)
        .env("RUST_LOG", "error")
        .output()
        .expect("the server binary runs")
}

async fn products(scratch: &ScratchDb) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(scratch.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn importing_a_file_reports_bad_rows_by_line_and_loads_the_rest() {
    let scratch = ScratchDb::new().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.json");
    std::fs::write(
        &feed,
        r#"[
  {"id": 1, "title": "Desk Lamp", "category": "home-decoration", "price": 24.5, "stock": 4},
  {"id": 2, "title": "Broken", "category": "home-decoration", "price": "free", "stock": 4}
]"#,
    )
    .unwrap();
    let out = server(&scratch, &["import", feed.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "skipped rows give exit code 2: {stdout}"
    );
    assert!(stdout.contains("1 created"), "{stdout}");
    assert!(stdout.contains("skipped line 3: invalid type"), "{stdout}");
    assert_eq!(products(&scratch).await, 1);
}

#[tokio::test]
async fn a_corrupt_file_fails_clearly_and_changes_nothing() {
    let scratch = ScratchDb::new().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("products.json");
    std::fs::write(&corrupt, "[{\"id\": 1, \"title\": \"Half a file").unwrap();
    let out = server(&scratch, &["import", corrupt.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("not a DummyJSON product list"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(products(&scratch).await, 0);

    let missing = server(&scratch, &["import", "/no/such/file.tsv"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /no/such/file.tsv"));
}

#[tokio::test]
async fn the_synthetic_catalog_is_bounded() {
    let scratch = ScratchDb::new().await.unwrap();
    let out = server(&scratch, &["import", "--synthetic", "25"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(products(&scratch).await, 25);
    for bad in ["0", "1000001", "-5", "lots"] {
        let out = server(&scratch, &["import", "--synthetic", bad]);
        assert!(!out.status.success(), "{bad}");
    }
    assert_eq!(products(&scratch).await, 25);
}

#[tokio::test]
async fn reindex_rebuilds_the_search_index_from_the_database() {
    let scratch = ScratchDb::new().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = server(&scratch, &["import", "--synthetic", "300"]);
    assert!(out.status.success());
    let index = dir.path().join("index");
    let reindex = || {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("reindex")
            .env("EMPORIUM_DATABASE_URL", &scratch.url)
            .env("EMPORIUM_SEARCH_INDEX", &index)
            .env("RUST_LOG", "error")
            .output()
            .expect("the server binary runs")
    };
    let out = reindex();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("indexed 300 products"), "{stdout}");
    assert!(index.join("meta.json").exists());
    // Again over a valid index: rebuilt, not duplicated.
    let out = reindex();
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 300 products"));
}
