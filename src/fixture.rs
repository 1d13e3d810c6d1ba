//! A WooCommerce-shaped shop made from `sql/`, for the demo, the benchmark and the tests — never
//! used by a sync. Products are written the way WooCommerce leaves them (≈21 meta rows each,
//! lookup rows, type/category/out-of-stock terms, published term counts), in multi-row inserts.

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use crate::error::{Error, Result};
use crate::woo;

pub const SCHEMA: &str = include_str!("../sql/wp_schema.sql");
pub const SEED: &str = include_str!("../sql/wp_seed.sql");

/// Creates the WooCommerce tables and the default terms and options in the connected database.
pub async fn provision(conn: &mut Conn, prefix: &str) -> Result<()> {
    for sql in [SCHEMA, SEED] {
        for statement in sql.replace("{prefix}", prefix).split(";\n").map(str::trim) {
            let body: String = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            if !body.trim().is_empty() {
                conn.query_drop(body).await.map_err(|e| Error::db("provisioning the shop schema", e))?;
            }
        }
    }
    Ok(())
}

/// A product (or variation) to put into the shop.
#[derive(Debug, Clone)]
pub struct Spec {
    pub sku: String,
    pub title: String,
    pub status: String,
    pub regular: Option<String>,
    pub sale: Option<String>,
    /// `Some` = managed stock with this quantity.
    pub stock: Option<i64>,
    pub backorders: String,
    /// Non-empty for a variable product: its variations.
    pub variations: Vec<Spec>,
}

impl Spec {
    pub fn simple(sku: &str, regular: &str, stock: i64) -> Spec {
        Spec {
            sku: sku.into(),
            title: format!("Product {sku}"),
            status: "publish".into(),
            regular: Some(regular.into()),
            sale: None,
            stock: Some(stock),
            backorders: "no".into(),
            variations: Vec::new(),
        }
    }

    pub fn sale(mut self, sale: &str) -> Spec {
        self.sale = Some(sale.into());
        self
    }

    pub fn status(mut self, status: &str) -> Spec {
        self.status = status.into();
        self
    }

    pub fn backorders(mut self, b: &str) -> Spec {
        self.backorders = b.into();
        self
    }

    pub fn variable(sku: &str, variations: Vec<Spec>) -> Spec {
        Spec { variations, regular: None, stock: None, ..Spec::simple(sku, "0", 0) }
    }

    fn price(&self) -> Option<String> {
        let m = |s: &Option<String>| s.as_deref().and_then(crate::model::Money::from_stored);
        woo::active_price(m(&self.regular).as_ref(), m(&self.sale).as_ref(), None, None, 0).map(|m| m.text().to_string())
    }

    fn stock_status(&self) -> &'static str {
        match self.stock {
            Some(q) => woo::stock_status(q, &self.backorders, 0),
            None => woo::INSTOCK,
        }
    }
}

struct Rows {
    posts: Vec<Vec<Value>>,
    meta: Vec<Vec<Value>>,
    terms: Vec<Vec<Value>>,
    lookup: Vec<Vec<Value>>,
}

/// Inserts the products with IDs after the current highest; returns the IDs in order
/// (a variable product's ID is followed by its variations' IDs).
pub async fn insert(conn: &mut Conn, prefix: &str, specs: &[Spec]) -> Result<Vec<u64>> {
    let next: Option<u64> = conn.query_first(format!("SELECT COALESCE(MAX(ID), 99) + 1 FROM `{prefix}posts`")).await?;
    let ids = insert_bulk(conn, prefix, specs, next.unwrap_or(100)).await?;
    recount(conn, prefix).await?;
    Ok(ids)
}

