//! The read side of WooCommerce: connect, check the shop is one woosync can write to
//! ([`Shop::inspect`]), and read everything the planner needs in a few sequential passes
//! ([`Catalog::load`]): products and variations, their price/stock meta, their lookup rows,
//! product types and `outofstock` terms. It never writes.

pub mod attributes;
pub mod categories;
pub mod shop;
mod slots;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Mutex;

use compact_str::CompactString;
use mysql_async::prelude::*;
use mysql_async::Conn;
use rust_decimal::Decimal;

pub use shop::{connect, Shop};
pub use slots::Slots;

use crate::config::Settings;

use crate::error::{Error, Result};
use crate::model::{sku_key, Key, Money};
use crate::woo::LookupValues;

/// Keys with a slot in every product; the others are rare and kept in `Catalog::extra`.
pub const SLOTS: usize = 8;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Simple,
    Variable,
    Grouped,
    External,
    Variation,
    /// A type added by a plugin (subscription, bundle, ...): treated like a simple product.
    Other,
}

/// `post_status`, as far as woosync's rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Publish,
    Private,
    Trash,
    /// draft, pending, future, auto-draft, or a plugin's own status.
    Other,
}

impl Status {
    pub fn from_post_status(s: &str) -> Status {
        match s {
            "publish" => Status::Publish,
            "private" => Status::Private,
            "trash" => Status::Trash,
            _ => Status::Other,
        }
    }
}

/// A lookup row's compared columns, whole (kept by `woosync doctor`, which reports them).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLookup {
    /// Hash of the row's `sku` column, compared with the hash of the product's `_sku`.
    pub sku_hash: u64,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub stock_quantity: Option<f64>,
    pub onsale: bool,
    pub stock_status: CompactString,
}

pub fn sku_hash(sku: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sku.hash(&mut h);
    h.finish()
}

impl StoredLookup {
    pub fn print(&self) -> LookupPrint {
        LookupPrint::of(self.sku_hash, self.min_price, self.max_price, self.onsale, self.stock_quantity, &self.stock_status)
    }
}

/// What every product keeps of its lookup row: a 64-bit hash of the compared columns as
/// stored (prices at DECIMAL(19,4)) — two rows with the same print hold the same values — and
/// its stock status, which a variable parent's status is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupPrint {
    print: NonZeroU64,
    status: LookupStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LookupStatus {
    InStock,
    OutOfStock,
    OnBackorder,
    /// A value WooCommerce does not write (a plugin's, or empty).
    Other,
}

impl LookupPrint {
    fn of(sku_hash: u64, min: Option<Decimal>, max: Option<Decimal>, onsale: bool, qty: Option<f64>, status: &str) -> LookupPrint {
        use std::hash::{Hash, Hasher};
        let stored = |d: Option<Decimal>| d.map(|v| v.round_dp(4).normalize().to_string());
        let mut h = std::collections::hash_map::DefaultHasher::new();
        sku_hash.hash(&mut h);
        stored(min).hash(&mut h);
        stored(max).hash(&mut h);
        onsale.hash(&mut h);
        // 0.0 and -0.0 compare equal; so must their prints.
        qty.map(|q| if q == 0.0 { 0 } else { q.to_bits() }).hash(&mut h);
        status.hash(&mut h);
        let status = match status {
            crate::woo::INSTOCK => LookupStatus::InStock,
            crate::woo::OUTOFSTOCK => LookupStatus::OutOfStock,
            crate::woo::ONBACKORDER => LookupStatus::OnBackorder,
            _ => LookupStatus::Other,
        };
        LookupPrint { print: NonZeroU64::new(h.finish() | 1).expect("non-zero"), status }
    }

    /// The row's `stock_status` as far as WooCommerce's rules tell values apart (a value of its
    /// own reads as `other`).
    pub fn stock_status(&self) -> &'static str {
        match self.status {
            LookupStatus::InStock => crate::woo::INSTOCK,
            LookupStatus::OutOfStock => crate::woo::OUTOFSTOCK,
            LookupStatus::OnBackorder => crate::woo::ONBACKORDER,
            LookupStatus::Other => "other",
        }
    }

    /// The print the row would have if it held these values.
    pub fn of_values(v: &LookupValues) -> LookupPrint {
        LookupPrint::of(sku_hash(&v.sku), v.min_price, v.max_price, v.onsale, v.stock_quantity, &v.stock_status)
    }

    /// Whether the stored row already holds these values.
    pub fn same_as(&self, v: &LookupValues) -> bool {
        self.print == LookupPrint::of_values(v).print
    }
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub parent: u64,
    pub post_type: PostType,
    pub status: Status,
    pub kind: Kind,
    pub outofstock_term: bool,
    /// The first row (lowest meta_id) of each slotted key; more rows of a key, and the rare
    /// keys, live in `Catalog::extra`.
    pub meta: Slots,
    pub lookup: Option<LookupPrint>,
}

impl Product {
    /// A product or variation post as read, before its meta, type, term and lookup row.
    fn skeleton(id: u64, post_type: &str, status: &str, parent: u64) -> Product {
        let variation = post_type != "product";
        Product {
            id,
            post_type: if variation { PostType::Variation } else { PostType::Product },
            status: Status::from_post_status(status),
            parent,
            kind: if variation { Kind::Variation } else { Kind::Simple },
            meta: Default::default(),
            lookup: None,
            outofstock_term: false,
        }
    }

