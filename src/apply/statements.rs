//! Set-based SQL for the writer, built as (statement, parameters) values so they can be
//! unit-tested without a database. Never one statement per product: every builder takes a
//! whole batch. Only standard SQL that MariaDB 10.3+ and MySQL 8 both run.

use mysql_async::Value;

pub type Statement = (String, Vec<Value>);

/// Rows per statement; keeps every statement far below the 65,535-placeholder limit.
pub const BATCH: usize = 1000;

/// Splits rows into batches of at most `max_rows` rows whose `size`s add up to at most
/// `max_bytes` (a row larger than that on its own is a batch of its own), so no statement
/// outgrows the server's `max_allowed_packet` however long the values.
pub fn by_size<T>(rows: &[T], max_rows: usize, max_bytes: u64, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, row) in rows.iter().enumerate() {
        let n = size(row) as u64;
        if i > start && (i - start == max_rows || bytes + n > max_bytes) {
            batches.push(&rows[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += n;
    }
    if start < rows.len() {
        batches.push(&rows[start..]);
    }
    batches
}

fn placeholders(n: usize, per_row: usize) -> String {
    let row = format!("({})", vec!["?"; per_row].join(","));
    vec![row; n].join(",")
}

fn list(n: usize) -> String {
    vec!["?"; n].join(",")
}

/// `UPDATE postmeta` joined on meta_id: one statement sets many rows to their own values.
pub fn set_meta(prefix: &str, rows: &[(u64, String)]) -> Vec<Statement> {
    rows.chunks(BATCH)
        .map(|batch| {
            let derived = batch
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "SELECT ? AS meta_id, ? AS v".to_string() } else { "SELECT ?, ?".to_string() })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let sql = format!(
                "UPDATE `{prefix}postmeta` pm JOIN ({derived}) x ON pm.meta_id = x.meta_id SET pm.meta_value = x.v"
            );
            let params = batch.iter().flat_map(|(id, v)| [Value::from(*id), Value::from(v.as_str())]).collect();
            (sql, params)
        })
        .collect()
}

pub fn insert_meta(prefix: &str, rows: &[(u64, &str, Option<String>)]) -> Vec<Statement> {
    rows.chunks(BATCH)
        .map(|batch| {
            let sql = format!(
                "INSERT INTO `{prefix}postmeta` (post_id, meta_key, meta_value) VALUES {}",
                placeholders(batch.len(), 3)
            );
            let params = batch
                .iter()
                .flat_map(|(id, k, v)| [Value::from(*id), Value::from(*k), v.as_deref().map(Value::from).unwrap_or(Value::NULL)])
                .collect();
            (sql, params)
        })
        .collect()
}

pub fn delete_meta(prefix: &str, ids: &[u64]) -> Vec<Statement> {
    ids.chunks(BATCH)
        .map(|batch| {
            (
                format!("DELETE FROM `{prefix}postmeta` WHERE meta_id IN ({})", list(batch.len())),
                batch.iter().map(|id| Value::from(*id)).collect(),
            )
        })
        .collect()
}

/// One lookup row: the columns price and stock decide, plus the rest for a row being created.
#[derive(Debug, Clone)]
pub struct LookupRow {
    pub product_id: u64,
    pub sku: String,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub onsale: bool,
    pub stock_quantity: Option<f64>,
    pub stock_status: String,
    /// The GTIN of a row being created (where the shop has the column); never changed on
    /// rows that exist.
    pub global_unique_id: Option<String>,
    /// `tax_class` of a row being created: `parent` for a variation (CATALOGUE.md g2).
    pub tax_class: &'static str,
}

