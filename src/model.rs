//! The domain values that flow through the pipeline: what the feed wants (`Item`), what was
//! rejected (`Rejection`), the meta keys woosync reads and writes (`Key`), and the small value
//! types they are made of. No I/O here, and no import of any other module of the crate.

use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;
use rust_decimal::Decimal;

/// A price as an exact decimal that keeps its scale, so it writes back the text the feed gave
/// (`1234.50` stays `1234.50`, `20` stays `20`; `.` as decimal separator). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub value: Decimal,
}

impl Money {
    /// Parses a stored `_price`-style meta value ("19.99", "20"), `None` for anything else.
    pub fn from_stored(s: &str) -> Option<Money> {
        let t = s.trim();
        if t.is_empty() {
            return None;
        }
        Decimal::from_str(t).ok().map(|value| Money { value })
    }

    /// The text stored in the shop: the digits and decimals as given.
    pub fn text(&self) -> String {
        self.value.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

/// What the feed says about the sale price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sale {
    /// No sale column: leave the sale alone.
    Absent,
    /// An empty cell: there is no sale (the `_sale_price` row goes).
    Clear,
    Set(Money),
}

/// What a stock quantity with a fraction (goods sold per kg or m²: `2.383`) becomes; WooCommerce
/// keeps stock as a whole number (`wc_stock_amount()` rounds down by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fractional {
    /// The whole part, with a warning (WooCommerce's own default).
    #[default]
    Floor,
    /// The nearest whole number (halves away from zero), with a warning.
    Round,
    /// The row is rejected.
    Reject,
}

/// A warning attached to an item by normalisation (e.g. negative stock written as 0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    pub field: String,
    pub message: String,
}

/// One normalised feed row: what the shop should hold for this SKU.
/// `None` fields are left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Line in the source where the row starts (1-based, header is line 1).
    pub line: u64,
    /// Inline up to 24 bytes: most SKUs take no allocation of their own.
    pub sku: CompactString,
    pub name: Option<CompactString>,
    pub regular: Option<Money>,
    pub sale: Sale,
    pub stock: Option<i64>,
    /// The source's own ID for the product (a column, a JSON field, CommerceML `Ид`), if any.
    pub external_id: Option<CompactString>,
    /// The card's texts and GTIN, when the feed gives any (most rows of a price feed do not).
    pub content: Option<Box<Content>>,
    pub notes: Vec<Note>,
    /// Not a feed row: a product this source synced before that is absent now (`missing = "zero_stock"`).
    pub missing: bool,
}

/// What a feed row says of a product's card beyond prices and stock. `None` = not given (the
/// column is absent or the cell empty): left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Content {
    /// `post_content`, HTML as given.
    #[serde(rename = "d", skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    /// `post_excerpt`, HTML as given.
    #[serde(rename = "h", skip_serializing_if = "Option::is_none", default)]
    pub short_description: Option<String>,
    /// WooCommerce's GTIN/UPC/EAN/ISBN (`_global_unique_id`), digits and `-` only.
    #[serde(rename = "g", skip_serializing_if = "Option::is_none", default)]
    pub gtin: Option<String>,
    /// The product's categories: one path (root first) per category the product is in.
    #[serde(rename = "c", skip_serializing_if = "Option::is_none", default)]
    pub categories: Option<Vec<CategoryPath>>,
    /// The product's attributes with their values, in the order the source maps them.
    #[serde(rename = "a", skip_serializing_if = "Option::is_none", default)]
    pub attributes: Option<Vec<AttributeValues>>,
    /// The SKU of the variable product this row is a variation of.
    #[serde(rename = "p", skip_serializing_if = "Option::is_none", default)]
    pub parent_sku: Option<String>,
    /// The source's ID of that parent (a 1C good), kept on the variable product it becomes.
    #[serde(rename = "q", skip_serializing_if = "Option::is_none", default)]
    pub parent_id: Option<String>,
    /// `[source.meta]` values: (the entry's position in `[source.meta]`, value as stored).
    #[serde(rename = "m", skip_serializing_if = "Option::is_none", default)]
    pub meta: Option<Vec<(u16, String)>>,
    /// Pictures: absolute paths or http(s) URLs, the featured image first, then the gallery.
    #[serde(rename = "im", skip_serializing_if = "Option::is_none", default)]
    pub images: Option<Vec<String>>,
    /// The size in bytes of each picture that is a file (0 for a URL or a file not there), read
    /// when `update_content` keeps pictures in step: a picture replaced under the same name
    /// mostly changes its size, and the size is had without reading the file.
    #[serde(rename = "is", skip_serializing_if = "Option::is_none", default)]
    pub image_sizes: Option<Vec<u64>>,
}

