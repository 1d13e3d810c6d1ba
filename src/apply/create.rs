//! Creating products exactly as WooCommerce does (WRITES.md §a, CATALOGUE.md f2, g2, g3, h1,
//! h2): the post row (description and short description as `post_content`/`post_excerpt`), the
//! meta rows in WooCommerce's order, the product type, category, attribute and out-of-stock
//! terms, the lookup row and the attribute lookup rows WooCommerce's queued update writes.
//!
//! A simple product or a variable parent is a `product` post in the new-product status. A
//! variation is a published `product_variation` post under its parent (created first, in the
//! same chunk) titled and summarised as WooCommerce titles it, with its 20 meta rows
//! (`_tax_class = parent`, `attribute_*`), its lookup row (`tax_class = parent`) and, out of
//! stock, the `outofstock` term — whose count rises, a variation being published although its
//! parent is a draft. The parent gets its `_price` rows last, as `WC_Product_Variable::sync()`
//! appends them. IDs come from AUTO_INCREMENT and are read back, never assumed consecutive.

use std::collections::{HashMap, HashSet};

use mysql_async::prelude::*;
use mysql_async::{Transaction, Value};

use super::statements::{self, LookupRow};
use super::{run_all, Target};
use crate::plan::{NewKind, NewProduct};
use crate::woo::{self, slug::sanitize_title};

/// One post row to insert.
struct Post<'a> {
    title: &'a str,
    content: &'a str,
    excerpt: &'a str,
    status: &'a str,
    comment_status: &'a str,
    parent: u64,
    post_type: &'static str,
}