/// Inserts missing rows whole (WooCommerce's defaults for the other columns) and, for rows
/// that exist, sets only the columns price and stock decide — the same end state as
/// WooCommerce's `REPLACE INTO` of the whole row, without rewriting the rest.
pub fn upsert_lookup(prefix: &str, has_global_unique_id: bool, rows: &[LookupRow]) -> Vec<Statement> {
    let guid_col = if has_global_unique_id { "global_unique_id, " } else { "" };
    let guid_val = if has_global_unique_id { "?, " } else { "" };
    rows.chunks(BATCH / 2)
        .map(|batch| {
            let values = vec![format!("(?, ?, {guid_val}0, 0, ?, ?, ?, ?, ?, 0, 0, 0, 'taxable', ?)"); batch.len()].join(",");
            let sql = format!(
                "INSERT INTO `{prefix}wc_product_meta_lookup` (product_id, sku, {guid_col}`virtual`, downloadable, min_price, max_price, \
                 onsale, stock_quantity, stock_status, rating_count, average_rating, total_sales, tax_status, tax_class) VALUES {values} \
                 ON DUPLICATE KEY UPDATE sku = VALUES(sku), min_price = VALUES(min_price), max_price = VALUES(max_price), \
                 onsale = VALUES(onsale), stock_quantity = VALUES(stock_quantity), stock_status = VALUES(stock_status)"
            );
            let opt = |v: &Option<String>| v.as_deref().map(Value::from).unwrap_or(Value::NULL);
            let params = batch
                .iter()
                .flat_map(|r| {
                    let gtin = has_global_unique_id.then(|| Value::from(r.global_unique_id.as_deref().unwrap_or("")));
                    [Value::from(r.product_id), Value::from(r.sku.as_str())].into_iter().chain(gtin).chain([
                        opt(&r.min_price),
                        opt(&r.max_price),
                        Value::from(r.onsale as i32),
                        r.stock_quantity.map(Value::from).unwrap_or(Value::NULL),
                        Value::from(r.stock_status.as_str()),
                        Value::from(r.tax_class),
                    ])
                })
                .collect();
            (sql, params)
        })
        .collect()
}

/// Fills the columns of lookup rows woosync had to insert for existing products from their
/// meta, as `get_data_for_lookup_table()` would.
pub fn fill_lookup(prefix: &str, has_global_unique_id: bool, ids: &[u64]) -> Vec<Statement> {
    let template = include_str!("../../sql/lookup_fill.sql");
    let gtin = if has_global_unique_id {
        format!(
            ",\n  l.global_unique_id = COALESCE((SELECT pm.meta_value FROM `{prefix}postmeta` pm\n                                 \
             WHERE pm.post_id = l.product_id AND pm.meta_key = '_global_unique_id' ORDER BY pm.meta_id LIMIT 1), '')"
        )
    } else {
        String::new()
    };
    ids.chunks(BATCH)
        .map(|batch| {
            let sql = template.replace("{gtin}", &gtin).replace("{prefix}", prefix).replace("{ids}", &list(batch.len()));
            (sql, batch.iter().map(|id| Value::from(*id)).collect())
        })
        .collect()
}

pub fn add_terms(prefix: &str, pairs: &[(u64, u64)]) -> Vec<Statement> {
    pairs
        .chunks(BATCH)
        .map(|batch| {
            (
                format!(
                    "INSERT IGNORE INTO `{prefix}term_relationships` (object_id, term_taxonomy_id, term_order) VALUES {}",
                    placeholders(batch.len(), 2).replace("?)", "?, 0)")
                ),
                batch.iter().flat_map(|(o, t)| [Value::from(*o), Value::from(*t)]).collect(),
            )
        })
        .collect()
}

/// `wc_product_attributes_lookup` rows: (product, product or parent, taxonomy, term, is a
/// variation attribute, in stock), as WooCommerce's `LookupDataStore` inserts them.
pub fn add_attribute_lookups(prefix: &str, rows: &[(u64, u64, &str, u64, bool, bool)]) -> Vec<Statement> {
    rows.chunks(BATCH)
        .map(|batch| {
            (
                format!(
                    "INSERT IGNORE INTO `{prefix}wc_product_attributes_lookup` (product_id, product_or_parent_id, taxonomy, term_id, is_variation_attribute, in_stock) VALUES {}",
                    placeholders(batch.len(), 6)
                ),
                batch
                    .iter()
                    .flat_map(|(id, parent, taxonomy, term, variation, in_stock)| {
                        [Value::from(*id), Value::from(*parent), Value::from(*taxonomy), Value::from(*term), Value::from(u8::from(*variation)), Value::from(u8::from(*in_stock))]
                    })
                    .collect(),
            )
        })
        .collect()
}

pub fn remove_terms(prefix: &str, tt: u64, ids: &[u64]) -> Vec<Statement> {
    ids.chunks(BATCH)
        .map(|batch| {
            let mut params = vec![Value::from(tt)];
            params.extend(batch.iter().map(|id| Value::from(*id)));
            (
                format!("DELETE FROM `{prefix}term_relationships` WHERE term_taxonomy_id = ? AND object_id IN ({})", list(batch.len())),
                params,
            )
        })
        .collect()
}

