//! Reading what the feeds are made of, in one consistent snapshot (a repeatable-read
//! transaction): the options (`blogname`, `home`, `siteurl`, permalinks, currency, uploads URL),
//! the `product_cat` tree and the attribute labels once, then the published products in batches
//! by ID, each with its published variations, their meta, terms and pictures. Nothing is held
//! beyond one batch: the feed is streamed.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::catalog::shop::TimeZone;
use crate::error::{Error, Result};
use crate::woo::permalink::Permalinks;

/// Products a batch reads (their variations come with them).
pub const BATCH: usize = 5000;

/// The meta keys every feed reads; a feed's own keys (stock, price, offer id, filters) are added.
const META_KEYS: &[&str] = &[
    "_sku",
    "_price",
    "_regular_price",
    "_stock",
    "_stock_status",
    "_manage_stock",
    "_thumbnail_id",
    "_product_image_gallery",
    "_global_unique_id",
    "_product_attributes",
    "_variation_description",
];

/// The shop as the feed header and the offers' URLs need it.
#[derive(Debug, Clone)]
pub struct ShopFacts {
    /// `blogname` as stored (WordPress keeps `&` as `&amp;`).
    pub blogname: String,
    /// `home` without a trailing slash.
    pub home: String,
    /// WooCommerce's currency code (`woocommerce_currency`).
    pub currency: String,
    pub permalinks: Permalinks,
    /// Where `_wp_attached_file` paths live: `upload_url_path`, else `siteurl` + `/wp-content/uploads`.
    pub uploads_url: String,
    pub time_zone: TimeZone,
    pub tree: Tree,
    /// `pa_*` taxonomy → the attribute's label (`wc_attribute_taxonomies`).
    pub labels: HashMap<String, String>,
}

/// One `product_cat` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: u64,
    pub parent: u64,
    pub slug: String,
    /// As stored (entities as WordPress keeps them).
    pub name: String,
}

/// The `product_cat` tree.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// By term ID.
    pub categories: Vec<Category>,
    index: HashMap<u64, usize>,
}

impl Tree {
    pub fn new(mut categories: Vec<Category>) -> Tree {
        categories.sort_by_key(|c| c.id);
        let index = categories.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        Tree { categories, index }
    }

    pub fn get(&self, id: u64) -> Option<&Category> {
        self.index.get(&id).map(|i| &self.categories[*i])
    }

    /// How many ancestors a category has (a loop in the data ends the count).
    pub fn depth(&self, id: u64) -> usize {
        let mut depth = 0;
        let mut at = self.get(id).map(|c| c.parent).unwrap_or(0);
        while at != 0 && depth < 64 {
            depth += 1;
            at = self.get(at).map(|c| c.parent).unwrap_or(0);
        }
        depth
    }

    /// The categories with these slugs and all their descendants, sorted.
    pub fn with_descendants(&self, slugs: &[String]) -> Vec<u64> {
        let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
        for c in &self.categories {
            children.entry(c.parent).or_default().push(c.id);
        }
        let mut out: Vec<u64> = self.categories.iter().filter(|c| slugs.iter().any(|s| s == &c.slug)).map(|c| c.id).collect();
        let mut seen: std::collections::HashSet<u64> = out.iter().copied().collect();
        let mut i = 0;
        while i < out.len() {
            for &child in children.get(&out[i]).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(child) {
                    out.push(child);
                }
            }
            i += 1;
        }
        out.sort_unstable();
        out
    }

    /// The deepest of these categories (the lowest ID among equally deep ones).
    pub fn deepest(&self, ids: &[u64]) -> Option<u64> {
        ids.iter().copied().filter(|id| self.get(*id).is_some()).max_by(|a, b| self.depth(*a).cmp(&self.depth(*b)).then(b.cmp(a)))
    }
}

/// A term a product or variation is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub taxonomy: String,
    pub id: u64,
    pub slug: String,
    /// As stored.
    pub name: String,
}

