//! The shop's global product attributes as WooCommerce holds them: the rows of
//! `woocommerce_attribute_taxonomies` (slug without `pa_`, label) and the terms of each `pa_*`
//! taxonomy (term, term_taxonomy id, name as stored, slug). Read once per run when the feed
//! gives attributes. Reads only.

use std::collections::HashMap;

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::error::{Error, Result};
use crate::woo::terms::name_key;

/// One `woocommerce_attribute_taxonomies` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalAttribute {
    pub id: u64,
    /// `attribute_name`: the slug, the taxonomy without `pa_`.
    pub slug: String,
    pub label: String,
}

impl GlobalAttribute {
    pub fn taxonomy(&self) -> String {
        format!("pa_{}", self.slug)
    }
}

/// A term of a `pa_*` taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeTerm {
    pub term_id: u64,
    pub tt_id: u64,
    /// As stored (`&` as `&amp;`).
    pub name: String,
    pub slug: String,
}

/// The global attributes and their terms.
#[derive(Debug, Clone, Default)]
pub struct ShopAttributes {
    pub attributes: Vec<GlobalAttribute>,
    /// Terms by taxonomy (`pa_razmer`).
    pub terms: HashMap<String, Vec<AttributeTerm>>,
}

impl ShopAttributes {
    pub async fn load(conn: &mut Conn, prefix: &str) -> Result<ShopAttributes> {
        let wrap = |e| Error::db("reading the product attributes", e);
        let rows: Vec<(u64, String, Option<String>)> = conn
            .query(format!("SELECT attribute_id, attribute_name, attribute_label FROM `{prefix}woocommerce_attribute_taxonomies` WHERE attribute_name <> '' ORDER BY attribute_id"))
            .await
            .map_err(wrap)?;
        let attributes = rows.into_iter().map(|(id, slug, label)| GlobalAttribute { id, slug, label: label.unwrap_or_default() }).collect();
        let terms: Vec<(u64, u64, String, String, String)> = conn
            .query(format!(
                "SELECT t.term_id, tt.term_taxonomy_id, tt.taxonomy, t.name, t.slug FROM `{prefix}term_taxonomy` tt \
                 JOIN `{prefix}terms` t ON t.term_id = tt.term_id WHERE tt.taxonomy LIKE 'pa\\_%' ORDER BY t.term_id"
            ))
            .await
            .map_err(wrap)?;
        let mut by_taxonomy: HashMap<String, Vec<AttributeTerm>> = HashMap::new();
        for (term_id, tt_id, taxonomy, name, slug) in terms {
            by_taxonomy.entry(taxonomy).or_default().push(AttributeTerm { term_id, tt_id, name, slug });
        }
        Ok(ShopAttributes { attributes, terms: by_taxonomy })
    }

    /// The attribute with this slug (`attribute_name`, compared as the shop's collation does).
    pub fn by_slug(&self, slug: &str) -> Option<&GlobalAttribute> {
        let slug = slug.to_lowercase();
        self.attributes.iter().find(|a| a.slug.to_lowercase() == slug)
    }

    /// The attribute labelled with this name (as shown, any case).
    pub fn by_label(&self, name: &str) -> Option<&GlobalAttribute> {
        let key = name_key(name);
        self.attributes.iter().find(|a| name_key(&a.label) == key)
    }

    /// The term of a taxonomy with this name (as shown, any case).
    pub fn term_named(&self, taxonomy: &str, name: &str) -> Option<&AttributeTerm> {
        let key = name_key(name);
        self.terms.get(taxonomy)?.iter().find(|t| name_key(&t.name) == key)
    }
}

/// What adding a variation to a variable product the shop has needs to know of it: its title,
/// its `_product_attributes` (meta_id and entries, by position), the attribute terms it is in,
/// and each variation's `attribute_*` values.
#[derive(Debug, Clone, Default)]
pub struct ParentCard {
    pub title: String,
    /// The `_product_attributes` row's meta_id, if it has one.
    pub attributes_meta: Option<u64>,
    /// Its attributes; `None` when the stored value cannot be read.
    pub entries: Option<Vec<crate::woo::attributes::Entry>>,
    /// term_taxonomy IDs of its `pa_*` terms.
    pub terms: Vec<u64>,
    /// Each variation's `attribute_*` meta: (variation, key without `attribute_`, value).
    pub children: Vec<(u64, String, String)>,
}