/// Inserts with IDs from `first_id` on and leaves term counts alone (call [`recount`] after the
/// last batch): the benchmark's way of making a large shop quickly.
pub async fn insert_bulk(conn: &mut Conn, prefix: &str, specs: &[Spec], first_id: u64) -> Result<Vec<u64>> {
    let mut id = first_id;
    let mut rows = Rows { posts: vec![], meta: vec![], terms: vec![], lookup: vec![] };
    let mut ids = Vec::new();
    for spec in specs {
        let parent_id = id;
        ids.push(parent_id);
        id += 1;
        if spec.variations.is_empty() {
            add_product(&mut rows, parent_id, 0, spec, "simple");
            continue;
        }
        let mut child_prices = Vec::new();
        let mut child_status = Vec::new();
        for v in &spec.variations {
            ids.push(id);
            add_product(&mut rows, id, parent_id, v, "variation");
            if v.status == "publish" {
                child_prices.extend(v.price().and_then(|p| crate::model::Money::from_stored(&p)));
            }
            child_status.push(v.stock_status());
            id += 1;
        }
        let prices: Vec<String> = woo::parent_prices(child_prices).into_iter().map(|m| m.text().to_string()).collect();
        let status = woo::parent_stock_status(child_status);
        add_variable_parent(&mut rows, parent_id, spec, &prices, status);
    }
    flush(conn, prefix, rows).await?;
    Ok(ids)
}

const DATE: &str = "2026-01-01 10:00:00";

fn add_post(rows: &mut Rows, id: u64, parent: u64, spec: &Spec, post_type: &str) {
    rows.posts.push(vec![
        id.into(),
        spec.title.as_str().into(),
        spec.status.as_str().into(),
        if spec.status == "draft" { "".into() } else { spec.sku.to_lowercase().into() },
        parent.into(),
        post_type.into(),
    ]);
}

fn add_product(rows: &mut Rows, id: u64, parent: u64, spec: &Spec, kind: &str) {
    let post_type = if parent == 0 { "product" } else { "product_variation" };
    add_post(rows, id, parent, spec, post_type);
    let price = spec.price();
    let status = spec.stock_status();
    let mut m: Vec<(&str, Option<String>)> = vec![("_sku", Some(spec.sku.clone()))];
    if let Some(r) = &spec.regular {
        m.push(("_regular_price", Some(r.clone())));
    }
    if let Some(s) = &spec.sale {
        m.push(("_sale_price", Some(s.clone())));
    }
    let s = |v: &str| Some(v.to_string());
    m.extend([
        ("total_sales", s("0")),
        ("_tax_status", s("taxable")),
        ("_tax_class", s(if parent == 0 { "" } else { "parent" })),
        ("_manage_stock", s(if spec.stock.is_some() { "yes" } else { "no" })),
        ("_backorders", Some(spec.backorders.clone())),
        ("_sold_individually", s("no")),
        ("_virtual", s("no")),
        ("_downloadable", s("no")),
        ("_download_limit", s("-1")),
        ("_download_expiry", s("-1")),
        ("_stock", spec.stock.map(|q| q.to_string())),
        ("_stock_status", s(status)),
        ("_wc_average_rating", s("0")),
        ("_wc_review_count", s("0")),
        ("_product_version", s("9.9.5")),
    ]);
    if let Some(p) = &price {
        m.push(("_price", Some(p.clone())));
    }
    m.extend([("_edit_last", s("1")), ("_thumbnail_id", s("0"))]);
    for (k, v) in m {
        rows.meta.push(vec![id.into(), k.into(), v.map(Value::from).unwrap_or(Value::NULL)]);
    }
    if kind == "simple" {
        rows.terms.push(vec![id.into(), 2u64.into()]);
        rows.terms.push(vec![id.into(), 15u64.into()]);
    }
    if status == woo::OUTOFSTOCK {
        rows.terms.push(vec![id.into(), 9u64.into()]);
    }
    let onsale = matches!((&spec.sale, &price), (Some(s), Some(p)) if s == p);
    rows.lookup.push(vec![
        id.into(),
        spec.sku.as_str().into(),
        price.clone().map_or_else(|| "0".into(), Value::from),
        price.map_or_else(|| "0".into(), Value::from),
        (onsale as i32).into(),
        spec.stock.map(|q| Value::from(q as f64)).unwrap_or(Value::NULL),
        status.into(),
    ]);
}