/// A published product or variation, with the meta and terms the feeds read.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub id: u64,
    /// The variable product of a variation; 0 for a product.
    pub parent: u64,
    pub title: String,
    /// `post_name` as stored.
    pub slug: String,
    pub date: String,
    pub content: String,
    pub excerpt: String,
    /// (key, value), in `meta_id` order: the first of a repeated key counts, as `get_post_meta(…, true)`.
    pub meta: Vec<(Arc<str>, String)>,
    pub terms: Vec<Arc<Term>>,
}

impl Record {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta.iter().find(|(k, _)| &**k == key).map(|(_, v)| v.as_str())
    }

    pub fn terms<'a>(&'a self, taxonomy: &'a str) -> impl Iterator<Item = &'a Term> + 'a {
        self.terms.iter().map(|t| &**t).filter(move |t| t.taxonomy == taxonomy)
    }

    pub fn has_term(&self, taxonomy: &str, slug: &str) -> bool {
        self.terms(taxonomy).any(|t| t.slug == slug)
    }

    /// `product_type`'s slug (`simple` when it has none, as WooCommerce reads it).
    pub fn product_type(&self) -> &str {
        self.terms("product_type").next().map(|t| t.slug.as_str()).unwrap_or("simple")
    }
}

/// A product and its published variations.
#[derive(Debug, Clone, Default)]
pub struct Family {
    pub product: Record,
    pub variations: Vec<Record>,
}

/// One batch: families in product ID order, and the attachments' files they show.
#[derive(Debug, Default)]
pub struct Batch {
    pub families: Vec<Family>,
    /// Attachment ID → `_wp_attached_file`.
    pub files: HashMap<u64, String>,
}