    /// The value of a slotted key (`None` for the rare keys: ask `Catalog::value`).
    pub fn get(&self, key: Key) -> Option<&str> {
        if key as usize >= SLOTS {
            return None;
        }
        self.meta.get(key)
    }
    pub fn money(&self, key: Key) -> Option<Money> {
        self.get(key).and_then(Money::from_stored)
    }
    pub fn manages_stock(&self) -> bool {
        self.get(Key::ManageStock) == Some("yes")
    }
    /// Whether a feed may set this product's prices: not a variable parent (its prices follow its
    /// variations) nor a grouped product (it has none).
    pub fn takes_prices(&self) -> bool {
        !matches!(self.kind, Kind::Variable | Kind::Grouped)
    }
    /// Whether a feed may set this product's stock: not a grouped or external product (they keep
    /// none), nor a variable parent that leaves stock to its variations.
    pub fn takes_stock(&self) -> bool {
        match self.kind {
            Kind::Grouped | Kind::External => false,
            Kind::Variable => self.manages_stock(),
            _ => true,
        }
    }
    pub fn is_live(&self) -> bool {
        self.status != Status::Trash
    }
    pub fn is_published(&self) -> bool {
        self.status == Status::Publish
    }
}

/// Finds the live products that hold a SKU.
pub struct SkuIndex<'a> {
    catalog: &'a Catalog,
    map: Owners,
}

impl<'a> SkuIndex<'a> {
    /// The catalog the index was built from.
    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    /// The live products whose SKU key is `key` (already trimmed and lower-cased). The index
    /// holds their positions in the catalog, and an ASCII SKU is compared without a copy: this
    /// runs once for every feed row.
    pub fn owners(&self, key: &str) -> Option<SkuOwners> {
        confirmed(&self.map, key, |at| {
            let p = &self.catalog.products[at as usize];
            p.get(Key::Sku).is_some_and(|s| same_sku(s, key)).then_some(p.id)
        })
    }
}

/// Whether a stored SKU has the key `key` (`sku_key(stored) == key`).
fn same_sku(stored: &str, key: &str) -> bool {
    let s = stored.trim();
    if s.is_ascii() {
        s.len() == key.len() && s.bytes().zip(key.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b)
    } else {
        sku_key(s) == key
    }
}

/// Finds the live products linked to an external ID (compared exactly, after trimming).
pub struct ExternalIndex<'a> {
    catalog: &'a Catalog,
    map: Owners,
}

impl ExternalIndex<'_> {
    pub fn owners(&self, external_id: &str) -> Option<SkuOwners> {
        confirmed(&self.map, external_id, |id| (self.catalog.external_id(id) == Some(external_id)).then_some(id))
    }
}

/// `(hash of the text, product ID — or, for the SKU index, position in the catalog)`, sorted
/// (16 bytes a product), with where each run of leading hash bits starts (4 to 8 bytes a product):
/// the hashes are uniform, so a lookup reads one start and about one pair instead of the ~19
/// dependent reads of a binary search, each a cache miss at this size.
struct Owners {
    pairs: Vec<(u64, u64)>,
    /// `64 -` the number of leading bits that pick a bucket.
    shift: u32,
    /// `starts[b]..starts[b + 1]`: the pairs whose hash's leading bits are `b`.
    starts: Vec<u32>,
}

impl Owners {
    fn new(mut pairs: Vec<(u64, u64)>) -> Owners {
        pairs.sort_unstable();
        let bits = (usize::BITS - pairs.len().leading_zeros()).clamp(1, 32);
        let shift = 64 - bits;
        let mut starts = vec![0u32; (1usize << bits) + 1];
        for (hash, _) in &pairs {
            starts[(hash >> shift) as usize + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        Owners { pairs, shift, starts }
    }

    fn candidates(&self, hash: u64) -> impl Iterator<Item = u64> + '_ {
        let b = (hash >> self.shift) as usize;
        let (from, to) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        self.pairs[from..to].iter().filter(move |e| e.0 == hash).map(|e| e.1)
    }
}

/// The products filed under `text`'s hash that really hold it (`holds` turns a filed value into
/// the product's ID when that product holds it): hash collisions are dropped here. No allocation
/// unless several hold it.
fn confirmed(map: &Owners, text: &str, holds: impl Fn(u64) -> Option<u64>) -> Option<SkuOwners> {
    let mut found: Option<SkuOwners> = None;
    for id in map.candidates(sku_hash(text)).filter_map(holds) {
        found = Some(match found {
            None => SkuOwners::One(id),
            Some(SkuOwners::One(first)) => SkuOwners::Many(vec![first, id]),
            Some(SkuOwners::Many(mut ids)) => {
                ids.push(id);
                SkuOwners::Many(ids)
            }
        });
    }
    found
}

/// Who holds a SKU: one product (the normal case) or several (a conflict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuOwners {
    One(u64),
    Many(Vec<u64>),
}

