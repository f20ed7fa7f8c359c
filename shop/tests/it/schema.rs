//! Both migration sets must build the same schema: same tables, same columns.

use shop::db::scratch::ScratchDb;
use std::collections::BTreeMap;

type Schema = BTreeMap<String, Vec<String>>;

async fn sqlite_schema(scratch: &ScratchDb) -> Schema {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(scratch.db.pool())
    .await
    .unwrap();
    let mut schema = Schema::new();
    for table in tables {
        let mut columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(scratch.db.pool())
                .await
                .unwrap();
        columns.sort();
        schema.insert(table, columns);
    }
    schema
}

async fn postgres_schema(scratch: &ScratchDb) -> Schema {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(scratch.db.pool())
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table, column) in rows {
        schema.entry(table).or_default().push(column);
    }
    for columns in schema.values_mut() {
        columns.sort();
    }
    schema
}

#[tokio::test]
async fn both_migration_sets_create_the_same_tables_and_columns() {
    let Ok(url) = std::env::var("EMPORIUM_TEST_POSTGRES_URL") else {
        shop::testing::skip(
            "PostgreSQL",
            "set EMPORIUM_TEST_POSTGRES_URL to compare the two migration sets",
        );
        return;
    };
    let sqlite = sqlite_schema(&ScratchDb::sqlite().await.unwrap()).await;
    let postgres = postgres_schema(&ScratchDb::postgres(&url).await.unwrap()).await;
    assert!(sqlite.contains_key("products") && sqlite.contains_key("stock_levels"));
    assert_eq!(sqlite, postgres);
}