pub(super) async fn insert_products(
    tx: &mut Transaction<'_>,
    target: &Target<'_>,
    chunk_no: u32,
    creates: &[&NewProduct],
    pictures: &super::media::ChunkPictures,
    local: &str,
    gmt: &str,
) -> Result<Vec<u64>, mysql_async::Error> {
    let shop = target.shop;
    let p = &shop.prefix;
    let status = target.new_status;
    fn text(c: &NewProduct) -> (&str, &str) {
        let content = c.content.as_deref();
        (
            content.and_then(|c| c.description.as_deref()).unwrap_or(""),
            content.and_then(|c| c.short_description.as_deref()).unwrap_or(""),
        )
    }

    // Products (simple and variable) first: variations need their parents' IDs.
    let mut ids: Vec<u64> = vec![0; creates.len()];
    let products: Vec<usize> = (0..creates.len()).filter(|&i| !matches!(creates[i].kind, NewKind::Variation(_))).collect();
    let posts: Vec<Post> = products
        .iter()
        .map(|&i| {
            let (content, excerpt) = text(creates[i]);
            Post { title: &creates[i].title, content, excerpt, status, comment_status: "open", parent: 0, post_type: "product" }
        })
        .collect();
    for (&i, id) in products.iter().zip(insert_posts(tx, target, chunk_no, "p", &posts, local, gmt).await?) {
        ids[i] = id;
    }
    // A variation's parent is the variable product before it in its unit.
    let mut parent_of: Vec<u64> = vec![0; creates.len()];
    let mut parent = 0;
    for (i, c) in creates.iter().enumerate() {
        match &c.kind {
            NewKind::Variable(_) => parent = ids[i],
            NewKind::Variation(v) if v.parent != 0 => parent_of[i] = v.parent,
            NewKind::Variation(_) => parent_of[i] = parent,
            NewKind::Simple => parent = 0,
        }
    }
    let variations: Vec<usize> = (0..creates.len()).filter(|&i| matches!(creates[i].kind, NewKind::Variation(_))).collect();
    if variations.iter().any(|&i| parent_of[i] == 0) {
        return Err(mysql_async::Error::Other("a new variation has no parent in its unit".into()));
    }
    let posts: Vec<Post> = variations
        .iter()
        .map(|&i| {
            let excerpt = match &creates[i].kind {
                NewKind::Variation(v) => v.excerpt.as_str(),
                _ => "",
            };
            Post { title: &creates[i].title, content: "", excerpt, status: "publish", comment_status: "closed", parent: parent_of[i], post_type: "product_variation" }
        })
        .collect();
    for (&i, id) in variations.iter().zip(insert_posts(tx, target, chunk_no, "v", &posts, local, gmt).await?) {
        ids[i] = id;
    }

    // Final post_name and guid: drafts and pending products have no slug yet (WordPress gives
    // one on publish); private products and (published) variations get a unique one.
    let mut names: Vec<(u64, String, String)> = Vec::new();
    let mut taken_here: HashSet<String> = HashSet::new();
    let variation_bases: Vec<String> = variations.iter().map(|&i| base_slug(&creates[i].title, ids[i])).collect();
    let taken_variations = taken_among(tx, p, "product_variation", &variation_bases).await?;
    for (i, c) in creates.iter().enumerate() {
        let id = ids[i];
        if let NewKind::Variation(_) = c.kind {
            let base = base_slug(&c.title, id);
            let slug = if taken_variations.contains(&base) || taken_here.contains(&base) {
                unique_slug(tx, p, "product_variation", &base, id, &mut taken_here).await?
            } else {
                taken_here.insert(base.clone());
                base
            };
            names.push((id, slug, format!("{}/?post_type=product_variation&p={id}", shop.siteurl)));
        } else if matches!(status, "draft" | "pending") {
            names.push((id, String::new(), format!("{}/?post_type=product&p={id}", shop.siteurl)));
        } else {
            let slug = unique_slug(tx, p, "product", &base_slug(&c.title, id), id, &mut taken_here).await?;
            names.push((id, slug.clone(), format!("{}/?product={slug}", shop.siteurl)));
        }
    }
    for batch in names.chunks(statements::BATCH) {
        let derived = batch
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "SELECT ? AS id, ? AS name, ? AS guid" } else { "SELECT ?, ?, ?" })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        tx.exec_drop(
            format!("UPDATE `{p}posts` po JOIN ({derived}) x ON po.ID = x.id SET po.post_name = x.name, po.guid = x.guid"),
            batch.iter().flat_map(|(id, n, g)| [Value::from(*id), Value::from(n.as_str()), Value::from(g.as_str())]).collect::<Vec<_>>(),
        )
        .await?;
    }

    // Pictures: the attachments (entered now, the product their parent) of each new product.
    let mut images: Vec<Vec<u64>> = vec![Vec::new(); creates.len()];
    for (i, c) in creates.iter().enumerate() {
        if !c.sku.is_empty() {
            images[i] = pictures.attach(tx, target, &c.sku, ids[i], local, gmt).await?;
        }
    }

    let mut meta: Vec<(u64, &str, Option<String>)> = Vec::new();
    let mut last_meta: Vec<(u64, &str, Option<String>)> = Vec::new();
    let mut terms: Vec<(u64, u64)> = Vec::new();
    let mut lookups: Vec<LookupRow> = Vec::new();
    let mut attribute_lookups: Vec<(u64, u64, &str, u64, bool, bool)> = Vec::new();
    let mut outofstock_variations: i64 = 0;
    // Products first, then variations: a parent's meta rows precede its variations'.
    let order = products.iter().chain(&variations);
    for &i in order {
        let (c, id) = (creates[i], ids[i]);
        let s = |v: &str| Some(v.to_string());
        let gtin = c.content.as_deref().and_then(|c| c.gtin.as_deref());
        let variation = match &c.kind {
            NewKind::Variation(v) => Some(v),
            _ => None,
        };
        if variation.is_some() {
            meta.push((id, "_variation_description", s("")));
        }
        // WooCommerce keeps no `_sku` row for an empty SKU (a variation made without one).
        if !c.sku.is_empty() {
            meta.push((id, "_sku", s(&c.sku)));
        }
        if let Some(g) = gtin {
            meta.push((id, "_global_unique_id", s(g)));
        }
        if let Some(r) = &c.regular {
            meta.push((id, "_regular_price", s(&r.text())));
        }
        if let Some(sale) = &c.sale {
            meta.push((id, "_sale_price", s(&sale.text())));
        }
        // The pictures' keys where WooCommerce's data store writes them (`update_post_meta()`'s
        // order): the gallery after `_downloadable`, the featured image after `_download_expiry`.
        let (featured, gallery) = match images[i].split_first() {
            Some((first, rest)) => (Some(first.to_string()), (!rest.is_empty()).then(|| rest.iter().map(u64::to_string).collect::<Vec<_>>().join(","))),
            None => (None, None),
        };
        meta.extend([
            (id, "total_sales", s("0")),
            (id, "_tax_status", s("taxable")),
            (id, "_tax_class", s(if variation.is_some() { "parent" } else { "" })),
            (id, "_manage_stock", s(if c.stock.is_some() { "yes" } else { "no" })),
            (id, "_backorders", s("no")),
            (id, "_sold_individually", s("no")),
            (id, "_virtual", s("no")),
            (id, "_downloadable", s("no")),
        ]);
        if gallery.is_some() {
            meta.push((id, "_product_image_gallery", gallery));
        }
        meta.extend([(id, "_download_limit", s("-1")), (id, "_download_expiry", s("-1"))]);
        if featured.is_some() {
            meta.push((id, "_thumbnail_id", featured));
        }
        meta.extend([
            (id, "_stock", c.stock.map(|q| q.to_string())),
            (id, "_stock_status", s(c.stock_status)),
            (id, "_wc_average_rating", s("0")),
            (id, "_wc_review_count", s("0")),
        ]);
        let in_stock = c.stock_status != woo::OUTOFSTOCK;
        if let Some(a) = &c.attributes {
            meta.push((id, "_product_attributes", s(&crate::woo::attributes::product_attributes(&a.entries))));
            terms.extend(a.term_taxonomy_ids.iter().map(|tt| (id, *tt)));
            // What WooCommerce's queued lookup update writes for the product itself
            // (LookupDataStore: a simple product's taxonomy attributes, a parent's non-variation ones).
            attribute_lookups.extend(a.lookup.iter().map(|(taxonomy, term)| (id, id, taxonomy.as_str(), *term, false, in_stock)));
        }
        let mut lookup = match &c.kind {
            NewKind::Variable(parent) => super::lookup_row(id, &parent.lookup),
            _ => super::lookup_row(id, &woo::LookupValues::for_simple(&c.sku, c.price.as_ref(), c.sale.as_ref(), c.stock, c.stock_status)),
        };
        lookup.global_unique_id = gtin.map(str::to_string);
        match &c.kind {
            NewKind::Variation(v) => {
                meta.extend(v.attributes.iter().map(|(k, value)| (id, k.as_str(), s(value))));
                if let Some(price) = &c.price {
                    meta.push((id, "_price", s(&price.text())));
                }
                meta.push((id, "_product_version", s(&shop.wc_version)));
                attribute_lookups.extend(v.lookup.iter().map(|(taxonomy, term)| (id, parent_of[i], taxonomy.as_str(), *term, true, in_stock)));
                lookup.tax_class = "parent";
                if !in_stock {
                    terms.push((id, shop.outofstock_tt));
                    outofstock_variations += 1;
                }
            }
            NewKind::Variable(parent) => {
                meta.push((id, "_product_version", s(&shop.wc_version)));
                last_meta.extend(parent.prices.iter().map(|price| (id, "_price", s(&price.text()))));
                let variable = shop.variable_tt.ok_or_else(|| mysql_async::Error::Other("the shop has no product_type:variable term".into()))?;
                terms.push((id, variable));
            }
            NewKind::Simple => {
                meta.push((id, "_product_version", s(&shop.wc_version)));
                if let Some(price) = &c.price {
                    meta.push((id, "_price", s(&price.text())));
                }
                terms.push((id, shop.simple_tt));
            }
        }
        if let Some(x) = &c.external_id {
            meta.push((id, target.external_id_meta, s(x)));
        }
        // `[source.meta]` keys after the product's own rows (WooCommerce saves a product's `meta_data` after its props).
        for (entry, value) in c.content.as_deref().and_then(|c| c.meta.as_deref()).unwrap_or(&[]) {
            if let Some(m) = target.rules.meta.get(*entry as usize) {
                meta.push((id, m.key, s(value)));
            }
        }
        // What woosync put there from the feed's pictures (`update_content = ["images"]` compares it).
        let (named, sizes) = super::media::new_pictures(c);
        if !named.is_empty() && !c.sku.is_empty() && target.pictures.is_some() {
            let print = crate::plan::pictures::print(named, sizes);
            meta.push((id, crate::plan::pictures::IMAGES_META, s(&crate::plan::pictures::record(&print, pictures.complete(&c.sku), &images[i]))));
        }
        if variation.is_none() {
            if !c.categories.is_empty() {
                terms.extend(c.categories.iter().map(|(_, tt)| (id, *tt)));
            } else if let Some(cat) = shop.default_cat_tt {
                terms.push((id, cat));
            }
            if !in_stock {
                terms.push((id, shop.outofstock_tt));
            }
        }
        lookups.push(lookup);
    }
    meta.extend(last_meta);
    run_all(tx, statements::insert_meta(p, &meta)).await?;
    run_all(tx, statements::add_terms(p, &terms)).await?;
    if outofstock_variations > 0 {
        tx.exec_drop(format!("UPDATE `{p}term_taxonomy` SET count = count + ? WHERE term_taxonomy_id = ?"), (outofstock_variations, shop.outofstock_tt)).await?;
    }
    run_all(tx, statements::upsert_lookup(p, shop.has_global_unique_id, &lookups)).await?;
    if shop.has_attribute_lookup {
        run_all(tx, statements::add_attribute_lookups(p, &attribute_lookups)).await?;
    }
    Ok(ids)
}