/// Whether a picture source is an http(s) URL (else a path), letter case aside.
pub fn is_picture_url(source: &str) -> bool {
    let s = source.trim_start().as_bytes();
    [&b"https://"[..], b"http://"].iter().any(|scheme| s.get(..scheme.len()).is_some_and(|head| head.eq_ignore_ascii_case(scheme)))
}

impl Content {
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.short_description.is_none() && self.gtin.is_none() && self.categories.is_none() && self.attributes.is_none() && self.parent_sku.is_none() && self.parent_id.is_none() && self.meta.is_none() && self.images.is_none()
    }
}

/// An attribute as a feed row gives it: its name (`Размер`) and one or more values (a simple
/// product may be sold in several colours; a cell separates them by `|`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttributeValues {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "v")]
    pub values: Vec<String>,
}

/// A category as the feed names it: its ancestors and itself, root first.
pub type CategoryPath = Vec<Segment>;

/// One level of a category path: the name as the feed gives it and, from CommerceML, the
/// group's `Ид` (kept in the term's meta, so a group renamed in 1C is still found).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "i", skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
}

impl Segment {
    pub fn named(name: &str) -> Segment {
        Segment { name: name.to_string(), id: None }
    }
}

/// A path as people write it: `Одежда > Детская > Боди`.
pub fn path_text(path: &[Segment]) -> String {
    path.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" > ")
}

impl Item {
    /// The GTIN the row gives, if any.
    pub fn gtin(&self) -> Option<&str> {
        self.content.as_ref().and_then(|c| c.gtin.as_deref())
    }

    /// The SKU of the variable product the row is a variation of, if any.
    pub fn parent_sku(&self) -> Option<&str> {
        self.content.as_ref().and_then(|c| c.parent_sku.as_deref())
    }

    /// The attributes the row gives, if any.
    pub fn attributes(&self) -> &[AttributeValues] {
        self.content.as_ref().and_then(|c| c.attributes.as_deref()).unwrap_or(&[])
    }

    /// The `[source.meta]` values the row gives: (entry, value).
    pub fn meta(&self) -> &[(u16, String)] {
        self.content.as_ref().and_then(|c| c.meta.as_deref()).unwrap_or(&[])
    }

    /// The pictures the row gives, if any.
    pub fn images(&self) -> &[String] {
        self.content.as_ref().and_then(|c| c.images.as_deref()).unwrap_or(&[])
    }

    /// The category paths the row gives, if any.
    pub fn categories(&self) -> &[CategoryPath] {
        self.content.as_ref().and_then(|c| c.categories.as_deref()).unwrap_or(&[])
    }

    /// The identity key: SKUs compare the way the shop's `utf8mb4_unicode_520_ci` collation
    /// mostly does (case-insensitive), after trimming.
    pub fn key(&self) -> String {
        sku_key(&self.sku)
    }
}

pub fn sku_key(sku: &str) -> String {
    sku.trim().to_lowercase()
}

/// A feed row that cannot be synced: reported as `invalid`, never written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub sku: String,
    pub field: String,
    /// Where the bad value is, in the source's terms: `feed.csv:17:3`, `Лист1!C17`,
    /// `page 2 /data/products/4/price`, an XML element path.
    pub location: String,
    pub message: String,
}

/// A feed row that is not a product (a footer, total or group row of a report): counted, and
/// reported as a warning only when `warning` says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: u64,
    /// The SKU cell, for the report.
    pub sku: String,
    pub location: String,
    pub warning: Option<String>,
}

/// The meta keys woosync reads and writes, in the order WooCommerce writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Sku = 0,
    RegularPrice,
    SalePrice,
    ManageStock,
    Backorders,
    Stock,
    StockStatus,
    Price,
    // Rare keys (scheduled sales) live outside the per-product slots, in `Catalog::extra`.
    SaleFrom,
    SaleTo,
}

impl Key {
    pub const ALL: [Key; 10] = [
        Key::Sku,
        Key::RegularPrice,
        Key::SalePrice,
        Key::ManageStock,
        Key::Backorders,
        Key::Stock,
        Key::StockStatus,
        Key::Price,
        Key::SaleFrom,
        Key::SaleTo,
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
}