/// Deletes (object, term_taxonomy) relationships, each pair by its primary key.
pub fn remove_term_pairs(prefix: &str, pairs: &[(u64, u64)]) -> Vec<Statement> {
    pairs
        .chunks(BATCH)
        .map(|batch| {
            (
                format!("DELETE FROM `{prefix}term_relationships` WHERE (object_id, term_taxonomy_id) IN ({})", placeholders(batch.len(), 2)),
                batch.iter().flat_map(|(o, t)| [Value::from(*o), Value::from(*t)]).collect(),
            )
        })
        .collect()
}

pub fn touch(prefix: &str, ids: &[u64], local: &str, gmt: &str) -> Vec<Statement> {
    ids.chunks(BATCH)
        .map(|batch| {
            let mut params = vec![Value::from(local), Value::from(gmt)];
            params.extend(batch.iter().map(|id| Value::from(*id)));
            (
                format!("UPDATE `{prefix}posts` SET post_modified = ?, post_modified_gmt = ? WHERE ID IN ({})", list(batch.len())),
                params,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_meta_joins_on_meta_id() {
        let st = set_meta("wp_", &[(7, "9".into()), (8, "instock".into())]);
        assert_eq!(st.len(), 1);
        assert_eq!(
            st[0].0,
            "UPDATE `wp_postmeta` pm JOIN (SELECT ? AS meta_id, ? AS v UNION ALL SELECT ?, ?) x ON pm.meta_id = x.meta_id SET pm.meta_value = x.v"
        );
        assert_eq!(st[0].1.len(), 4);
    }

    #[test]
    fn batches_split_large_inputs() {
        let rows: Vec<(u64, &str, Option<String>)> = (0..2500).map(|i| (i, "_price", Some("1".into()))).collect();
        let st = insert_meta("wp_", &rows);
        assert_eq!(st.len(), 3);
        assert_eq!(st[2].1.len(), 500 * 3);
    }

    #[test]
    fn lookup_fill_reads_the_gtin_where_the_shop_keeps_one() {
        let with = &fill_lookup("wp_", true, &[7])[0].0;
        let without = &fill_lookup("wp_", false, &[7])[0].0;
        assert!(with.contains("l.global_unique_id = COALESCE((SELECT pm.meta_value FROM `wp_postmeta` pm"), "{with}");
        assert!(!without.contains("global_unique_id ="), "{without}");
        assert!(!with.contains('{') && !without.contains('{'), "every slot filled");
    }

    #[test]
    fn lookup_upsert_adapts_to_old_schema() {
        let row = LookupRow { product_id: 1, sku: "A".into(), min_price: None, max_price: None, onsale: false, stock_quantity: None, stock_status: "instock".into(), global_unique_id: None, tax_class: "" };
        let new = upsert_lookup("wp_", true, std::slice::from_ref(&row));
        let old = upsert_lookup("wp_", false, &[row]);
        assert!(new[0].0.contains("global_unique_id"));
        assert!(!old[0].0.contains("global_unique_id"));
        assert_eq!((new[0].1.len(), old[0].1.len()), (9, 8), "the GTIN and tax class of a row being created are parameters");
    }

    #[test]
    fn batches_by_size_keep_long_values_apart() {
        let rows = [10usize, 10, 10, 50, 10, 100, 1];
        let sizes = |b: Vec<&[usize]>| b.iter().map(|b| b.to_vec()).collect::<Vec<_>>();
        assert_eq!(sizes(by_size(&rows, 1000, 60, |r| *r)), vec![vec![10, 10, 10], vec![50, 10], vec![100], vec![1]]);
        assert_eq!(sizes(by_size(&rows, 2, 1000, |r| *r)), vec![vec![10, 10], vec![10, 50], vec![10, 100], vec![1]]);
        assert!(by_size(&[] as &[usize], 10, 10, |r| *r).is_empty());
    }

    #[test]
    fn term_pairs_are_deleted_by_primary_key() {
        let st = remove_term_pairs("wp_", &[(1, 9), (2, 10)]);
        assert_eq!(st[0].0, "DELETE FROM `wp_term_relationships` WHERE (object_id, term_taxonomy_id) IN ((?,?),(?,?))");
        assert_eq!(st[0].1.len(), 4);
        assert!(remove_term_pairs("wp_", &[]).is_empty());
    }

    #[test]
    fn add_terms_sets_term_order() {
        let st = add_terms("wp_", &[(1, 9), (2, 9)]);
        assert!(st[0].0.ends_with("VALUES (?,?, 0),(?,?, 0)"), "{}", st[0].0);
    }
}