fn text(bytes: Option<Vec<u8>>) -> String {
    match bytes {
        None => String::new(),
        Some(b) => String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn wrap(doing: &'static str) -> impl Fn(mysql_async::Error) -> Error {
    move |e| Error::db(format!("reading the feed's {doing}"), e)
}

/// Starts the feed's one consistent snapshot on `conn`.
pub async fn begin_snapshot(conn: &mut Conn) -> Result<()> {
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").await.map_err(wrap("snapshot"))?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT").await.map_err(wrap("snapshot"))?;
    Ok(())
}

/// The options, the category tree and the attribute labels.
pub async fn shop_facts(conn: &mut Conn, prefix: &str, time_zone: TimeZone) -> Result<ShopFacts> {
    let options: HashMap<String, String> = conn
        .query::<(String, Option<Vec<u8>>), _>(format!(
            "SELECT option_name, option_value FROM `{prefix}options` WHERE option_name IN \
             ('blogname','home','siteurl','permalink_structure','woocommerce_permalinks','woocommerce_currency','upload_url_path')"
        ))
        .await
        .map_err(wrap("options"))?
        .into_iter()
        .map(|(k, v)| (k, text(v)))
        .collect();
    let opt = |k: &str| options.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let siteurl = opt("siteurl").trim_end_matches('/').to_string();
    let home = match opt("home") {
        h if h.is_empty() => siteurl.clone(),
        h => h.trim_end_matches('/').to_string(),
    };
    let product_base = product_base(&opt("woocommerce_permalinks"));
    let permalinks = Permalinks::new(&home, &opt("permalink_structure"), product_base.as_deref());
    let uploads_url = match opt("upload_url_path") {
        u if u.is_empty() => format!("{siteurl}/wp-content/uploads"),
        u => u.trim_end_matches('/').to_string(),
    };
    let rows: Vec<(u64, u64, Vec<u8>, Vec<u8>)> = conn
        .query(format!(
            "SELECT t.term_id, tt.parent, t.slug, t.name FROM `{prefix}term_taxonomy` tt \
             JOIN `{prefix}terms` t ON t.term_id = tt.term_id WHERE tt.taxonomy = 'product_cat'"
        ))
        .await
        .map_err(wrap("categories"))?;
    let tree = Tree::new(rows.into_iter().map(|(id, parent, slug, name)| Category { id, parent, slug: text(Some(slug)), name: text(Some(name)) }).collect());
    let labels: Vec<(Vec<u8>, Vec<u8>)> = conn
        .query(format!("SELECT attribute_name, attribute_label FROM `{prefix}woocommerce_attribute_taxonomies`"))
        .await
        .map_err(wrap("attribute labels"))?;
    let labels = labels.into_iter().map(|(n, l)| (format!("pa_{}", text(Some(n))), text(Some(l)))).collect();
    Ok(ShopFacts {
        blogname: opt("blogname"),
        home,
        currency: match opt("woocommerce_currency") {
            c if c.is_empty() => "RUB".into(),
            c => c,
        },
        permalinks,
        uploads_url,
        time_zone,
        tree,
        labels,
    })
}

/// `product_base` of the serialized `woocommerce_permalinks` option.
fn product_base(stored: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Stored {
        product_base: Option<String>,
    }
    php_serde::from_bytes::<Stored>(stored.as_bytes()).ok().and_then(|s| s.product_base)
}

/// The terms of the taxonomies the feeds read, by `term_taxonomy_id`: read once, so a batch
/// reads only its relationship pairs.
pub async fn term_table(conn: &mut Conn, prefix: &str) -> Result<HashMap<u64, Arc<Term>>> {
    type TermRow = (u64, String, u64, Vec<u8>, Vec<u8>);
    let rows: Vec<TermRow> = conn
        .query(format!(
            "SELECT tt.term_taxonomy_id, tt.taxonomy, t.term_id, t.slug, t.name FROM `{prefix}term_taxonomy` tt \
             JOIN `{prefix}terms` t ON t.term_id = tt.term_id WHERE tt.taxonomy IN \
             ('product_type','product_visibility','product_cat','product_tag','product_shipping_class','product_brand') \
             OR tt.taxonomy LIKE 'pa\\_%'"
        ))
        .await
        .map_err(wrap("terms"))?;
    Ok(rows.into_iter().map(|(tt, taxonomy, id, slug, name)| (tt, Arc::new(Term { taxonomy, id, slug: text(Some(slug)), name: text(Some(name)) }))).collect())
}

/// Reads the published products batch by batch, in ID order: each batch a range of product
/// IDs, read by ranges of the indexes (posts by ID, variations by `post_parent`, meta by
/// `post_id`, term pairs by `object_id`); variations with IDs outside the range by list.
pub struct Reader {
    prefix: String,
    /// The SQL condition on `meta_key` of the rows read.
    wanted: String,
    batch: usize,
    terms: HashMap<u64, Arc<Term>>,
    /// Every attachment's file, when the shop's were few enough to read once ([`Files::read`]);
    /// else each batch reads those of its pictures.
    files: Option<Files>,
}

/// The attachments' files (`_wp_attached_file`), read once: the first of each attachment's
/// rows, by ID, in one block of text (about 50 bytes an attachment).
#[derive(Debug, Default)]
pub struct Files {
    /// (attachment ID, end of its file in `text`), sorted by ID.
    ends: Vec<(u64, u32)>,
    text: String,
}

/// Beyond this many attachments their files are read batch by batch instead.
pub const FILES_AT_ONCE: u64 = 1_500_000;

impl Files {
    /// Reads them when the shop has at most `limit` attachment files; `None` above it.
    pub async fn read(conn: &mut Conn, prefix: &str, limit: u64) -> Result<Option<Files>> {
        let n: Option<u64> = conn
            .query_first(format!("SELECT COUNT(*) FROM `{prefix}posts` WHERE post_type = 'attachment'"))
            .await
            .map_err(wrap("attachments"))?;
        if n.unwrap_or(0) > limit {
            return Ok(None);
        }
        let mut rows: Vec<(u64, u32, u32)> = Vec::with_capacity(n.unwrap_or(0) as usize);
        let mut text = String::new();
        let mut result = conn
            .query_iter(format!("SELECT post_id, meta_value FROM `{prefix}postmeta` WHERE meta_key = '_wp_attached_file' ORDER BY meta_id"))
            .await
            .map_err(wrap("pictures"))?;
        while let Some(row) = result.next().await.map_err(wrap("pictures"))? {
            let (id, file): (u64, Option<Vec<u8>>) = mysql_async::from_row(row);
            let start = text.len();
            text.push_str(&self::text(file));
            // A text past 4 GiB is not kept whole: the batches read theirs instead.
            let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(text.len())) else { return Ok(None) };
            rows.push((id, start, end));
        }
        drop(result);
        // The first row of an attachment counts (`get_post_meta(…, true)`): a stable sort keeps
        // rows of one ID in `meta_id` order.
        rows.sort_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        // The block again in ID order: each file starts where the one before ends.
        let mut kept = String::with_capacity(text.len());
        let mut ends = Vec::with_capacity(rows.len());
        for (id, start, end) in rows {
            kept.push_str(&text[start as usize..end as usize]);
            ends.push((id, kept.len() as u32));
        }
        Ok(Some(Files { ends, text: kept }))
    }

    pub fn get(&self, id: u64) -> Option<&str> {
        let i = self.ends.binary_search_by_key(&id, |e| e.0).ok()?;
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 as usize };
        Some(&self.text[start..self.ends[i].1 as usize])
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl Reader {
    /// `extra`: the meta keys the feeds name (stock, prices, offer IDs, filters).
    /// `key_charset`: the character set of `postmeta.meta_key` (see [`key_charset`]).
    pub fn new(prefix: &str, extra: &[&str], batch: usize, terms: HashMap<u64, Arc<Term>>, key_charset: Option<&str>, files: Option<Files>) -> Reader {
        let mut keys: Vec<&str> = META_KEYS.to_vec();
        for k in extra {
            if !keys.contains(k) {
                keys.push(k);
            }
        }
        // Keys are checked at config load (letters, digits, `_` and `-`): safe as SQL text.
        let keys = keys.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(",");
        // Keys compared byte for byte, as WordPress's meta cache (a PHP array) tells them apart:
        // the column's own case-insensitive collation costs the server a third more on the scan.
        let key = match key_charset {
            Some(cs) => format!("meta_key COLLATE {cs}_bin"),
            None => "meta_key".to_string(),
        };
        let wanted = format!("({key} IN ({keys}) OR {key} LIKE 'attribute\\_%')");
        Reader { prefix: prefix.to_string(), wanted, batch, terms, files }
    }

    /// The published products with IDs from `lo` to `hi`, with their variations.
    pub async fn window(&self, conn: &mut Conn, lo: u64, hi: u64) -> Result<Batch> {
        let p = &self.prefix;
        let products: Vec<PostRow> = conn
            .query(format!("SELECT {POST_COLUMNS} FROM `{p}posts` WHERE ID BETWEEN {lo} AND {hi} AND post_type = 'product' AND post_status = 'publish' ORDER BY ID"))
            .await
            .map_err(wrap("products"))?;
        let (Some(first), Some(last)) = (products.first(), products.last()) else { return Ok(Batch::default()) };
        let range = (first.0, last.0);
        self.fill(conn, products, Some(range)).await
    }

    /// The published ones of these products (a patch's families), with their variations.
    pub async fn families(&self, conn: &mut Conn, ids: &[u64]) -> Result<Batch> {
        let mut products: Vec<PostRow> = Vec::new();
        for part in ids.chunks(self.batch.max(1)) {
            let p = &self.prefix;
            let rows: Vec<PostRow> = conn
                .query(format!(
                    "SELECT {POST_COLUMNS} FROM `{p}posts` WHERE ID IN ({}) AND post_type = 'product' AND post_status = 'publish' ORDER BY ID",
                    join(part)
                ))
                .await
                .map_err(wrap("products"))?;
            products.extend(rows);
        }
        self.fill(conn, products, None).await
    }

    /// Variations, meta, terms and pictures of these products: by ID range (`range`: the
    /// products are that range's published ones) or by list.
    async fn fill(&self, conn: &mut Conn, products: Vec<PostRow>, range: Option<(u64, u64)>) -> Result<Batch> {
        let p = &self.prefix;
        let record = |(id, _, title, slug, date, content, excerpt): PostRow, parent: u64| Record {
            id,
            parent,
            title: text(title),
            slug: text(slug),
            date,
            content: text(content),
            excerpt: text(excerpt),
            ..Record::default()
        };
        let mut families: Vec<Family> = products.into_iter().map(|r| Family { product: record(r, 0), variations: Vec::new() }).collect();
        if families.is_empty() {
            return Ok(Batch::default());
        }
        let position: HashMap<u64, usize> = families.iter().enumerate().map(|(i, f)| (f.product.id, i)).collect();
        let parents = match range {
            Some((lo, hi)) => format!("post_parent BETWEEN {lo} AND {hi}"),
            None => format!("post_parent IN ({})", join(&families.iter().map(|f| f.product.id).collect::<Vec<_>>())),
        };
        let variations: Vec<PostRow> = conn
            .query(format!(
                "SELECT ID, post_parent, post_title, post_name, CAST(post_date AS CHAR), NULL, post_excerpt FROM `{p}posts` \
                 WHERE {parents} AND post_type = 'product_variation' AND post_status = 'publish' \
                 ORDER BY post_parent, menu_order, ID"
            ))
            .await
            .map_err(wrap("variations"))?;
        // Records outside the range (variations with later IDs, or every one without a range) are read by list.
        let mut listed: Vec<u64> = Vec::new();
        let inside = |id: u64| range.is_some_and(|(lo, hi)| (lo..=hi).contains(&id));
        for f in &families {
            if !inside(f.product.id) {
                listed.push(f.product.id);
            }
        }
        for v in variations {
            let (id, parent) = (v.0, v.1);
            if let Some(&i) = position.get(&parent) {
                if !inside(id) {
                    listed.push(id);
                }
                families[i].variations.push(record(v, parent));
            }
        }
        let mut at: HashMap<u64, (usize, usize)> = HashMap::with_capacity(families.len() * 2);
        for (i, f) in families.iter().enumerate() {
            at.insert(f.product.id, (i, 0));
            for (j, v) in f.variations.iter().enumerate() {
                at.insert(v.id, (i, j + 1));
            }
        }
        let scope = |column: &str| match (range, listed.is_empty()) {
            (Some((lo, hi)), true) => format!("{column} BETWEEN {lo} AND {hi}"),
            (Some((lo, hi)), false) => format!("({column} BETWEEN {lo} AND {hi} OR {column} IN ({}))", join(&listed)),
            (None, _) => format!("{column} IN ({})", join(&listed)),
        };
        let wanted = &self.wanted;
        // Meta rows of products made together sit together in `meta_id` order: those between
        // the first product's first row and the last one's last row are read by a scan of the
        // table's own order, the rest of the range (rows added later) through the `post_id`
        // index, whose entries carry `meta_id` (no row is read twice or missed).
        let span = match range {
            Some((lo, hi)) => {
                let b: Option<(Option<u64>, Option<u64>)> = conn
                    .query_first(format!(
                        "SELECT (SELECT MIN(meta_id) FROM `{p}postmeta` WHERE post_id = {lo}), (SELECT MAX(meta_id) FROM `{p}postmeta` WHERE post_id = {hi})"
                    ))
                    .await
                    .map_err(wrap("product meta"))?;
                match b {
                    Some((Some(a), Some(b))) if a <= b && b - a <= 64 * families.len() as u64 => Some((a, b)),
                    _ => None,
                }
            }
            None => None,
        };
        type MetaRow = (u64, u64, Vec<u8>, Option<Vec<u8>>);
        let rows: Vec<MetaRow> = match (span, range) {
            (Some((a, b)), Some((lo, hi))) => {
                let mut rows: Vec<MetaRow> = conn
                    .query(format!("SELECT post_id, meta_id, meta_key, meta_value FROM `{p}postmeta` WHERE meta_id BETWEEN {a} AND {b} AND post_id BETWEEN {lo} AND {hi} AND {wanted}"))
                    .await
                    .map_err(wrap("product meta"))?;
                let rest: Vec<MetaRow> = conn
                    .query(format!(
                        "SELECT post_id, meta_id, meta_key, meta_value FROM `{p}postmeta` WHERE {} AND {wanted}",
                        match listed.is_empty() {
                            true => format!("post_id BETWEEN {lo} AND {hi} AND (meta_id < {a} OR meta_id > {b})"),
                            false => format!("(post_id BETWEEN {lo} AND {hi} AND (meta_id < {a} OR meta_id > {b}) OR post_id IN ({}))", join(&listed)),
                        }
                    ))
                    .await
                    .map_err(wrap("product meta"))?;
                if !rest.is_empty() {
                    rows.extend(rest);
                    rows.sort_unstable_by_key(|r| (r.0, r.1));
                }
                rows
            }
            _ => conn
                .query(format!("SELECT post_id, meta_id, meta_key, meta_value FROM `{p}postmeta` WHERE {} AND {wanted} ORDER BY post_id, meta_id", scope("post_id")))
                .await
                .map_err(wrap("product meta"))?,
        };
        // A handful of keys repeat on every product: each is made once.
        let mut keys: HashMap<Vec<u8>, Arc<str>> = HashMap::new();
        for (id, _, key, value) in rows {
            if let Some(r) = record_at(&mut families, &at, id) {
                let key = match keys.get(&key) {
                    Some(k) => k.clone(),
                    None => {
                        let k: Arc<str> = Arc::from(text(Some(key.clone())));
                        keys.insert(key, k.clone());
                        k
                    }
                };
                r.meta.push((key, text(value)));
            }
        }
        let pairs: Vec<(u64, u64)> = conn
            .query(format!("SELECT object_id, term_taxonomy_id FROM `{p}term_relationships` WHERE {}", scope("object_id")))
            .await
            .map_err(wrap("product terms"))?;
        for (id, tt) in pairs {
            let Some(term) = self.terms.get(&tt) else { continue };
            if let Some(r) = record_at(&mut families, &at, id) {
                r.terms.push(term.clone());
            }
        }
        let mut pictures: Vec<u64> = Vec::new();
        for f in &families {
            for r in std::iter::once(&f.product).chain(&f.variations) {
                pictures.extend(picture_ids(r));
            }
        }
        pictures.sort_unstable();
        pictures.dedup();
        let mut files = HashMap::new();
        if let Some(all) = &self.files {
            for id in pictures {
                if let Some(file) = all.get(id) {
                    files.insert(id, file.to_string());
                }
            }
        } else if !pictures.is_empty() {
            let rows: Vec<(u64, Option<Vec<u8>>)> = conn
                .query(format!(
                    "SELECT post_id, meta_value FROM `{p}postmeta` WHERE post_id IN ({}) AND meta_key = '_wp_attached_file' ORDER BY meta_id",
                    join(&pictures)
                ))
                .await
                .map_err(wrap("pictures"))?;
            for (id, file) in rows {
                files.entry(id).or_insert_with(|| text(file));
            }
        }
        Ok(Batch { families, files })
    }
}

type PostRow = (u64, u64, Option<Vec<u8>>, Option<Vec<u8>>, String, Option<Vec<u8>>, Option<Vec<u8>>);
const POST_COLUMNS: &str = "ID, post_parent, post_title, post_name, CAST(post_date AS CHAR), post_content, post_excerpt";

/// The character set of `postmeta.meta_key` when it is one whose `_bin` collation the server
/// has (letters, digits and `_`, as `utf8mb4`, `utf8mb3`, `latin1`); `None` otherwise.
pub async fn key_charset(conn: &mut Conn, prefix: &str) -> Result<Option<String>> {
    let cs: Option<Option<String>> = conn
        .exec_first(
            "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'meta_key'",
            (format!("{prefix}postmeta"),),
        )
        .await
        .map_err(wrap("meta key column"))?;
    Ok(cs.flatten().filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')))
}

/// The published products' IDs cut into windows of `batch` products: (first, last) each.
pub async fn windows(conn: &mut Conn, prefix: &str, batch: usize) -> Result<Vec<(u64, u64)>> {
    let ids: Vec<u64> = conn
        .query(format!("SELECT ID FROM `{prefix}posts` WHERE post_type = 'product' AND post_status = 'publish' ORDER BY ID"))
        .await
        .map_err(wrap("products"))?;
    Ok(ids.chunks(batch.max(1)).map(|c| (c[0], c[c.len() - 1])).collect())
}

/// The families (products) of these posts: a variation's parent, a product itself.
pub async fn families_of(conn: &mut Conn, prefix: &str, ids: &[u64]) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for part in ids.chunks(5000) {
        let rows: Vec<(u64, u64, String)> = conn
            .query(format!("SELECT ID, post_parent, post_type FROM `{prefix}posts` WHERE ID IN ({})", join(part)))
            .await
            .map_err(wrap("changed products"))?;
        out.extend(rows.into_iter().map(|(id, parent, kind)| if kind == "product_variation" { parent } else { id }));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The record with this ID: (family, variation + 1 or 0 for the product).
fn record_at<'f>(families: &'f mut [Family], at: &HashMap<u64, (usize, usize)>, id: u64) -> Option<&'f mut Record> {
    let &(i, j) = at.get(&id)?;
    let f = &mut families[i];
    Some(if j == 0 { &mut f.product } else { &mut f.variations[j - 1] })
}

/// The featured image, then the gallery, as attachment IDs.
pub fn picture_ids(r: &Record) -> impl Iterator<Item = u64> + '_ {
    let featured = r.meta("_thumbnail_id").and_then(|v| v.trim().parse::<u64>().ok()).filter(|id| *id > 0);
    let gallery = r.meta("_product_image_gallery").unwrap_or("").split(',').filter_map(|v| v.trim().parse::<u64>().ok()).filter(|id| *id > 0);
    featured.into_iter().chain(gallery)
}

