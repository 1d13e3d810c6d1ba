//! Writing the category tree and keeping categories counted, as WordPress and WooCommerce do.
//!
//! [`write_tree`] creates what the feed names and the shop lacks, in one transaction before the
//! first chunk (so a crash leaves either none of it or all of it, and a resumed or repeated run
//! finds it by name): per category `wp_insert_term()`'s `wp_terms` and `wp_term_taxonomy` rows
//! (slug made unique by `wp_unique_term_slug()`), term meta `order = 0` as WooCommerce's admin
//! importers write it, the source group's `Ид` under `[sync] external_id_meta`, the
//! `wc_category_lookup` closure rows (CATALOGUE.md f1), and the `product_cat_children`
//! option rebuilt from the whole tree. A renamed 1C group renames its term (slug kept).
//!
//! [`recount`] is `_update_post_term_count()` and `_wc_term_recount()` for the categories a
//! chunk touched (CATALOGUE.md f2, f3): the direct count of published products, and the
//! `product_count_product_cat` meta of the category and its ancestors (published products
//! visible in the catalogue, in the category or below).

use std::collections::BTreeSet;

use mysql_async::prelude::*;
use mysql_async::{Conn, Transaction, TxOpts};
use serde::ser::{SerializeMap, Serializer};

use crate::catalog::categories::CategoryTree;
use crate::catalog::Shop;
use crate::error::{Error, Result};
use crate::plan::categories::{add_created, apply_renames, Node, TreePlan};
use crate::woo::slug::sanitize_title;

/// Creates, renames and links what `plan` says, then adds it to `tree`; returns the new terms'
/// (term ID, term_taxonomy ID) in the order of `plan.creates`.
pub async fn write_tree(conn: &mut Conn, shop: &Shop, plan: &TreePlan, tree: &mut CategoryTree, external_meta: &str) -> Result<Vec<(u64, u64)>> {
    let wrap = |e| Error::db("creating the product categories", e);
    let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(wrap)?;
    let ids = write(&mut tx, shop, plan, tree, external_meta).await.map_err(wrap)?;
    tx.commit().await.map_err(wrap)?;
    add_created(tree, plan, &ids);
    apply_renames(tree, plan);
    if !plan.creates.is_empty() {
        tracing::info!(created = plan.creates.len(), "created {} product categories", plan.creates.len());
    }
    Ok(ids)
}

async fn write(tx: &mut Transaction<'_>, shop: &Shop, plan: &TreePlan, tree: &CategoryTree, external_meta: &str) -> std::result::Result<Vec<(u64, u64)>, mysql_async::Error> {
    let p = &shop.prefix;
    let mut ids: Vec<(u64, u64)> = Vec::with_capacity(plan.creates.len());
    // Slugs and parents of the terms made here, for the slug rule and the closure rows.
    let mut made: Vec<(String, u64)> = Vec::new();
    for c in &plan.creates {
        let parent = match c.parent {
            None => 0,
            Some(Node::Existing(t)) => t,
            Some(Node::New(i)) => ids[i].0,
        };
        let base = match sanitize_title(&c.name) {
            s if s.is_empty() => "category".to_string(),
            s => s,
        };
        let slug = unique_term_slug(tx, p, &base, parent, tree, &ids, &made).await?;
        tx.exec_drop(format!("INSERT INTO `{p}terms` (name, slug, term_group) VALUES (?, ?, 0)"), (&c.name, &slug)).await?;
        let term_id = tx.last_insert_id().unwrap_or(0);
        tx.exec_drop(
            format!("INSERT INTO `{p}term_taxonomy` (term_id, taxonomy, description, parent, count) VALUES (?, 'product_cat', '', ?, 0)"),
            (term_id, parent),
        )
        .await?;
        let tt_id = tx.last_insert_id().unwrap_or(0);
        if term_id == 0 || tt_id == 0 {
            return Err(mysql_async::Error::Other("a new category's IDs could not be read back".into()));
        }
        tx.exec_drop(format!("INSERT INTO `{p}termmeta` (term_id, meta_key, meta_value) VALUES (?, 'order', '0')"), (term_id,)).await?;
        if let Some(x) = &c.external {
            tx.exec_drop(format!("INSERT INTO `{p}termmeta` (term_id, meta_key, meta_value) VALUES (?, ?, ?)"), (term_id, external_meta, x)).await?;
        }
        if shop.has_category_lookup {
            // The closure table: the term under itself and under each ancestor.
            let mut rows = vec![(term_id, term_id)];
            let mut at = parent;
            while at != 0 {
                rows.push((at, term_id));
                at = match made.iter().zip(&ids).find(|(_, (t, _))| *t == at) {
                    Some(((_, up), _)) => *up,
                    None => tree.get(at).map(|c| c.parent).unwrap_or(0),
                };
                if rows.len() > 64 {
                    break;
                }
            }
            tx.exec_batch(format!("INSERT IGNORE INTO `{p}wc_category_lookup` (category_tree_id, category_id) VALUES (?, ?)"), rows).await?;
        }
        ids.push((term_id, tt_id));
        made.push((slug, parent));
    }
    for r in &plan.renames {
        tx.exec_drop(format!("UPDATE `{p}terms` SET name = ? WHERE term_id = ?"), (&r.to, r.term_id)).await?;
    }
    for (term_id, x) in &plan.links {
        tx.exec_drop(format!("INSERT INTO `{p}termmeta` (term_id, meta_key, meta_value) VALUES (?, ?, ?)"), (term_id, external_meta, x)).await?;
    }
    if !plan.creates.is_empty() {
        let mut whole = tree.clone();
        add_created(&mut whole, plan, &ids);
        let value = children_option(&whole);
        let autoload: Option<String> = tx.query_first(format!("SELECT autoload FROM `{p}options` WHERE option_name = 'siteurl'")).await?;
        let autoload = if autoload.as_deref() == Some("yes") { "yes" } else { "auto" };
        tx.exec_drop(format!("DELETE FROM `{p}options` WHERE option_name = 'product_cat_children'"), ()).await?;
        tx.exec_drop(
            format!("INSERT INTO `{p}options` (option_name, option_value, autoload) VALUES ('product_cat_children', ?, ?)"),
            (value, autoload),
        )
        .await?;
    }
    Ok(ids)
}