/// One stored `_product_attributes` entry (WooCommerce writes the numbers as integers).
#[derive(serde::Deserialize)]
struct StoredEntry {
    name: String,
    value: String,
    position: i64,
    is_visible: i64,
    is_variation: i64,
    is_taxonomy: i64,
}

/// `_product_attributes` as stored, in position order; `None` when it is not what WooCommerce writes.
pub fn parse_product_attributes(stored: &str) -> Option<Vec<crate::woo::attributes::Entry>> {
    let map: std::collections::BTreeMap<String, StoredEntry> = php_serde::from_bytes(stored.as_bytes()).ok()?;
    let mut entries: Vec<(i64, crate::woo::attributes::Entry)> = map
        .into_iter()
        .map(|(key, e)| {
            (e.position, crate::woo::attributes::Entry { key, name: e.name, value: e.value, is_variation: e.is_variation != 0, is_taxonomy: e.is_taxonomy != 0, is_visible: e.is_visible != 0 })
        })
        .collect();
    entries.sort_by_key(|(p, _)| *p);
    Some(entries.into_iter().map(|(_, e)| e).collect())
}

impl ParentCard {
    /// The cards of `parents`, whose variations are `children`.
    pub async fn load(conn: &mut Conn, prefix: &str, parents: &[u64], children: &HashMap<u64, Vec<u64>>) -> Result<HashMap<u64, ParentCard>> {
        let wrap = |e| Error::db("reading the variable products that get new variations", e);
        let mut cards: HashMap<u64, ParentCard> = parents.iter().map(|p| (*p, ParentCard::default())).collect();
        for batch in parents.chunks(1000) {
            let list = batch.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let titles: Vec<(u64, String)> = conn.query(format!("SELECT ID, post_title FROM `{prefix}posts` WHERE ID IN ({list})")).await.map_err(wrap)?;
            for (id, title) in titles {
                cards.entry(id).or_default().title = title;
            }
            let attrs: Vec<(u64, u64, Option<String>)> = conn
                .query(format!("SELECT post_id, meta_id, meta_value FROM `{prefix}postmeta` WHERE post_id IN ({list}) AND meta_key = '_product_attributes' ORDER BY meta_id"))
                .await
                .map_err(wrap)?;
            for (id, meta_id, value) in attrs {
                let card = cards.entry(id).or_default();
                if card.attributes_meta.is_none() {
                    card.attributes_meta = Some(meta_id);
                    card.entries = parse_product_attributes(value.as_deref().unwrap_or(""));
                }
            }
            let terms: Vec<(u64, u64)> = conn
                .query(format!(
                    "SELECT tr.object_id, tr.term_taxonomy_id FROM `{prefix}term_relationships` tr JOIN `{prefix}term_taxonomy` tt \
                     ON tt.term_taxonomy_id = tr.term_taxonomy_id WHERE tr.object_id IN ({list}) AND tt.taxonomy LIKE 'pa\\_%'"
                ))
                .await
                .map_err(wrap)?;
            for (id, tt) in terms {
                cards.entry(id).or_default().terms.push(tt);
            }
        }
        for card in cards.values_mut() {
            if card.attributes_meta.is_none() {
                card.entries = Some(Vec::new());
            }
        }
        let kids: Vec<(u64, u64)> = parents.iter().flat_map(|p| children.get(p).into_iter().flatten().map(move |c| (*c, *p))).collect();
        let parent_of: HashMap<u64, u64> = kids.iter().copied().collect();
        for batch in kids.chunks(1000) {
            let list = batch.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>().join(",");
            let rows: Vec<(u64, String, Option<String>)> = conn
                .query(format!("SELECT post_id, meta_key, meta_value FROM `{prefix}postmeta` WHERE post_id IN ({list}) AND meta_key LIKE 'attribute\\_%' ORDER BY meta_id"))
                .await
                .map_err(wrap)?;
            for (child, key, value) in rows {
                if let Some(card) = parent_of.get(&child).and_then(|p| cards.get_mut(p)) {
                    card.children.push((child, key["attribute_".len()..].to_string(), value.unwrap_or_default()));
                }
            }
        }
        Ok(cards)
    }
}
