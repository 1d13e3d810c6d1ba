//! Once per run, after the last chunk: what WooCommerce does once per save, done once for the
//! whole run — the product transient versions bumped, the fixed-name and per-parent cache
//! transients deleted (value and timeout rows), and the `outofstock` term count recounted as
//! WordPress counts it. Nothing is written when the run changed nothing.

use chrono::Utc;
use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use crate::catalog::Shop;
use crate::error::{Error, Result};

pub const VERSION_TRANSIENTS: [&str; 3] = [
    "_transient_product-transient-version",
    "_transient_product_query-transient-version",
    "_transient_filter_data-transient-version",
];

/// Deleted by every product save: the four lists (`wc_delete_product_transients()`) and the
/// category counts the storefront shows (`_wc_term_recount()`, CATALOGUE.md f2/f3).
pub const FIXED_TRANSIENTS: [&str; 5] = ["wc_products_onsale", "wc_featured_products", "wc_outofstock_count", "wc_low_stock_count", "wc_term_counts"];

pub const PARENT_TRANSIENTS: [&str; 4] = ["wc_var_prices_", "wc_product_children_", "wc_child_has_weight_", "wc_child_has_dimensions_"];

/// Option names to delete: every transient's value row and its timeout row.
pub fn transient_rows(parents: &[u64]) -> Vec<String> {
    let mut names: Vec<String> = FIXED_TRANSIENTS.iter().map(|s| s.to_string()).collect();
    for id in parents {
        names.extend(PARENT_TRANSIENTS.iter().map(|t| format!("{t}{id}")));
    }
    names.iter().flat_map(|n| [format!("_transient_{n}"), format!("_transient_timeout_{n}")]).collect()
}

/// The new version value: WooCommerce uses the Unix time; it only has to differ from the old one.
pub fn next_version(now: i64, current: &[i64]) -> i64 {
    let max = current.iter().copied().max().unwrap_or(0);
    if max >= now {
        max + 1
    } else {
        now
    }
}

pub async fn run(conn: &mut Conn, shop: &Shop, parents: &[u64], recount_terms: bool) -> Result<()> {
    let p = &shop.prefix;
    let wrap = |e| Error::db("finalising (caches)", e);
    let current: Vec<(String, String)> = conn
        .exec(
            format!("SELECT option_name, option_value FROM `{p}options` WHERE option_name IN (?, ?, ?)"),
            (VERSION_TRANSIENTS[0], VERSION_TRANSIENTS[1], VERSION_TRANSIENTS[2]),
        )
        .await
        .map_err(wrap)?;
    let version = next_version(Utc::now().timestamp(), &current.iter().filter_map(|(_, v)| v.trim().parse().ok()).collect::<Vec<_>>());
    let autoload: Option<String> =
        conn.query_first(format!("SELECT autoload FROM `{p}options` WHERE option_name = 'siteurl'")).await.map_err(wrap)?;
    let autoload = if autoload.as_deref() == Some("yes") { "yes" } else { "on" };
    for name in VERSION_TRANSIENTS {
        conn.exec_drop(
            format!(
                "INSERT INTO `{p}options` (option_name, option_value, autoload) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)"
            ),
            (name, version.to_string(), autoload),
        )
        .await
        .map_err(wrap)?;
    }
    crate::crashpoint::here(format_args!("finalise-1"));
    for batch in transient_rows(parents).chunks(1000) {
        conn.exec_drop(
            format!("DELETE FROM `{p}options` WHERE option_name IN ({})", vec!["?"; batch.len()].join(",")),
            batch.iter().map(|n| Value::from(n.as_str())).collect::<Vec<_>>(),
        )
        .await
        .map_err(wrap)?;
    }
    crate::crashpoint::here(format_args!("finalise-2"));
    if recount_terms {
        let sql = include_str!("../sql/recount_term.sql").replace("{prefix}", p);
        conn.exec_drop(sql, (shop.outofstock_tt, shop.outofstock_tt)).await.map_err(wrap)?;
    }
    crate::crashpoint::here(format_args!("finalise-3"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transient_goes_with_its_timeout() {
        let rows = transient_rows(&[40]);
        assert_eq!(rows.len(), (5 + 4) * 2);
        assert!(rows.contains(&"_transient_timeout_wc_term_counts".to_string()), "category counts go with every save");
        assert!(rows.contains(&"_transient_wc_var_prices_40".to_string()));
        assert!(rows.contains(&"_transient_timeout_wc_product_children_40".to_string()));
        assert!(rows.contains(&"_transient_timeout_wc_products_onsale".to_string()));
    }

    #[test]
    fn version_always_changes() {
        assert_eq!(next_version(100, &[50, 60]), 100);
        assert_eq!(next_version(100, &[100, 60]), 101);
        assert_eq!(next_version(100, &[]), 100);
    }
}