impl SkuOwners {
    pub fn ids(&self) -> &[u64] {
        match self {
            SkuOwners::One(id) => std::slice::from_ref(id),
            SkuOwners::Many(ids) => ids,
        }
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    /// Ascending by ID.
    products: Vec<Product>,
    /// The lookup rows themselves, by product: only for `woosync doctor`, which reports them.
    pub lookup_rows: HashMap<u64, StoredLookup>,
    /// Second and later rows of a key for one post (a variable parent's `_price` rows,
    /// or duplicates someone else wrote), by meta_id.
    pub extra: HashMap<(u64, Key), Vec<MetaRow>>,
    /// Variations of each parent, ascending by ID.
    pub children: HashMap<u64, Vec<u64>>,
    /// The rows of the external-ID meta key (`[sync] external_id_meta`), read only when the
    /// source has external IDs; by post, ascending by meta_id.
    pub external: HashMap<u64, Vec<MetaRow>>,
    /// The products holding each GTIN (lookup `global_unique_id`), read only when the feed
    /// gives GTINs.
    pub gtins: HashMap<String, Vec<u64>>,
    /// Each product's GTIN (the same rows, by product).
    pub gtin_of: HashMap<u64, CompactString>,
    /// The `product_cat` term_taxonomy IDs of each product, read only when `update_content`
    /// keeps categories in step and the feed names some.
    pub product_categories: Option<ObjectTerms>,
    /// The products' title and a print of their texts, read only when `update_content` keeps
    /// names or descriptions in step.
    pub post_texts: Option<PostTextIndex>,
    /// The products' attributes, read only when `update_content` keeps attributes in step and
    /// the feed gives some.
    pub product_attributes: Option<HeldAttributes>,
    /// The `_product_attributes` rows as the meta scan finds them, until they join
    /// `product_attributes`.
    attribute_meta: Vec<(u64, u64, Box<str>)>,
    /// The rows of the `[source.meta]` keys, read with the meta scan when there are any (not
    /// by the locked re-reads of a chunk, which plan none of them).
    pub custom_meta: Option<CustomMeta>,
    /// Each product's `_thumbnail_id` (entry 0), `_product_image_gallery` (1) and
    /// `_woosync_images` (2), read with the meta scan when `update_content` keeps pictures in
    /// step (not by the locked re-reads of a chunk: an order changes no picture).
    pub picture_meta: Option<CustomMeta>,
}

/// The picture keys [`Catalog::picture_meta`] holds, in entry order.
pub const PICTURE_KEYS: [&str; 3] = ["_thumbnail_id", "_product_image_gallery", crate::plan::pictures::IMAGES_META];

/// The rows of the `[source.meta]` keys: (post ID, the key's position in `[source.meta]`,
/// meta_id, value), ascending.
#[derive(Debug, Default)]
pub struct CustomMeta(Vec<(u64, u16, u64, CompactString)>);

impl CustomMeta {
    /// A product's rows of one key: (meta_id, value), ascending by meta_id (the first is the one
    /// `get_post_meta( $id, $key, true )` reads).
    pub fn rows(&self, id: u64, entry: u16) -> &[(u64, u16, u64, CompactString)] {
        let start = self.0.partition_point(|r| (r.0, r.1) < (id, entry));
        let end = start + self.0[start..].iter().take_while(|r| (r.0, r.1) == (id, entry)).count();
        &self.0[start..end]
    }

    fn settle(&mut self) {
        self.0.sort_unstable_by_key(|r| (r.0, r.1, r.2));
    }
}

/// Term relationships of one kind (a product's categories, its attribute terms): (object ID,
/// term_taxonomy ID) pairs in order, 16 bytes a row and no allocation per product.
#[derive(Debug, Default)]
pub struct ObjectTerms(Vec<(u64, u64)>);

impl ObjectTerms {
    pub fn new(mut pairs: Vec<(u64, u64)>) -> ObjectTerms {
        pairs.sort_unstable();
        pairs.dedup();
        ObjectTerms(pairs)
    }

    /// The term_taxonomy IDs of one object, ascending.
    pub fn of(&self, id: u64) -> impl Iterator<Item = u64> + '_ {
        let start = self.0.partition_point(|(o, _)| *o < id);
        self.0[start..].iter().take_while(move |(o, _)| *o == id).map(|(_, tt)| *tt)
    }
}

/// The relationships of every object with the terms of the taxonomies `which` (an SQL condition
/// on `tt`), read from the taxonomy's side so that the scan walks `term_relationships` by its
/// `term_taxonomy_id` index (from the relationships' side it reads every row of every taxonomy).
async fn object_terms(conn: &mut Conn, prefix: &str, which: &str, what: &'static str) -> Result<ObjectTerms> {
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    let mut result = conn
        .query_iter(format!(
            "SELECT tr.object_id, tr.term_taxonomy_id FROM `{prefix}term_taxonomy` tt \
             STRAIGHT_JOIN `{prefix}term_relationships` tr ON tr.term_taxonomy_id = tt.term_taxonomy_id WHERE {which}"
        ))
        .await
        .map_err(|e| Error::db(what, e))?;
    result.for_each(|row| pairs.push(mysql_async::from_row(row))).await.map_err(|e| Error::db(what, e))?;
    Ok(ObjectTerms::new(pairs))
}

/// The products' attributes as the shop holds them: each product's `_product_attributes` row
/// (its first, by meta_id) and the `pa_*` terms it is in, with each term's taxonomy and name.
#[derive(Debug, Default)]
pub struct HeldAttributes {
    /// (post ID, meta_id, value), ascending by post.
    meta: Vec<(u64, u64, Box<str>)>,
    terms: ObjectTerms,
    /// term_taxonomy ID → (taxonomy, name as stored).
    names: HashMap<u64, (CompactString, CompactString)>,
}

impl HeldAttributes {
    /// With the products' `_product_attributes` rows: (post ID, meta_id, value), in any order;
    /// a product's first row (by meta_id) is the one `get_post_meta( $id, $key, true )` reads.
    fn with_meta(mut self, mut meta: Vec<(u64, u64, Box<str>)>) -> HeldAttributes {
        meta.sort_unstable_by_key(|(id, meta_id, _)| (*id, *meta_id));
        meta.dedup_by_key(|(id, _, _)| *id);
        self.meta = meta;
        self
    }

    /// The product's `_product_attributes` row: meta_id and value.
    pub fn meta(&self, id: u64) -> Option<(u64, &str)> {
        let at = self.meta.binary_search_by_key(&id, |(p, _, _)| *p).ok()?;
        let (_, meta_id, value) = &self.meta[at];
        Some((*meta_id, value))
    }

    /// The product's attribute terms: (term_taxonomy ID, taxonomy, name as stored).
    pub fn terms(&self, id: u64) -> impl Iterator<Item = (u64, &str, &str)> + '_ {
        self.terms.of(id).filter_map(|tt| self.names.get(&tt).map(|(tax, name)| (tt, tax.as_str(), name.as_str())))
    }
}