/// `wp_unique_term_slug()` for a new `product_cat` term under `parent`: the slug as it is unless
/// a category has it; then with the parents' slugs appended (`-parent`, `-parent-grandparent`,
/// ...) until no term has it; then `-2`, `-3`, ... until no term of any taxonomy has it.
async fn unique_term_slug(
    tx: &mut Transaction<'_>,
    p: &str,
    base: &str,
    parent: u64,
    tree: &CategoryTree,
    ids: &[(u64, u64)],
    made: &[(String, u64)],
) -> std::result::Result<String, mysql_async::Error> {
    let in_taxonomy: Option<u64> = tx
        .exec_first(
            format!("SELECT t.term_id FROM `{p}terms` t JOIN `{p}term_taxonomy` tt ON tt.term_id = t.term_id WHERE tt.taxonomy = 'product_cat' AND t.slug = ? LIMIT 1"),
            (base,),
        )
        .await?;
    if in_taxonomy.is_none() {
        return Ok(base.to_string());
    }
    // A term of this run's or of the shop's, by ID: (slug, parent).
    let term = |id: u64| -> Option<(String, u64)> {
        match ids.iter().position(|(t, _)| *t == id) {
            Some(i) => made.get(i).cloned(),
            None => tree.get(id).map(|c| (c.slug.clone(), c.parent)),
        }
    };
    let mut slug = base.to_string();
    let mut suffix = String::new();
    let mut at = parent;
    while at != 0 {
        let Some((parent_slug, up)) = term(at) else { break };
        suffix.push('-');
        suffix.push_str(&parent_slug);
        if !term_exists(tx, p, &format!("{base}{suffix}")).await? || up == 0 {
            break;
        }
        at = up;
    }
    slug.push_str(&suffix);
    if slug_taken(tx, p, &slug).await? {
        let mut n = 2;
        while slug_taken(tx, p, &format!("{slug}-{n}")).await? {
            n += 1;
        }
        slug = format!("{slug}-{n}");
    }
    Ok(slug)
}

/// `term_exists($slug)` with no taxonomy: a term of any taxonomy with that slug or name.
async fn term_exists(tx: &mut Transaction<'_>, p: &str, slug: &str) -> std::result::Result<bool, mysql_async::Error> {
    let found: Option<u64> = tx.exec_first(format!("SELECT term_id FROM `{p}terms` WHERE slug = ? OR name = ? LIMIT 1"), (slug, slug)).await?;
    Ok(found.is_some())
}

async fn slug_taken(tx: &mut Transaction<'_>, p: &str, slug: &str) -> std::result::Result<bool, mysql_async::Error> {
    let found: Option<u64> = tx.exec_first(format!("SELECT term_id FROM `{p}terms` WHERE slug = ? LIMIT 1"), (slug,)).await?;
    Ok(found.is_some())
}

/// The `product_cat_children` option's value, PHP-serialized as WordPress writes it.
pub fn children_option(tree: &CategoryTree) -> String {
    struct Hierarchy(Vec<(u64, Vec<u64>)>);
    impl serde::Serialize for Hierarchy {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (parent, children) in &self.0 {
                map.serialize_entry(parent, children)?;
            }
            map.end()
        }
    }
    let bytes = php_serde::to_vec(&Hierarchy(tree.hierarchy())).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// The categories a chunk's writes touched: terms whose direct count may have moved (a