fn add_variable_parent(rows: &mut Rows, id: u64, spec: &Spec, prices: &[String], status: &str) {
    add_post(rows, id, 0, spec, "product");
    let s = |v: &str| Some(v.to_string());
    let mut m: Vec<(&str, Option<String>)> = vec![
        ("_sku", Some(spec.sku.clone())),
        ("total_sales", s("0")),
        ("_tax_status", s("taxable")),
        ("_tax_class", s("")),
        ("_manage_stock", s("no")),
        ("_backorders", s("no")),
        ("_sold_individually", s("no")),
        ("_virtual", s("no")),
        ("_downloadable", s("no")),
        ("_download_limit", s("-1")),
        ("_download_expiry", s("-1")),
        ("_stock", None),
        ("_stock_status", s(status)),
        ("_wc_average_rating", s("0")),
        ("_wc_review_count", s("0")),
        ("_product_version", s("9.9.5")),
    ];
    for p in prices {
        m.push(("_price", Some(p.clone())));
    }
    for (k, v) in m {
        rows.meta.push(vec![id.into(), k.into(), v.map(Value::from).unwrap_or(Value::NULL)]);
    }
    rows.terms.push(vec![id.into(), 4u64.into()]);
    rows.terms.push(vec![id.into(), 15u64.into()]);
    if status == woo::OUTOFSTOCK {
        rows.terms.push(vec![id.into(), 9u64.into()]);
    }
    rows.lookup.push(vec![
        id.into(),
        spec.sku.as_str().into(),
        // As WooCommerce stores a product without `_price` rows: 0.0000, not NULL.
        prices.first().cloned().map_or_else(|| "0".into(), Value::from),
        prices.last().cloned().map_or_else(|| "0".into(), Value::from),
        0i32.into(),
        Value::NULL,
        status.into(),
    ]);
}

async fn flush(conn: &mut Conn, p: &str, rows: Rows) -> Result<()> {
    let post_sql = |n: usize| {
        format!(
            "INSERT INTO `{p}posts` (ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, \
             comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, \
             post_parent, guid, post_type) VALUES {}",
            vec![format!("(?, 1, '{DATE}', '{DATE}', '', ?, '', ?, 'open', 'closed', ?, '', '', '{DATE}', '{DATE}', '', ?, '', ?)"); n].join(",")
        )
    };
    batch(conn, &rows.posts, post_sql).await?;
    batch(conn, &rows.meta, |n| {
        format!("INSERT INTO `{p}postmeta` (post_id, meta_key, meta_value) VALUES {}", vec!["(?,?,?)"; n].join(","))
    })
    .await?;
    batch(conn, &rows.terms, |n| {
        format!("INSERT INTO `{p}term_relationships` (object_id, term_taxonomy_id) VALUES {}", vec!["(?,?)"; n].join(","))
    })
    .await?;
    batch(conn, &rows.lookup, |n| {
        format!(
            "INSERT INTO `{p}wc_product_meta_lookup` (product_id, sku, min_price, max_price, onsale, stock_quantity, stock_status) VALUES {}",
            vec!["(?,?,?,?,?,?,?)"; n].join(",")
        )
    })
    .await?;
    Ok(())
}

async fn batch(conn: &mut Conn, rows: &[Vec<Value>], sql: impl Fn(usize) -> String) -> Result<()> {
    for chunk in rows.chunks(2000) {
        let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
        conn.exec_drop(sql(chunk.len()), params).await.map_err(|e| Error::db("inserting fixture rows", e))?;
    }
    Ok(())
}

/// Term counts as WordPress keeps them: published objects of the taxonomy's post types.
pub async fn recount(conn: &mut Conn, p: &str) -> Result<()> {
    conn.query_drop(format!(
        "UPDATE `{p}term_taxonomy` tt SET count = (SELECT COUNT(*) FROM `{p}term_relationships` tr JOIN `{p}posts` po ON po.ID = tr.object_id \
         WHERE tr.term_taxonomy_id = tt.term_taxonomy_id AND po.post_status = 'publish' AND \
         (po.post_type = 'product' OR (tt.taxonomy = 'product_visibility' AND po.post_type = 'product_variation'))) \
         WHERE tt.taxonomy IN ('product_type', 'product_cat', 'product_visibility')"
    ))
    .await?;
    Ok(())
}
