//! The read side of WooCommerce: connect, check the shop is one woosync can write to
//! ([`Shop::inspect`]), and read everything the planner needs in a few sequential passes
//! ([`Catalog::load`]): products and variations, their price/stock meta, their lookup rows,
//! product types and `outofstock` terms. It never writes.

pub mod shop;

use std::collections::HashMap;

use compact_str::CompactString;
use mysql_async::prelude::*;
use mysql_async::Conn;
use rust_decimal::Decimal;

pub use shop::{connect, Shop};

use crate::error::{Error, Result};
use crate::model::{sku_key, Money};
use crate::woo::LookupValues;

/// The meta keys woosync reads and writes, in the order WooCommerce writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Sku = 0,
    RegularPrice,
    SalePrice,
    SaleFrom,
    SaleTo,
    ManageStock,
    Backorders,
    Stock,
    StockStatus,
    Price,
}

impl Key {
    pub const ALL: [Key; 10] = [
        Key::Sku,
        Key::RegularPrice,
        Key::SalePrice,
        Key::SaleFrom,
        Key::SaleTo,
        Key::ManageStock,
        Key::Backorders,
        Key::Stock,
        Key::StockStatus,
        Key::Price,
    ];

    pub fn meta_key(self) -> &'static str {
        match self {
            Key::Sku => "_sku",
            Key::RegularPrice => "_regular_price",
            Key::SalePrice => "_sale_price",
            Key::SaleFrom => "_sale_price_dates_from",
            Key::SaleTo => "_sale_price_dates_to",
            Key::ManageStock => "_manage_stock",
            Key::Backorders => "_backorders",
            Key::Stock => "_stock",
            Key::StockStatus => "_stock_status",
            Key::Price => "_price",
        }
    }

    fn from_meta_key(k: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|key| key.meta_key() == k)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaRow {
    pub id: u64,
    pub value: Option<CompactString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostType {
    Product,
    Variation,
}

/// The product type from the `product_type` taxonomy (variations have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Simple,
    Variable,
    Grouped,
    External,
    Variation,
    Other(CompactString),
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub post_type: PostType,
    pub status: CompactString,
    pub parent: u64,
    pub kind: Kind,
    /// The first row (lowest meta_id) of each key; more rows of a key live in `Catalog::extra`.
    pub meta: [Option<MetaRow>; 10],
    pub lookup: Option<LookupValues>,
    pub outofstock_term: bool,
}

impl Product {
    pub fn get(&self, key: Key) -> Option<&str> {
        self.meta[key as usize].as_ref().and_then(|m| m.value.as_deref())
    }
    pub fn money(&self, key: Key) -> Option<Money> {
        self.get(key).and_then(Money::from_stored)
    }
    pub fn timestamp(&self, key: Key) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }
    pub fn manages_stock(&self) -> bool {
        self.get(Key::ManageStock) == Some("yes")
    }
    pub fn is_live(&self) -> bool {
        self.status != "trash"
    }
    pub fn is_published(&self) -> bool {
        self.status == "publish"
    }
}

/// Who holds a SKU: one product (the normal case) or several (a conflict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuOwners {
    One(u64),
    Many(Vec<u64>),
}

#[derive(Debug, Default)]
pub struct Catalog {
    products: Vec<Product>,
    index: HashMap<u64, u32>,
    /// Second and later rows of a key for one post (a variable parent's `_price` rows,
    /// or duplicates someone else wrote), by meta_id.
    pub extra: HashMap<(u64, Key), Vec<MetaRow>>,
    /// Variations of each parent, ascending by ID.
    pub children: HashMap<u64, Vec<u64>>,
}

/// What the second connection reads while the first scans the meta rows.
#[derive(Default)]
struct Posts {
    posts: Vec<(u64, PostType, CompactString, u64)>,
    types: Vec<(u64, Kind)>,
    outofstock: Vec<u64>,
    lookup: HashMap<u64, LookupValues>,
}

fn blank(id: u64) -> Product {
    Product {
        id,
        post_type: PostType::Product,
        status: CompactString::default(),
        parent: 0,
        kind: Kind::Simple,
        meta: Default::default(),
        lookup: None,
        outofstock_term: false,
    }
}

impl Catalog {
    pub fn product(&self, id: u64) -> Option<&Product> {
        self.index.get(&id).map(|&i| &self.products[i as usize])
    }