/// Inserts the post rows and reads their IDs back (by a temporary, indexed `post_name`).
async fn insert_posts(tx: &mut Transaction<'_>, target: &Target<'_>, chunk_no: u32, tag: &str, posts: &[Post<'_>], local: &str, gmt: &str) -> Result<Vec<u64>, mysql_async::Error> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let shop = target.shop;
    let p = &shop.prefix;
    let tokens: Vec<String> = (0..posts.len()).map(|i| format!("woosync-new-{}-{chunk_no}-{tag}{i}", target.run_id)).collect();
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, 'closed', '', ?, '', '', ?, ?, '', ?, '', 0, ?, '', 0)";
    let pairs: Vec<(&Post, &String)> = posts.iter().zip(&tokens).collect();
    // Long names and descriptions are batched apart, below the server's packet limit.
    let size = |(c, _): &(&Post, &String)| c.title.len() + c.content.len() + c.excerpt.len() + 200;
    for batch in statements::by_size(&pairs, statements::BATCH, shop.widths.packet / 2, size) {
        let sql = format!(
            "INSERT INTO `{p}posts` (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, \
             comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, \
             post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count) VALUES {}",
            vec![row; batch.len()].join(",")
        );
        let mut params: Vec<Value> = Vec::new();
        for (c, token) in batch {
            params.extend([
                Value::from(target.author_id),
                Value::from(local),
                Value::from(gmt),
                Value::from(c.content),
                Value::from(c.title),
                Value::from(c.excerpt),
                Value::from(c.status),
                Value::from(c.comment_status),
                Value::from(token.as_str()),
                Value::from(local),
                Value::from(gmt),
                Value::from(c.parent),
                Value::from(c.post_type),
            ]);
        }
        tx.exec_drop(sql, params).await?;
    }
    let post_type = posts[0].post_type;
    let mut by_token: HashMap<String, u64> = HashMap::new();
    for batch in tokens.chunks(statements::BATCH) {
        let found: Vec<(u64, String)> = tx
            .exec(
                format!("SELECT ID, post_name FROM `{p}posts` WHERE post_type = ? AND post_name IN ({})", vec!["?"; batch.len()].join(",")),
                std::iter::once(Value::from(post_type)).chain(batch.iter().map(|t| Value::from(t.as_str()))).collect::<Vec<_>>(),
            )
            .await?;
        by_token.extend(found.into_iter().map(|(id, name)| (name, id)));
    }
    let ids: Vec<u64> = tokens.iter().map(|t| by_token.get(t).copied().unwrap_or(0)).collect();
    if ids.contains(&0) {
        return Err(mysql_async::Error::Other("new product rows could not be read back".into()));
    }
    Ok(ids)
}