/// Every product's attribute terms, with each term's taxonomy and name, in two passes (the
/// `_product_attributes` rows come with the meta scan: [`HeldAttributes::with_meta`]).
async fn held_attributes(conn: &mut Conn, prefix: &str) -> Result<HeldAttributes> {
    const WHAT: &str = "reading the products' attributes";
    let wrap = |e| Error::db(WHAT, e);
    let terms = object_terms(conn, prefix, "tt.taxonomy LIKE 'pa\\_%'", WHAT).await?;
    let rows: Vec<(u64, String, String)> = conn
        .query(format!(
            "SELECT tt.term_taxonomy_id, tt.taxonomy, t.name FROM `{prefix}term_taxonomy` tt JOIN `{prefix}terms` t ON t.term_id = tt.term_id \
             WHERE tt.taxonomy LIKE 'pa\\_%'"
        ))
        .await
        .map_err(wrap)?;
    let names = rows.into_iter().map(|(tt, tax, name)| (tt, (tax.into(), name.into()))).collect();
    Ok(HeldAttributes { meta: Vec::new(), terms, names })
}

/// What `update_content` compares of a product's post: its title, and a print (the first 64
/// bits of SHA-256) and length in characters of its description and short description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostTexts {
    pub title: CompactString,
    pub content: (u64, u32),
    pub excerpt: (u64, u32),
}

/// Every product's [`PostTexts`], ascending by ID (48 bytes a product, no hashing).
#[derive(Debug, Default)]
pub struct PostTextIndex(Vec<(u64, PostTexts)>);

impl PostTextIndex {
    pub fn get(&self, id: &u64) -> Option<&PostTexts> {
        self.0.binary_search_by_key(id, |(i, _)| *i).ok().map(|at| &self.0[at].1)
    }
}

/// The print [`PostTexts`] keeps of a text, and its length in characters.
pub fn content_print(text: &str) -> (u64, u32) {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(text.as_bytes());
    (u64::from_be_bytes(d[..8].try_into().expect("8 bytes")), text.chars().count() as u32)
}

/// The products' titles and text prints (see [`PostTexts`]), in one pass by primary key; the
/// prints only when `prints` (the feed gives a description or short description).
async fn post_texts(conn: &mut Conn, prefix: &str, prints: bool) -> Result<PostTextIndex> {
    let wrap = |e| crate::error::Error::db("reading the products' titles and descriptions", e);
    let mut out: Vec<(u64, PostTexts)> = Vec::new();
    let texts = match prints {
        true => "LEFT(SHA2(post_content, 256), 16), CHAR_LENGTH(post_content), LEFT(SHA2(post_excerpt, 256), 16), CHAR_LENGTH(post_excerpt)",
        false => "NULL, NULL, NULL, NULL",
    };
    let mut result = conn
        .query_iter(format!("SELECT ID, post_title, {texts} FROM `{prefix}posts` WHERE post_type = 'product' ORDER BY ID"))
        .await
        .map_err(wrap)?;
    let print = |hex: Option<String>| hex.and_then(|h| u64::from_str_radix(&h, 16).ok()).unwrap_or(0);
    result
        .for_each(|row| {
            let (id, title, c, cl, e, el): (u64, Option<String>, Option<String>, Option<u32>, Option<String>, Option<u32>) = mysql_async::from_row(row);
            out.push((id, PostTexts { title: title.unwrap_or_default().into(), content: (print(c), cl.unwrap_or(0)), excerpt: (print(e), el.unwrap_or(0)) }));
        })
        .await
        .map_err(wrap)?;
    out.sort_unstable_by_key(|(id, _)| *id);
    Ok(PostTextIndex(out))
}

impl Catalog {
    fn position(&self, id: u64) -> Option<usize> {
        self.products.binary_search_by_key(&id, |p| p.id).ok()
    }

    pub fn product(&self, id: u64) -> Option<&Product> {
        self.position(id).map(|i| &self.products[i])
    }

    pub fn product_mut(&mut self, id: u64) -> Option<&mut Product> {
        self.position(id).map(|i| &mut self.products[i])
    }

