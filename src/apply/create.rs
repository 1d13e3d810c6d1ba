//! Creating products exactly as WooCommerce does for a new simple product (WRITES.md §a): the
//! post row (with the description and short description as `post_content`/`post_excerpt`,
//! CATALOGUE.md h1), the fixed set of meta rows in WooCommerce's order (`_global_unique_id`
//! after `_sku` when the feed gives a GTIN, h2), the `product_type:simple` and
//! default category terms, the lookup row. New products are never published, so no term
//! count changes. IDs come from AUTO_INCREMENT and are read back, never assumed consecutive.

use std::collections::{HashMap, HashSet};

use mysql_async::prelude::*;
use mysql_async::{Transaction, Value};

use super::statements::{self, LookupRow};
use super::{run_all, Target};
use crate::plan::NewProduct;
use crate::woo::{self, slug::sanitize_title};

pub(super) async fn insert_products(
    tx: &mut Transaction<'_>,
    target: &Target<'_>,
    chunk_no: u32,
    creates: &[&NewProduct],
    local: &str,
    gmt: &str,
) -> Result<Vec<u64>, mysql_async::Error> {
    let shop = target.shop;
    let p = &shop.prefix;
    let status = target.new_status;
    let external_id_meta = target.external_id_meta;
    // A temporary, indexed post_name lets the new IDs be read back in one statement.
    let tokens: Vec<String> = (0..creates.len()).map(|i| format!("woosync-new-{}-{chunk_no}-{i}", target.run_id)).collect();
    let row = "(?, ?, ?, ?, ?, ?, ?, 'open', 'closed', '', ?, '', '', ?, ?, '', 0, '', 0, 'product', '', 0)";
    let pairs: Vec<(&NewProduct, &String)> = creates.iter().copied().zip(&tokens).collect();
    fn text(c: &NewProduct) -> (&str, &str) {
        let content = c.content.as_deref();
        (
            content.and_then(|c| c.description.as_deref()).unwrap_or(""),
            content.and_then(|c| c.short_description.as_deref()).unwrap_or(""),
        )
    }
    // Long names and descriptions are batched apart, below the server's packet limit.
    let size = |(c, _): &(&NewProduct, &String)| c.title.len() + text(c).0.len() + text(c).1.len() + 200;
    for batch in statements::by_size(&pairs, statements::BATCH, shop.widths.packet / 2, size) {
        let sql = format!(
            "INSERT INTO `{p}posts` (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, \
             comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, \
             post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count) VALUES {}",
            vec![row; batch.len()].join(",")
        );
        let mut params: Vec<Value> = Vec::new();
        for (c, token) in batch {
            let (content, excerpt) = text(c);
            params.extend([
                Value::from(target.author_id),
                Value::from(local),
                Value::from(gmt),
                Value::from(content),
                Value::from(c.title.as_str()),
                Value::from(excerpt),
                Value::from(status),
                Value::from(token.as_str()),
                Value::from(local),
                Value::from(gmt),
            ]);
        }
        tx.exec_drop(sql, params).await?;
    }

    let found: Vec<(u64, String)> = tx
        .exec(
            format!(
                "SELECT ID, post_name FROM `{p}posts` WHERE post_type = 'product' AND post_name IN ({})",
                vec!["?"; tokens.len()].join(",")
            ),
            tokens.iter().map(|t| Value::from(t.as_str())).collect::<Vec<_>>(),
        )
        .await?;
    let by_token: HashMap<String, u64> = found.into_iter().map(|(id, name)| (name, id)).collect();
    let ids: Vec<u64> = tokens.iter().map(|t| by_token.get(t).copied().unwrap_or(0)).collect();
    if ids.contains(&0) {
        return Err(mysql_async::Error::Other("new product rows could not be read back".into()));
    }

    // Final post_name and guid: drafts and pending products have no slug yet (WordPress gives
    // one on publish); private ones get a unique slug from the title.
    let mut names: Vec<(u64, String, String)> = Vec::new();
    let mut taken_here: HashSet<String> = HashSet::new();
    for (c, &id) in creates.iter().zip(&ids) {
        if matches!(status, "draft" | "pending") {
            names.push((id, String::new(), format!("{}/?post_type=product&p={id}", shop.siteurl)));
        } else {
            let base = match sanitize_title(&c.title) {
                s if s.is_empty() => id.to_string(),
                s => s,
            };
            let slug = unique_slug(tx, p, &base, id, &mut taken_here).await?;
            names.push((id, slug.clone(), format!("{}/?product={slug}", shop.siteurl)));
        }
    }
    let derived = names
        .iter()
        .enumerate()
        .map(|(i, _)| if i == 0 { "SELECT ? AS id, ? AS name, ? AS guid" } else { "SELECT ?, ?, ?" })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    tx.exec_drop(
        format!("UPDATE `{p}posts` po JOIN ({derived}) x ON po.ID = x.id SET po.post_name = x.name, po.guid = x.guid"),
        names.iter().flat_map(|(id, n, g)| [Value::from(*id), Value::from(n.as_str()), Value::from(g.as_str())]).collect::<Vec<_>>(),
    )
    .await?;

    let mut meta: Vec<(u64, &str, Option<String>)> = Vec::new();
    let mut terms: Vec<(u64, u64)> = Vec::new();
    let mut lookups: Vec<LookupRow> = Vec::new();
    let mut attribute_lookups: Vec<(u64, u64, &str, u64, bool, bool)> = Vec::new();
    for (c, &id) in creates.iter().zip(&ids) {
        let s = |v: &str| Some(v.to_string());
        meta.push((id, "_sku", s(&c.sku)));
        let gtin = c.content.as_deref().and_then(|c| c.gtin.as_deref());
        if let Some(g) = gtin {
            meta.push((id, "_global_unique_id", s(g)));
        }
        if let Some(r) = &c.regular {
            meta.push((id, "_regular_price", s(&r.text())));
        }
        if let Some(sale) = &c.sale {
            meta.push((id, "_sale_price", s(&sale.text())));
        }
        meta.extend([
            (id, "total_sales", s("0")),
            (id, "_tax_status", s("taxable")),
            (id, "_tax_class", s("")),
            (id, "_manage_stock", s(if c.stock.is_some() { "yes" } else { "no" })),
            (id, "_backorders", s("no")),
            (id, "_sold_individually", s("no")),
            (id, "_virtual", s("no")),
            (id, "_downloadable", s("no")),
            (id, "_download_limit", s("-1")),
            (id, "_download_expiry", s("-1")),
            (id, "_stock", c.stock.map(|q| q.to_string())),
            (id, "_stock_status", s(c.stock_status)),
            (id, "_wc_average_rating", s("0")),
            (id, "_wc_review_count", s("0")),
        ]);
        if let Some(a) = &c.attributes {
            meta.push((id, "_product_attributes", s(&crate::woo::attributes::product_attributes(&a.entries))));
            terms.extend(a.term_taxonomy_ids.iter().map(|tt| (id, *tt)));
            // What WooCommerce's queued lookup update writes for a simple product (LookupDataStore).
            let in_stock = c.stock_status != woo::OUTOFSTOCK;
            attribute_lookups.extend(a.lookup.iter().map(|(taxonomy, term)| (id, id, taxonomy.as_str(), *term, false, in_stock)));
        }
        meta.push((id, "_product_version", s(&shop.wc_version)));
        if let Some(price) = &c.price {
            meta.push((id, "_price", s(&price.text())));
        }
        if let Some(x) = &c.external_id {
            meta.push((id, external_id_meta, s(x)));
        }
        terms.push((id, shop.simple_tt));
        if !c.categories.is_empty() {
            terms.extend(c.categories.iter().map(|(_, tt)| (id, *tt)));
        } else if let Some(cat) = shop.default_cat_tt {
            terms.push((id, cat));
        }
        if c.stock_status == woo::OUTOFSTOCK {
            terms.push((id, shop.outofstock_tt));
        }
        let values = woo::LookupValues::for_simple(&c.sku, c.price.as_ref(), c.sale.as_ref(), c.stock, c.stock_status);
        let mut lookup = super::lookup_row(id, &values);
        lookup.global_unique_id = gtin.map(str::to_string);
        lookups.push(lookup);
    }
    run_all(tx, statements::insert_meta(p, &meta)).await?;
    run_all(tx, statements::add_terms(p, &terms)).await?;
    run_all(tx, statements::upsert_lookup(p, shop.has_global_unique_id, &lookups)).await?;
    if shop.has_attribute_lookup {
        run_all(tx, statements::add_attribute_lookups(p, &attribute_lookups)).await?;
    }
    Ok(ids)
}

/// `wp_unique_post_slug()`: the slug, or the first free `slug-2`, `slug-3`, ... among products.
async fn unique_slug(
    tx: &mut Transaction<'_>,
    p: &str,
    base: &str,
    id: u64,
    taken_here: &mut HashSet<String>,
) -> Result<String, mysql_async::Error> {
    let like = format!("{}-%", base.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let existing: Vec<String> = tx
        .exec(
            format!("SELECT post_name FROM `{p}posts` WHERE post_type = 'product' AND ID <> ? AND (post_name = ? OR post_name LIKE ?)"),
            (id, base, like),
        )
        .await?;
    let taken = |s: &str| existing.iter().any(|e| e == s) || taken_here.contains(s);
    let mut slug = base.to_string();
    let mut n = 2;
    while taken(&slug) {
        let suffix = format!("-{n}");
        let mut stem = base.to_string();
        while stem.len() + suffix.len() > 200 {
            stem.pop();
        }
        slug = format!("{}{suffix}", stem.trim_end_matches('-'));
        n += 1;
    }
    taken_here.insert(slug.clone());
    Ok(slug)
}