    pub fn product_mut(&mut self, id: u64) -> Option<&mut Product> {
        self.index.get(&id).map(|&i| &mut self.products[i as usize])
    }

    pub fn insert(&mut self, p: Product) {
        match self.index.get(&p.id) {
            Some(&i) => self.products[i as usize] = p,
            None => {
                self.index.insert(p.id, self.products.len() as u32);
                self.products.push(p);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Reads the shop in one sequential pass per table (never one query per product): the meta
    /// scan on `conn`, everything else at the same time on a second connection.
    pub async fn load(conn: &mut Conn, side: &mut Conn, shop: &Shop) -> Result<Catalog> {
        let (mut cat, posts) = tokio::try_join!(read_meta(conn, shop), read_posts(side, shop))?;

        let mut is_product = vec![false; cat.products.len()];
        for (id, post_type, status, parent) in posts.posts {
            let i = match cat.index.get(&id) {
                Some(&i) => i as usize,
                None => {
                    cat.insert(blank(id));
                    is_product.push(false);
                    cat.products.len() - 1
                }
            };
            is_product[i] = true;
            let p = &mut cat.products[i];
            p.post_type = post_type;
            p.status = status;
            p.parent = parent;
            p.kind = if post_type == PostType::Variation { Kind::Variation } else { Kind::Simple };
        }
        // Meta of posts that are not products or variations is dropped.
        if is_product.iter().any(|k| !k) {
            let mut keep = is_product.into_iter();
            cat.products.retain(|_| keep.next().unwrap_or(false));
            cat.index = cat.products.iter().enumerate().map(|(i, p)| (p.id, i as u32)).collect();
            let index = &cat.index;
            cat.extra.retain(|(id, _), _| index.contains_key(id));
        }
        cat.products.shrink_to_fit();
        for (id, kind) in posts.types {
            if let Some(p) = cat.product_mut(id) {
                if p.post_type == PostType::Product {
                    p.kind = kind;
                }
            }
        }
        for id in posts.outofstock {
            if let Some(p) = cat.product_mut(id) {
                p.outofstock_term = true;
            }
        }
        let mut lookup = posts.lookup;
        for p in cat.products.iter_mut() {
            p.lookup = lookup.remove(&p.id);
            if p.post_type == PostType::Variation && p.parent != 0 {
                cat.children.entry(p.parent).or_default().push(p.id);
            }
        }
        for kids in cat.children.values_mut() {
            kids.sort_unstable();
        }
        for rows in cat.extra.values_mut() {
            rows.sort_by_key(|r| r.id);
        }
        Ok(cat)
    }

    /// Every row of a key for a post, first row first.
    pub fn rows(&self, id: u64, key: Key) -> Vec<&MetaRow> {
        let mut rows: Vec<&MetaRow> = Vec::new();
        if let Some(first) = self.product(id).and_then(|p| p.meta[key as usize].as_ref()) {
            rows.push(first);
        }
        if let Some(more) = self.extra.get(&(id, key)) {
            rows.extend(more.iter());
        }
        rows
    }

    /// Live (not trashed) products and variations by SKU key, read in one pass over the catalog.
    pub fn sku_owners(&self) -> HashMap<CompactString, SkuOwners> {
        let mut map: HashMap<CompactString, SkuOwners> = HashMap::with_capacity(self.products.len());
        for product in &self.products {
            if !product.is_live() {
                continue;
            }
            let Some(sku) = product.get(Key::Sku).filter(|s| !s.trim().is_empty()) else { continue };
            match map.entry(CompactString::from(sku_key(sku))) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(SkuOwners::One(product.id));
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let ids = match o.get() {
                        SkuOwners::One(first) => vec![*first, product.id],
                        SkuOwners::Many(ids) => ids.iter().copied().chain([product.id]).collect(),
                    };
                    let mut ids = ids;
                    ids.sort_unstable();
                    o.insert(SkuOwners::Many(ids));
                }
            }
        }
        map
    }
}

/// The meta scan: every price/stock/SKU row of the shop in one pass over `postmeta`.
async fn read_meta(conn: &mut Conn, shop: &Shop) -> Result<Catalog> {
    let p = &shop.prefix;
    let mut cat = Catalog::default();
    let keys = Key::ALL.iter().map(|k| format!("'{}'", k.meta_key())).collect::<Vec<_>>().join(",");
    let meta = format!("SELECT post_id, meta_id, meta_key, meta_value FROM `{p}postmeta` WHERE meta_key IN ({keys})");
    let mut result = conn.query_iter(meta).await.map_err(|e| Error::db("reading product meta", e))?;
    result
        .for_each(|mut row| {
            let post_id: u64 = row.take(0).unwrap_or(0);
            let meta_id: u64 = row.take(1).unwrap_or(0);
            let key: Option<Vec<u8>> = row.take(2).unwrap_or(None);
            let Some(key) = key.as_deref().and_then(|k| std::str::from_utf8(k).ok()).and_then(Key::from_meta_key) else { return };
            let value: Option<Vec<u8>> = row.take(3).unwrap_or(None);
            let value = value.map(|v| match String::from_utf8(v) {
                Ok(s) => CompactString::from(s),
                Err(e) => CompactString::from(String::from_utf8_lossy(e.as_bytes())),
            });
            let new = MetaRow { id: meta_id, value };
            let i = match cat.index.get(&post_id) {
                Some(&i) => i as usize,
                None => {
                    cat.insert(blank(post_id));
                    cat.products.len() - 1
                }
            };
            let slot = &mut cat.products[i].meta[key as usize];
            match slot {
                None => *slot = Some(new),
                Some(first) => {
                    let later = if new.id < first.id { std::mem::replace(first, new) } else { new };
                    cat.extra.entry((post_id, key)).or_default().push(later);
                }
            }
        })
        .await
        .map_err(|e| Error::db("reading product meta", e))?;
    Ok(cat)
}

/// Posts, product types, `outofstock` terms and lookup rows.
async fn read_posts(conn: &mut Conn, shop: &Shop) -> Result<Posts> {
    let p = &shop.prefix;
    let mut out = Posts::default();
    let posts = format!(
        "SELECT ID, post_type, post_status, post_parent FROM `{p}posts` WHERE post_type IN ('product','product_variation')"
    );
    let mut result = conn.query_iter(posts).await.map_err(|e| Error::db("reading products", e))?;
    result
        .for_each(|row| {
            let (id, post_type, status, parent): (u64, String, String, u64) = mysql_async::from_row(row);
            let post_type = if post_type == "product" { PostType::Product } else { PostType::Variation };
            out.posts.push((id, post_type, status.into(), parent));
        })
        .await
        .map_err(|e| Error::db("reading products", e))?;
    drop(result);

    let types = format!(
        "SELECT tr.object_id, t.slug FROM `{p}term_relationships` tr \
         JOIN `{p}term_taxonomy` tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
         JOIN `{p}terms` t ON t.term_id = tt.term_id WHERE tt.taxonomy = 'product_type'"
    );
    let mut result = conn.query_iter(types).await.map_err(|e| Error::db("reading product types", e))?;
    result
        .for_each(|row| {
            let (id, slug): (u64, String) = mysql_async::from_row(row);
            let kind = match slug.as_str() {
                "simple" => Kind::Simple,
                "variable" => Kind::Variable,
                "grouped" => Kind::Grouped,
                "external" => Kind::External,
                other => Kind::Other(other.into()),
            };
            out.types.push((id, kind));
        })
        .await
        .map_err(|e| Error::db("reading product types", e))?;
    drop(result);

    out.outofstock = conn
        .exec(format!("SELECT object_id FROM `{p}term_relationships` WHERE term_taxonomy_id = ?"), (shop.outofstock_tt,))
        .await
        .map_err(|e| Error::db("reading out-of-stock terms", e))?;

    let lookup = format!(
        "SELECT product_id, sku, min_price, max_price, onsale, stock_quantity, stock_status FROM `{p}wc_product_meta_lookup`"
    );
    let mut result = conn.query_iter(lookup).await.map_err(|e| Error::db("reading the product lookup table", e))?;
    result
        .for_each(|row| {
            type LookupRow = (i64, Option<String>, Option<Decimal>, Option<Decimal>, Option<i64>, Option<f64>, Option<String>);
            let (id, sku, min, max, onsale, qty, status): LookupRow = mysql_async::from_row(row);
            out.lookup.insert(
                id as u64,
                LookupValues {
                    sku: sku.unwrap_or_default().into(),
                    min_price: min,
                    max_price: max,
                    onsale: onsale.unwrap_or(0) != 0,
                    stock_quantity: qty,
                    stock_status: status.unwrap_or_default().into(),
                },
            );
        })
        .await
        .map_err(|e| Error::db("reading the product lookup table", e))?;
    Ok(out)
}