    pub fn insert(&mut self, p: Product) {
        match self.products.binary_search_by_key(&p.id, |p| p.id) {
            Ok(i) => self.products[i] = p,
            Err(i) => self.products.insert(i, p),
        }
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Every product and variation, ascending by ID.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The live products and variations holding a GTIN (the lookup's `global_unique_id`).
    pub fn gtin_owners(&self, gtin: &str) -> Vec<u64> {
        self.gtins.get(gtin).into_iter().flatten().copied().filter(|id| self.product(*id).is_some_and(Product::is_live)).collect()
    }

    /// Reads the shop in one sequential pass per table (never one query per product): first the
    /// product posts, then — at the same time, on three connections — the meta rows in two
    /// meta_id ranges and the types, `outofstock` terms and lookup rows. The streams are polled
    /// by one task and fill one catalog behind an uncontended lock.
    /// `lookup_rows`: keep the lookup rows whole as well (the doctor reports them); `gtins`: read
    /// the shop's GTINs (the feed gives some).
    /// `cards`: the card fields to read of every product — those `update_content` keeps in step
    /// and the feed gives (see [`crate::plan::FeedFacts::card_reads`]): categories, titles, the
    /// description prints, attributes; each read on a connection of its own at the same time.
    pub async fn load(conn: &mut Conn, settings: &Settings, shop: &Shop, lookup_rows: bool, gtins: bool, cards: crate::config::ContentPolicy) -> Result<Catalog> {
        let texts = cards.texts();
        let cat = Mutex::new(read_posts(conn, shop).await?);
        let (lo, hi): (Option<u64>, Option<u64>) = conn
            .query_first(format!("SELECT MIN(meta_id), MAX(meta_id) FROM `{}postmeta`", shop.prefix))
            .await?
            .unwrap_or((None, None));
        let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(0));
        let mid = lo + (hi - lo) / 2;
        let mut second = connect(settings).await?;
        let mut third = connect(settings).await?;
        let extra = |wanted: bool| async move { if wanted { connect(settings).await.map(Some) } else { Ok(None) } };
        let (mut fourth, mut fifth, mut sixth) = (extra(cards.categories).await?, extra(texts).await?, extra(cards.attributes).await?);
        let product_categories = async {
            match fourth.as_mut() {
                Some(c) => object_terms(c, &shop.prefix, "tt.taxonomy = 'product_cat'", "reading the products' categories").await.map(Some),
                None => Ok(None),
            }
        };
        let product_texts = async {
            match fifth.as_mut() {
                Some(c) => post_texts(c, &shop.prefix, cards.description || cards.short_description).await.map(Some),
                None => Ok(None),
            }
        };
        let product_attributes = async {
            match sixth.as_mut() {
                Some(c) => held_attributes(c, &shop.prefix).await.map(Some),
                None => Ok(None),
            }
        };
        let external = settings.source.has_external_ids().then_some(settings.external_id_meta);
        let custom: Vec<&str> = settings.source.columns().meta.iter().map(|m| m.key).collect();
        cat.lock().expect("catalog lock").custom_meta = (!custom.is_empty()).then(CustomMeta::default);
        cat.lock().expect("catalog lock").picture_meta = cards.images.then(CustomMeta::default);
        let scan = MetaScan { external, attributes: cards.attributes, custom: &custom, pictures: cards.images };
        let (_, _, _, product_categories, product_texts, product_attributes) = tokio::try_join!(
            read_meta(conn, shop, &cat, 0, mid, &scan),
            read_meta(&mut second, shop, &cat, mid + 1, u64::MAX, &scan),
            read_terms_and_lookup(&mut third, shop, &cat, lookup_rows, gtins),
            product_categories,
            product_texts,
            product_attributes
        )?;
        let _ = second.disconnect().await;
        let _ = third.disconnect().await;
        for c in [fourth, fifth, sixth].into_iter().flatten() {
            let _ = c.disconnect().await;
        }
        let mut cat = cat.into_inner().expect("catalog lock");
        cat.settle();
        let attribute_meta = std::mem::take(&mut cat.attribute_meta);
        (cat.product_categories, cat.post_texts) = (product_categories, product_texts);
        cat.product_attributes = product_attributes.map(|held| held.with_meta(attribute_meta));
        Ok(cat)
    }

    /// One meta row of the scan: `field` is the key's 1-based position in `Key::ALL`, or one
    /// past it for the external-ID key. Rows of posts the catalog lacks are dropped.
    fn add_meta(&mut self, post_id: u64, meta_id: u64, field: usize, value: Option<Vec<u8>>) {
        let Some(i) = self.position(post_id) else { return };
        let value = value.map(|v| match String::from_utf8(v) {
            Ok(s) => CompactString::from(s),
            Err(e) => CompactString::from(String::from_utf8_lossy(e.as_bytes())),
        });
        let new = MetaRow { id: meta_id, value };
        if field == Key::ALL.len() + 1 {
            self.external.entry(post_id).or_default().push(new);
            return;
        }
        let Some(&key) = field.checked_sub(1).and_then(|k| Key::ALL.get(k)) else { return };
        if key as usize >= SLOTS {
            self.extra.entry((post_id, key)).or_default().push(new);
            return;
        }
        let slots = &mut self.products[i].meta;
        let later = match slots.id(key) {
            None => {
                slots.put(key, new);
                return;
            }
            Some(first) if new.id < first => slots.put(key, new).expect("the slot was filled"),
            Some(_) => new,
        };
        self.extra.entry((post_id, key)).or_default().push(later);
    }

    /// Variations listed under their parents, and every multi-row key in meta_id order: what
    /// a catalog needs once all its rows are in.
    fn settle(&mut self) {
        for i in 0..self.products.len() {
            let p = &self.products[i];
            if p.post_type == PostType::Variation && p.parent != 0 {
                let (parent, id) = (p.parent, p.id);
                self.children.entry(parent).or_default().push(id);
            }
        }
        for kids in self.children.values_mut() {
            kids.sort_unstable();
        }
        for rows in self.extra.values_mut().chain(self.external.values_mut()) {
            rows.sort_by_key(|r| r.id);
        }
        for m in [self.custom_meta.as_mut(), self.picture_meta.as_mut()].into_iter().flatten() {
            m.settle();
        }
    }

    /// A print of what every order changes in a product: its `_stock` rows (by meta_id and
    /// value; see [`STOCK_KEYS`]). The same print means no order reached the product in
    /// between. `None`: no such product.
    pub fn stock_print(&self, id: u64) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        self.product(id)?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for key in STOCK_KEYS {
            for row in self.rows(id, key) {
                (key as u8, row.id, row.value.as_deref()).hash(&mut h);
            }
        }
        Some(h.finish())
    }

    /// The meta_ids of the rows [`Catalog::stock_print`] covers.
    pub fn stock_rows(&self, id: u64) -> Vec<u64> {
        STOCK_KEYS.iter().flat_map(|&key| self.rows(id, key)).map(|r| r.id).collect()
    }