/// `sanitize_title()` of the title, or the ID when nothing is left of it.
fn base_slug(title: &str, id: u64) -> String {
    match sanitize_title(title) {
        s if s.is_empty() => id.to_string(),
        s => s,
    }
}

/// Which of the slugs posts of the type hold already (one query for a chunk's variations).
async fn taken_among(tx: &mut Transaction<'_>, p: &str, post_type: &str, slugs: &[String]) -> Result<HashSet<String>, mysql_async::Error> {
    let mut taken = HashSet::new();
    for batch in slugs.chunks(statements::BATCH) {
        let found: Vec<String> = tx
            .exec(
                format!("SELECT post_name FROM `{p}posts` WHERE post_type = ? AND post_name IN ({})", vec!["?"; batch.len()].join(",")),
                std::iter::once(Value::from(post_type)).chain(batch.iter().map(|s| Value::from(s.as_str()))).collect::<Vec<_>>(),
            )
            .await?;
        taken.extend(found);
    }
    Ok(taken)
}

/// `wp_unique_post_slug()`: the slug, or the first free `slug-2`, `slug-3`, ... among posts of
/// the type.
async fn unique_slug(
    tx: &mut Transaction<'_>,
    p: &str,
    post_type: &str,
    base: &str,
    id: u64,
    taken_here: &mut HashSet<String>,
) -> Result<String, mysql_async::Error> {
    let like = format!("{}-%", base.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let existing: Vec<String> = tx
        .exec(
            format!("SELECT post_name FROM `{p}posts` WHERE post_type = ? AND ID <> ? AND (post_name = ? OR post_name LIKE ?)"),
            (post_type, id, base, like),
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
