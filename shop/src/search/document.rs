//! Index documents from the catalog and inventory tables.

use super::schema::Fields;
use crate::clock::Millis;
use crate::db::{AnyConnection, placeholders};
use sqlx::Row;
use tantivy::TantivyDocument;
use tantivy::schema::Facet;

/// The columns a document is built from (one row per product, stock summed).
const SELECT: &str = "SELECT p.id, p.external_id, p.slug, p.title, p.description, p.brand, \
    p.product_class, p.rating, p.price_from, p.price_to, p.currency, p.created_at, \
    c.path AS category_path, s.name AS seller, \
    (SELECT COALESCE(MAX(sl.available), 0) FROM stock_levels sl \
       JOIN variants v ON v.id = sl.variant_id WHERE v.product_id = p.id) AS max_available \
    FROM products p JOIN categories c ON c.id = p.category_id JOIN sellers s ON s.id = p.seller_id";

/// The documents for `ids` (products that no longer exist are simply absent).
pub async fn load(
    conn: &mut AnyConnection,
    fields: &Fields,
    names: &CategoryNames,
    ids: &[i64],
) -> Result<Vec<(i64, TantivyDocument)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!("{SELECT} WHERE p.id IN ({})", placeholders(1, ids.len()));
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(|r| document(r, fields, names)).collect()
}

/// One page of every product's document, by id after `after`.
pub async fn page(
    conn: &mut AnyConnection,
    fields: &Fields,
    names: &CategoryNames,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, TantivyDocument)>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE p.id > $1 ORDER BY p.id LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| document(r, fields, names)).collect()
}

/// Category paths to their names, root first (`furniture/beds` → `["Furniture", "Beds"]`).
#[derive(Clone, Debug, Default)]
pub struct CategoryNames(std::collections::HashMap<String, String>);

impl CategoryNames {
    pub async fn load(conn: &mut AnyConnection) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT path, name FROM categories")
            .fetch_all(&mut *conn)
            .await?;
        Ok(CategoryNames(rows.into_iter().collect()))
    }

    fn names(&self, path: &str) -> Vec<String> {
        let mut acc = String::new();
        let mut out = Vec::new();
        for part in path.split('/') {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            if let Some(name) = self.0.get(&acc) {
                out.push(name.clone());
            }
        }
        out
    }
}

fn document(
    r: &sqlx::any::AnyRow,
    f: &Fields,
    names: &CategoryNames,
) -> Result<(i64, TantivyDocument), sqlx::Error> {
    let id: i64 = r.try_get("id")?;
    let title: String = r.try_get("title")?;
    let description: String = r.try_get("description")?;
    let brand: Option<String> = r.try_get("brand")?;
    let class: Option<String> = r.try_get("product_class")?;
    let path: String = r.try_get("category_path")?;
    let category_names = names.names(&path);
    let rating: Option<i64> = r.try_get("rating")?;
    let price_from: i64 = r.try_get("price_from")?;
    let price_to: i64 = r.try_get("price_to")?;
    let created: Millis = r.try_get("created_at")?;
    let available: i64 = r.try_get("max_available")?;
    let class = class.unwrap_or_default().replace('|', " ");

    let mut doc = TantivyDocument::default();
    doc.add_u64(f.product_id, u64::try_from(id).unwrap_or(0));
    doc.add_text(f.external_id, r.try_get::<String, _>("external_id")?);
    doc.add_text(f.slug, r.try_get::<String, _>("slug")?);
    doc.add_text(f.title, &title);
    doc.add_text(f.description, &description);
    if let Some(b) = brand.as_deref().filter(|b| !b.is_empty()) {
        doc.add_text(f.brand, b);
        doc.add_facet(f.brand_facet, Facet::from_path([b]));
        doc.add_text(f.brand_key, b);
    }
    doc.add_text(f.class, &class);
    doc.add_text(f.category, category_names.join(" "));
    doc.add_facet(f.category_facet, Facet::from_path(path.split('/')));
    doc.add_text(f.category_key, &path);
    doc.add_text(
        f.category_name,
        category_names.last().cloned().unwrap_or_default(),
    );
    doc.add_text(f.seller, r.try_get::<String, _>("seller")?);
    let all = format!(
        "{title} {} {class} {} {description}",
        brand.unwrap_or_default(),
        category_names.join(" ")
    );
    doc.add_text(f.all_raw, &all);
    doc.add_text(f.all, all);
    doc.add_u64(f.price, u64::try_from(price_from).unwrap_or(0));
    doc.add_u64(f.price_varies, u64::from(price_to != price_from));
    doc.add_text(f.currency, r.try_get::<String, _>("currency")?);
    doc.add_u64(
        f.rating,
        rating
            .map(|r| u64::try_from(r).unwrap_or(0) + 1)
            .unwrap_or(0),
    );
    doc.add_u64(f.in_stock, u64::from(available > 0));
    doc.add_i64(f.created_at, created);
    Ok((id, doc))
}