    /// The check before a chunk writes: for the products `ids`, exactly the stock rows
    /// `meta_ids` (by primary key), read inside the caller's transaction and locked
    /// (`FOR UPDATE`) until it ends, so an order for these products waits for the chunk. Enough
    /// for [`Catalog::stock_print`] and nothing more.
    pub async fn load_stock_rows<Q: Queryable>(q: &mut Q, shop: &Shop, ids: &[u64], meta_ids: &[u64]) -> std::result::Result<Catalog, mysql_async::Error> {
        let mut cat = Catalog::default();
        cat.products = ids.iter().map(|&id| Product::skeleton(id, "product", "publish", 0)).collect();
        cat.products.sort_unstable_by_key(|p| p.id);
        cat.products.dedup_by_key(|p| p.id);
        let keys = meta_keys_sql(None);
        for batch in meta_ids.chunks(IN_LIST) {
            let rows = batch.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let meta: Vec<(u64, u64, usize, Option<Vec<u8>>)> = q
                .query(format!("SELECT post_id, meta_id, FIELD(meta_key, {keys}), meta_value FROM `{}postmeta` WHERE meta_id IN ({rows}) FOR UPDATE", shop.prefix))
                .await?;
            for (post_id, meta_id, field, value) in meta {
                cat.add_meta(post_id, meta_id, field, value);
            }
        }
        cat.settle();
        Ok(cat)
    }

    /// The `outofstock` terms and lookup rows of the products `ids`, locked.
    async fn read_terms_and_lookups<Q: Queryable>(&mut self, q: &mut Q, shop: &Shop, ids: &[u64]) -> std::result::Result<(), mysql_async::Error> {
        let p = &shop.prefix;
        for batch in ids.chunks(IN_LIST) {
            let list = batch.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let oos: Vec<u64> = q
                .query(format!("SELECT object_id FROM `{p}term_relationships` FORCE INDEX (PRIMARY) WHERE term_taxonomy_id = {} AND object_id IN ({list}) FOR UPDATE", shop.outofstock_tt))
                .await?;
            for id in oos {
                self.product_mut(id).into_iter().for_each(|p| p.outofstock_term = true);
            }
            let lookups: Vec<LookupRowRead> = q.query(format!("{} FORCE INDEX (PRIMARY) WHERE product_id IN ({list}) FOR UPDATE", lookup_query(p))).await?;
            for row in lookups {
                self.add_lookup(row, false);
            }
        }
        Ok(())
    }

    /// The products `ids` read whole as they are now, inside the caller's transaction, their meta
    /// rows, `outofstock` term rows and lookup rows locked (`FOR UPDATE`) until it ends: what a
    /// unit whose stock rows moved is planned again from.
    /// Each locking read is held to the index by ID (`FORCE INDEX`): a plan that scanned by
    /// `meta_key` would lock every product's price and stock rows, and a live shop's orders with them.
    pub async fn load_locked<Q: Queryable>(q: &mut Q, shop: &Shop, ids: &[u64], external_meta: &str) -> std::result::Result<Catalog, mysql_async::Error> {
        let p = &shop.prefix;
        let mut cat = Catalog::default();
        if ids.is_empty() {
            return Ok(cat);
        }
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let posts: Vec<(u64, String, String, u64)> =
            q.query(format!("SELECT ID, post_type, post_status, post_parent FROM `{p}posts` WHERE ID IN ({list})")).await?;
        for (id, post_type, status, parent) in posts {
            cat.products.push(Product::skeleton(id, &post_type, &status, parent));
        }
        cat.products.sort_unstable_by_key(|p| p.id);
        let keys = meta_keys_sql(Some(external_meta));
        let meta: Vec<(u64, u64, usize, Option<Vec<u8>>)> = q
            .query(format!(
                "SELECT post_id, meta_id, FIELD(meta_key, {keys}), meta_value FROM `{p}postmeta` FORCE INDEX (post_id) \
                 WHERE post_id IN ({list}) AND meta_key IN ({keys}) ORDER BY meta_id FOR UPDATE"
            ))
            .await?;
        for (post_id, meta_id, field, value) in meta {
            cat.add_meta(post_id, meta_id, field, value);
        }
        let types: Vec<(u64, String)> = q
            .query(format!(
                "SELECT STRAIGHT_JOIN tr.object_id, t.slug FROM `{p}term_relationships` tr FORCE INDEX (PRIMARY) \
                 JOIN `{p}term_taxonomy` tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
                 JOIN `{p}terms` t ON t.term_id = tt.term_id WHERE tr.object_id IN ({list}) AND tt.taxonomy = 'product_type'"
            ))
            .await?;
        for (id, slug) in types {
            cat.set_kind(id, &slug);
        }
        cat.read_terms_and_lookups(q, shop, ids).await?;
        cat.settle();
        Ok(cat)
    }

    /// A product's type from its `product_type` term (variations have none of their own).
    fn set_kind(&mut self, id: u64, slug: &str) {
        let Some(p) = self.product_mut(id) else { return };
        if p.post_type == PostType::Product {
            p.kind = match slug {
                "simple" => Kind::Simple,
                "variable" => Kind::Variable,
                "grouped" => Kind::Grouped,
                "external" => Kind::External,
                _ => Kind::Other,
            };
        }
    }

    /// A lookup row, printed into its product (and kept whole with `keep`).
    fn add_lookup(&mut self, row: LookupRowRead, keep: bool) {
        let (id, sku, min, max, onsale, qty, status) = row;
        let Some(p) = self.product_mut(id as u64) else { return };
        let row = StoredLookup {
            sku_hash: sku_hash(sku.as_deref().unwrap_or("")),
            min_price: min,
            max_price: max,
            onsale: onsale.unwrap_or(0) != 0,
            stock_quantity: qty,
            stock_status: status.unwrap_or_default().into(),
        };
        p.lookup = Some(row.print());
        if keep {
            self.lookup_rows.insert(id as u64, row);
        }
    }

    /// A Unix timestamp stored under a key (the sale schedule), if any.
    pub fn timestamp(&self, id: u64, key: Key) -> Option<i64> {
        self.rows(id, key).first().and_then(|r| r.value.as_deref().and_then(|v| v.trim().parse().ok()))
    }

