//! WANDS' `product.tsv`: `product_id, product_name, product_class, category_hierarchy`, tab
//! separated, one header line. The dataset has no prices, stock or descriptions; `derive`
//! supplies them.

use super::{ParsedRow, ProductInput, derive};
use crate::Currency;
use crate::catalog::Sku;
use std::collections::HashMap;

pub(super) const HEADER: &str = "product_id\tproduct_name\tproduct_class\tcategory_hierarchy";

pub(super) fn parse(text: &str) -> Result<Vec<ParsedRow>, String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("").trim_end_matches('\r');
    if header != HEADER {
        return Err(format!(
            "not a WANDS product table: the first line must be the header `{}`",
            HEADER.replace('\t', "<TAB>")
        ));
    }
    let records: Vec<(usize, Vec<&str>)> = lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 2, l.trim_end_matches('\r').split('\t').collect()))
        .collect();

    // A few products have no category path. They go where most products of their class are
    // filed in the same file, which is where a merchandiser would put them.
    let mut votes: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
    for (_, fields) in &records {
        if let [_, _, class, path] = fields.as_slice()
            && !path.trim().is_empty()
        {
            for c in class.split('|').filter(|c| !c.is_empty()) {
                *votes.entry(c).or_default().entry(path.trim()).or_default() += 1;
            }
        }
    }
    let home_of = |class: &str| -> Option<&str> {
        let first = class.split('|').next()?;
        votes
            .get(first)?
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(path, _)| *path)
    };

    Ok(records
        .iter()
        .map(|(line, fields)| ParsedRow {
            line: *line,
            product: row(fields, &home_of),
        })
        .collect())
}

fn row<'a>(
    fields: &[&'a str],
    home_of: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<ProductInput, String> {
    let [id, name, class, path] = fields else {
        return Err(format!(
            "expected 4 tab-separated fields, found {}",
            fields.len()
        ));
    };
    let id = id.trim();
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("product_id {id:?} is not a number"));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 300 {
        return Err("product_name must be 1 to 300 characters".into());
    }
    let class = class.trim();
    let path = match path.trim() {
        "" => home_of(class).unwrap_or(""),
        p => p,
    };
    let mut category: Vec<String> = path
        .split(" / ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if category.is_empty() {
        category.push("Home & Garden".to_string());
        if let Some(first) = class.split('|').next().filter(|c| !c.is_empty()) {
            category.push(first.to_string());
        }
    }
    let title = derive::title_case(name);
    let sku = Sku::parse(&format!("WANDS-{id}")).map_err(|e| e.to_string())?;
    let price = derive::wands_price(id, class);
    let stock = derive::wands_stock(id);
    let variants = derive::variants(id, &sku, price, Currency::shop(), stock, &category, class);
    Ok(ProductInput {
        source: "wands".into(),
        external_id: id.to_string(),
        seller: derive::seller_for_department(&category[0]),
        description: derive::description(&title, class, &category),
        title,
        brand: None,
        product_class: (!class.is_empty()).then(|| class.to_string()),
        rating: None,
        weight_grams: Some(derive::wands_weight_grams(id, class)),
        category,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_without_a_category_are_filed_with_their_class() {
        let text = format!(
            "{HEADER}\n1\tgarden fountain\tFountains\tOutdoor / Fountains\n\
             2\tstone fountain\tFountains\t\n3\tmystery thing\t\t\n"
        );
        let rows = parse(&text).unwrap();
        let second = rows[1].product.as_ref().unwrap();
        assert_eq!(second.category, ["Outdoor", "Fountains"]);
        let third = rows[2].product.as_ref().unwrap();
        assert_eq!(third.category, ["Home & Garden"]);
        assert_eq!(rows[2].line, 4);
    }

    #[test]
    fn bad_rows_are_reported_and_a_wrong_header_refuses_the_file() {
        let text = format!("{HEADER}\nabc\tname\tc\tp\n5\t\tc\tp\n6\tonly two\n");
        let rows = parse(&text).unwrap();
        assert!(
            rows[0]
                .product
                .as_ref()
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            rows[1]
                .product
                .as_ref()
                .unwrap_err()
                .contains("product_name")
        );
        assert!(
            rows[2]
                .product
                .as_ref()
                .unwrap_err()
                .contains("4 tab-separated")
        );
        assert!(parse("id,name\n1,x\n").is_err());
    }
}