fn join(ids: &[u64]) -> String {
    let mut s = String::with_capacity(ids.len() * 8);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: u64, parent: u64, slug: &str) -> Category {
        Category { id, parent, slug: slug.into(), name: slug.into() }
    }

    #[test]
    fn the_tree_knows_depths_and_descendants() {
        let tree = Tree::new(vec![cat(10, 0, "odezhda"), cat(11, 10, "platya"), cat(12, 11, "vechernie"), cat(20, 0, "obuv"), cat(13, 10, "yubki")]);
        assert_eq!(tree.depth(12), 2);
        assert_eq!(tree.with_descendants(&["platya".into()]), [11, 12]);
        assert_eq!(tree.with_descendants(&["odezhda".into(), "obuv".into()]), [10, 11, 12, 13, 20]);
        assert_eq!(tree.deepest(&[10, 13, 11]), Some(11));
        assert_eq!(tree.deepest(&[20, 12]), Some(12));
        assert_eq!(tree.deepest(&[99]), None);
    }

    #[test]
    fn the_product_base_comes_from_the_serialized_option() {
        let stored = r#"a:5:{s:12:"product_base";s:19:"/shop/%product_cat%";s:13:"category_base";s:0:"";s:8:"tag_base";s:0:"";s:14:"attribute_base";s:0:"";s:22:"use_verbose_page_rules";b:0;}"#;
        assert_eq!(product_base(stored).as_deref(), Some("/shop/%product_cat%"));
        assert_eq!(product_base(""), None);
    }
}