    /// Every row of a key for a post, first row first.
    pub fn rows(&self, id: u64, key: Key) -> Vec<MetaRow> {
        let mut rows: Vec<MetaRow> = Vec::new();
        if let Some(first) = self.product(id).filter(|_| (key as usize) < SLOTS).and_then(|p| p.meta.row(key)) {
            rows.push(first);
        }
        if let Some(more) = self.extra.get(&(id, key)) {
            rows.extend(more.iter().cloned());
        }
        rows
    }

    /// The external ID a product is linked to (its first non-empty row of the key), if any.
    pub fn external_id(&self, id: u64) -> Option<&str> {
        self.external.get(&id)?.iter().find_map(|r| r.value.as_deref().map(str::trim).filter(|v| !v.is_empty()))
    }

    /// Live products and variations by the hash of their external ID.
    pub fn external_index(&self) -> ExternalIndex<'_> {
        let mut pairs = Vec::with_capacity(self.external.len());
        for &id in self.external.keys() {
            if !self.product(id).is_some_and(Product::is_live) {
                continue;
            }
            let Some(x) = self.external_id(id) else { continue };
            pairs.push((sku_hash(x), id));
        }
        ExternalIndex { catalog: self, map: Owners::new(pairs) }
    }

    /// Live (not trashed) products and variations (their positions) by the hash of their SKU key, in one pass.
    /// Hash collisions are harmless: [`SkuIndex::owners`] checks each candidate's SKU.
    pub fn sku_index(&self) -> SkuIndex<'_> {
        let mut pairs = Vec::with_capacity(self.products.len());
        for (at, product) in self.products.iter().enumerate() {
            if !product.is_live() {
                continue;
            }
            let Some(sku) = product.get(Key::Sku).filter(|s| !s.trim().is_empty()) else { continue };
            pairs.push((sku_hash(&sku_key(sku)), at as u64));
        }
        SkuIndex { catalog: self, map: Owners::new(pairs) }
    }
}

/// The meta scan: every price/stock/SKU row with a meta_id in `from..=to`, in one pass.
/// Rows of posts that are not products or variations are dropped as they arrive.
async fn read_meta(conn: &mut Conn, shop: &Shop, cat: &Mutex<Catalog>, from: u64, to: u64, keys: &MetaScan<'_>) -> Result<()> {
    let p = &shop.prefix;
    let MetaScan { external, attributes, custom, pictures } = *keys;
    // FIELD() turns the key into its position in the list: no string per row. The products'
    // `_product_attributes` rows and the `[source.meta]` keys, when wanted, come with the same
    // scan (the last positions; the keys are letters, digits, `_` and `-`, as config checks).
    let mut keys = meta_keys_sql(external);
    let mut next = Key::ALL.len() + 1 + external.is_some() as usize;
    let attributes_at = attributes.then(|| {
        keys.push_str(",'_product_attributes'");
        next += 1;
        next - 1
    });
    let custom_from = next;
    for key in custom {
        keys.push_str(&format!(",'{key}'"));
    }
    let pictures_from = custom_from + custom.len();
    if pictures {
        for key in PICTURE_KEYS {
            keys.push_str(&format!(",'{key}'"));
        }
    }
    let meta = format!(
        "SELECT post_id, meta_id, FIELD(meta_key, {keys}), meta_value FROM `{p}postmeta` \
         WHERE meta_id BETWEEN {from} AND {to} AND meta_key IN ({keys})"
    );
    let mut result = conn.query_iter(meta).await.map_err(|e| Error::db("reading product meta", e))?;
    result
        .for_each(|mut row| {
            let post_id: u64 = row.take(0).unwrap_or(0);
            let meta_id: u64 = row.take(1).unwrap_or(0);
            let field: usize = row.take(2).unwrap_or(0);
            let value: Option<Vec<u8>> = row.take(3).unwrap_or(None);
            let mut cat = cat.lock().expect("catalog lock");
            if Some(field) == attributes_at {
                if cat.position(post_id).is_some() {
                    let value = String::from_utf8_lossy(value.as_deref().unwrap_or_default()).into();
                    cat.attribute_meta.push((post_id, meta_id, value));
                }
                return;
            }
            if pictures && field >= pictures_from {
                if cat.position(post_id).is_some() {
                    let value = CompactString::from(String::from_utf8_lossy(value.as_deref().unwrap_or_default()));
                    if let Some(m) = cat.picture_meta.as_mut() {
                        m.0.push((post_id, (field - pictures_from) as u16, meta_id, value));
                    }
                }
                return;
            }
            if field >= custom_from {
                if cat.position(post_id).is_some() {
                    let value = CompactString::from(String::from_utf8_lossy(value.as_deref().unwrap_or_default()));
                    if let Some(m) = cat.custom_meta.as_mut() {
                        m.0.push((post_id, (field - custom_from) as u16, meta_id, value));
                    }
                }
                return;
            }
            cat.add_meta(post_id, meta_id, field, value);
        })
        .await
        .map_err(|e| Error::db("reading product meta", e))?;
    Ok(())
}

/// The keys the meta scan reads beyond WooCommerce's price, stock and SKU keys.
#[derive(Clone, Copy)]
struct MetaScan<'a> {
    /// `[sync] external_id_meta`, when the source has external IDs.
    external: Option<&'a str>,
    /// `_product_attributes` (`update_content` keeps attributes in step).
    attributes: bool,
    /// The `[source.meta]` keys.
    custom: &'a [&'a str],
    /// The picture keys ([`PICTURE_KEYS`]; `update_content` keeps pictures in step).
    pictures: bool,
}