/// published product joined or left them), and terms whose catalogue count WooCommerce
/// recounts (every category a product was put in or taken out of; their ancestors follow).
#[derive(Debug, Default, Clone)]
pub struct Touched {
    /// term_taxonomy IDs.
    pub direct: BTreeSet<u64>,
    /// Term IDs.
    pub visible: BTreeSet<u64>,
    /// Whether a published product moved (else counts cannot change: only missing count meta is written).
    pub published: bool,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.visible.is_empty() && self.direct.is_empty()
    }
}

/// Recounts what a chunk touched, inside its transaction. Returns the term IDs whose count or
/// count meta was written (the object cache's term entries go).
pub async fn recount(tx: &mut Transaction<'_>, shop: &Shop, tree: &CategoryTree, touched: &Touched) -> std::result::Result<Vec<u64>, mysql_async::Error> {
    let p = &shop.prefix;
    let mut changed = Vec::new();
    for tt in &touched.direct {
        let before: Option<i64> = tx.exec_first(format!("SELECT count FROM `{p}term_taxonomy` WHERE term_taxonomy_id = ?"), (tt,)).await?;
        let now: Option<i64> = tx
            .exec_first(
                format!(
                    "SELECT COUNT(*) FROM `{p}term_relationships` tr JOIN `{p}posts` po ON po.ID = tr.object_id \
                     WHERE tr.term_taxonomy_id = ? AND po.post_status = 'publish' AND po.post_type = 'product'"
                ),
                (tt,),
            )
            .await?;
        if before != now {
            tx.exec_drop(format!("UPDATE `{p}term_taxonomy` SET count = ? WHERE term_taxonomy_id = ?"), (now.unwrap_or(0), tt)).await?;
            changed.extend(tree.by_tt(*tt).map(|c| c.term_id));
        }
    }
    let mut terms: BTreeSet<u64> = BTreeSet::new();
    for t in &touched.visible {
        terms.insert(*t);
        terms.extend(tree.ancestors(*t));
    }
    if terms.is_empty() {
        return Ok(changed);
    }
    let list = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let terms: Vec<u64> = terms.into_iter().collect();
    let held: Vec<(u64, u64, Option<String>)> = tx
        .query(format!(
            "SELECT term_id, meta_id, meta_value FROM `{p}termmeta` WHERE meta_key = 'product_count_product_cat' AND term_id IN ({}) ORDER BY meta_id",
            list(&terms)
        ))
        .await?;
    let mut exclude = vec![shop.exclude_from_catalog_tt];
    if shop.hide_out_of_stock {
        exclude.push(Some(shop.outofstock_tt));
    }
    let exclude: Vec<u64> = exclude.into_iter().flatten().collect();
    for term in terms {
        let rows: Vec<&(u64, u64, Option<String>)> = held.iter().filter(|(t, _, _)| *t == term).collect();
        if !touched.published && !rows.is_empty() {
            // Nothing published moved: the count stands, and it is there.
            continue;
        }
        let subtree = tree.subtree(term);
        let tts: Vec<u64> = subtree.iter().filter_map(|t| tree.get(*t)).map(|c| c.tt_id).collect();
        let excluded = if exclude.is_empty() {
            String::new()
        } else {
            format!(" AND NOT EXISTS (SELECT 1 FROM `{p}term_relationships` x WHERE x.object_id = po.ID AND x.term_taxonomy_id IN ({}))", list(&exclude))
        };
        let count: Option<u64> = tx
            .query_first(format!(
                "SELECT COUNT(DISTINCT po.ID) FROM `{p}posts` po JOIN `{p}term_relationships` tr ON tr.object_id = po.ID \
                 WHERE tr.term_taxonomy_id IN ({}) AND po.post_status = 'publish' AND po.post_type = 'product'{excluded}",
                list(&tts)
            ))
            .await?;
        let value = count.unwrap_or(0).to_string();
        match rows.first() {
            None => {
                tx.exec_drop(format!("INSERT INTO `{p}termmeta` (term_id, meta_key, meta_value) VALUES (?, 'product_count_product_cat', ?)"), (term, &value))
                    .await?;
                changed.push(term);
            }
            Some(_) if rows.iter().all(|(_, _, v)| v.as_deref() == Some(value.as_str())) => {}
            Some(_) => {
                tx.exec_drop(format!("UPDATE `{p}termmeta` SET meta_value = ? WHERE term_id = ? AND meta_key = 'product_count_product_cat'"), (&value, term))
                    .await?;
                changed.push(term);
            }
        }
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::categories::Category;

    #[test]
    fn the_children_option_is_serialized_as_wordpress_writes_it() {
        let cat = |term_id, parent| Category { term_id, tt_id: term_id, name: String::new(), slug: String::new(), parent, external: None };
        let tree = CategoryTree::new(vec![cat(15, 0), cat(16, 0), cat(17, 16), cat(18, 17)]);
        // CATALOGUE.md f1.
        assert_eq!(children_option(&tree), "a:2:{i:16;a:1:{i:0;i:17;}i:17;a:1:{i:0;i:18;}}");
        assert_eq!(children_option(&CategoryTree::new(vec![cat(15, 0)])), "a:0:{}");
    }
}
