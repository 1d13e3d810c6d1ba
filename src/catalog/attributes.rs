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