/// The product and variation posts: the catalog's skeleton, sized exactly.
async fn read_posts(conn: &mut Conn, shop: &Shop) -> Result<Catalog> {
    let p = &shop.prefix;
    let count: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM `{p}posts` WHERE post_type IN ('product','product_variation')"))
        .await?;
    let mut cat = Catalog::default();
    let n = count.unwrap_or(0) as usize;
    cat.products.reserve_exact(n + 16);
    let posts = format!(
        "SELECT ID, post_type, post_status, post_parent FROM `{p}posts` WHERE post_type IN ('product','product_variation')"
    );
    let mut result = conn.query_iter(posts).await.map_err(|e| Error::db("reading products", e))?;
    result
        .for_each(|row| {
            let (id, post_type, status, parent): (u64, String, String, u64) = mysql_async::from_row(row);
            cat.products.push(Product::skeleton(id, &post_type, &status, parent));
        })
        .await
        .map_err(|e| Error::db("reading products", e))?;
    cat.products.sort_unstable_by_key(|p| p.id);
    cat.products.dedup_by_key(|p| p.id);
    Ok(cat)
}

/// Product types, `outofstock` terms and lookup rows, into the catalog.
async fn read_terms_and_lookup(conn: &mut Conn, shop: &Shop, cat: &Mutex<Catalog>, keep_rows: bool, gtins: bool) -> Result<()> {
    let p = &shop.prefix;
    let types = types_query(p);
    let mut result = conn.query_iter(types).await.map_err(|e| Error::db("reading product types", e))?;
    result
        .for_each(|row| {
            let (id, slug): (u64, String) = mysql_async::from_row(row);
            cat.lock().expect("catalog lock").set_kind(id, &slug);
        })
        .await
        .map_err(|e| Error::db("reading product types", e))?;
    drop(result);

    let oos: Vec<u64> = conn
        .exec(format!("SELECT object_id FROM `{p}term_relationships` WHERE term_taxonomy_id = ?"), (shop.outofstock_tt,))
        .await
        .map_err(|e| Error::db("reading out-of-stock terms", e))?;
    for id in oos {
        if let Some(p) = cat.lock().expect("catalog lock").product_mut(id) {
            p.outofstock_term = true;
        }
    }

    let lookup = lookup_query(p);
    let mut result = conn.query_iter(lookup).await.map_err(|e| Error::db("reading the product lookup table", e))?;
    result
        .for_each(|row| {
            cat.lock().expect("catalog lock").add_lookup(mysql_async::from_row(row), keep_rows);
        })
        .await
        .map_err(|e| Error::db("reading the product lookup table", e))?;
    if gtins && shop.has_global_unique_id {
        let held: Vec<(u64, String)> = conn
            .query(format!("SELECT product_id, global_unique_id FROM `{p}wc_product_meta_lookup` WHERE global_unique_id <> ''"))
            .await
            .map_err(|e| Error::db("reading the shop's GTINs", e))?;
        let mut cat = cat.lock().expect("catalog lock");
        for (id, gtin) in held {
            cat.gtin_of.insert(id, gtin.as_str().into());
            cat.gtins.entry(gtin).or_default().push(id);
        }
    }
    Ok(())
}

/// `Key::ALL`'s meta keys, then the external-ID key if any, as an SQL list (`FIELD(meta_key, …)`
/// turns a row's key into its 1-based position in it: see [`Catalog::add_meta`]). The external
/// key is validated by the config as `[A-Za-z0-9_-]+`.
fn meta_keys_sql(external: Option<&str>) -> String {
    Key::ALL.iter().map(|k| k.meta_key()).chain(external).map(|k| format!("'{k}'")).collect::<Vec<_>>().join(",")
}

/// The key every order writes for a product that keeps stock. WooCommerce changes the stock
/// status, the lookup row, the `outofstock` term and a parent's status for an order only
/// together with it, so it alone tells whether an order reached a product.
const STOCK_KEYS: [Key; 1] = [Key::Stock];

/// Values in one `IN (…)` list of the chunk check: MariaDB turns longer lists into a join
/// with a temporary table (`in_predicate_conversion_threshold`, 1000), several times slower.
const IN_LIST: usize = 500;

/// A lookup row as read: product_id, sku, min_price, max_price, onsale, stock_quantity, stock_status.
type LookupRowRead = (i64, Option<String>, Option<Decimal>, Option<Decimal>, Option<i64>, Option<f64>, Option<String>);

/// Every product's `product_type` slug.
fn types_query(p: &str) -> String {
    format!(
        "SELECT tr.object_id, t.slug FROM `{p}term_relationships` tr \
         JOIN `{p}term_taxonomy` tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
         JOIN `{p}terms` t ON t.term_id = tt.term_id WHERE tt.taxonomy = 'product_type'"
    )
}

/// The lookup rows' compared columns, as [`LookupRowRead`].
fn lookup_query(p: &str) -> String {
    format!("SELECT product_id, sku, min_price, max_price, onsale, stock_quantity, stock_status FROM `{p}wc_product_meta_lookup`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_find_every_pair_by_its_hash() {
        for n in [0usize, 1, 2, 3, 1000] {
            let pairs: Vec<(u64, u64)> = (0..n as u64).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15), i)).chain([(u64::MAX, 7), (0, 8)]).collect();
            let owners = Owners::new(pairs.clone());
            for (hash, id) in &pairs {
                assert!(owners.candidates(*hash).any(|x| x == *id), "{n}: {hash:x}");
            }
            assert_eq!(owners.candidates(12345).count(), pairs.iter().filter(|p| p.0 == 12345).count());
        }
    }

    #[test]
    fn a_stored_sku_matches_its_key_as_sku_key_makes_it() {
        for (stored, key, same) in [(" AB-12 ", "ab-12", true), ("AB-12", "ab-1", false), ("ab-12", "AB-12", false), ("Чай-01", "чай-01", true), ("ЧАЙ", "чаи", false), ("ΟΔΟΣ", &sku_key("ΟΔΟΣ"), true)] {
            assert_eq!(same_sku(stored, key), same, "{stored} / {key}");
            assert_eq!(same_sku(stored, key), sku_key(stored) == key, "{stored} / {key}");
        }
    }
}
