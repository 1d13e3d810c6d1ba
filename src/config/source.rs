//! `[source]` and `[source.columns]`: which feed to read and where each field comes from. Keys of
//! another source type are refused by name; secrets in the URL and headers come from `${VAR}`
//! expansion and live in [`Secret`]s. Plain data; `crate::source` reads the feed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{expand_env, redact_url, Secret};
use crate::error::{Error, Result};

/// The canonical fields a feed can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Sku = 0,
    Name = 1,
    RegularPrice = 2,
    SalePrice = 3,
    Stock = 4,
    ExternalId = 5,
    Description = 6,
    ShortDescription = 7,
    Gtin = 8,
    Category = 9,
    ParentSku = 10,
    Images = 11,
}

pub const FIELDS: usize = 12;

impl Field {
    pub const ALL: [Field; FIELDS] = [
        Field::Sku,
        Field::Name,
        Field::RegularPrice,
        Field::SalePrice,
        Field::Stock,
        Field::ExternalId,
        Field::Description,
        Field::ShortDescription,
        Field::Gtin,
        Field::Category,
        Field::ParentSku,
        Field::Images,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Sku => "sku",
            Field::Name => "name",
            Field::RegularPrice => "regular_price",
            Field::SalePrice => "sale_price",
            Field::Stock => "stock",
            Field::ExternalId => "external_id",
            Field::Description => "description",
            Field::ShortDescription => "short_description",
            Field::Gtin => "gtin",
            Field::Category => "category",
            Field::ParentSku => "parent_sku",
            Field::Images => "images",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceSection {
    #[serde(rename = "type")]
    kind: String,
    path: Option<PathBuf>,
    // csv
    delimiter: Option<String>,
    encoding: Option<String>,
    // xlsx
    sheet: Option<SheetKey>,
    header_row: Option<u32>,
    // commerceml
    import_path: Option<PathBuf>,
    // http
    url: Option<String>,
    method: Option<String>,
    headers: Option<std::collections::BTreeMap<String, String>>,
    basic_auth: Option<BasicAuthSection>,
    timeout_secs: Option<u64>,
    retries: Option<u32>,
    items: Option<String>,
    max_pages: Option<u32>,
    max_requests_per_sec: Option<f64>,
    max_response_mb: Option<u64>,
    paging: Option<PagingSection>,
    // every type
    price_divisor: Option<i64>,
    skip_rows: Option<Vec<SkipRowSection>>,
    skip_total_rows: Option<bool>,
    category_separator: Option<String>,
    #[serde(default)]
    columns: Columns,
    #[serde(default)]
    attributes: AttributeMap,
    #[serde(default)]
    meta: MetaMap,
}

/// `[source.meta]` as written: meta key → a column (text) or `{ stock = … }` / `{ price = … }` /
/// `{ text = … }`, checked by [`meta_fields`].
type MetaMap = OrderedMap<toml::Value>;

/// A TOML table in the order it is written (`[source.attributes]` positions follow it, and
/// `[source.meta]` is read and reported in it).
#[derive(Debug)]
struct OrderedMap<V>(Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Ordered<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Ordered<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of names, each with where its values come from")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<OrderedMap<V>, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    pairs.push((k, v));
                }
                Ok(OrderedMap(pairs))
            }
        }
        d.deserialize_map(Ordered(std::marker::PhantomData))
    }
}

/// What a `[source.meta]` value is, and so how it is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MetaKind {
    /// Text as given (trimmed).
    Text,
    /// A quantity: its columns or warehouses summed, made a whole number like the stock.
    Stock,
    /// A price, normalised like the prices (`price_divisor`, decimal comma, no thousands separator).
    Price,
}

/// One `[source.meta]` entry: the post meta key the feed fills, what kind of value it is, and
/// where it comes from (columns, JSON pointers, CommerceML warehouses, a price type, a property
/// or requisite); several only for a stock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetaField {
    pub key: &'static str,
    pub kind: MetaKind,
    pub from: Vec<String>,
}

/// `[source.attributes]`: attribute name → column, JSON pointer or CommerceML property.
type AttributeMap = OrderedMap<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipRowSection {
    column: String,
    matches: String,
}

/// How rows are read whatever the source type: `[source] price_divisor`, `skip_rows` and
/// `skip_total_rows`.
#[derive(Debug, Clone)]
pub struct RowRules {
    /// The feed's prices are in units of 10^-`price_scale` of the currency: `price_divisor =
    /// 100` (kopecks, cents) is 2.
    pub price_scale: u32,
    /// Rows any of these match are skipped: counted, not reported.
    pub skip: Vec<SkipRule>,
    /// A row whose SKU cell (or, with no SKU, name cell) is a totals word is skipped with a warning.
    pub skip_totals: bool,
    /// Between the levels of a category path (`Одежда > Детская > Боди`); several paths in one
    /// cell are split by `|` first.
    pub category_separator: String,
}

/// `[source] category_separator` unless set.
pub const CATEGORY_SEPARATOR: &str = " > ";

impl Default for RowRules {
    fn default() -> Self {
        RowRules { price_scale: 0, skip: Vec::new(), skip_totals: true, category_separator: CATEGORY_SEPARATOR.into() }
    }
}

/// One `skip_rows` entry: a regular expression on the trimmed text of a mapped column.
#[derive(Debug, Clone)]
pub struct SkipRule {
    /// The column as configured (for messages).
    pub column: String,
    pub field: Field,
    /// Which of several stock columns (0 for every other field).
    pub part: usize,
    pub pattern: regex::Regex,
}

/// The largest `price_divisor` exponent: rust_decimal keeps at most 28 decimals, and no
/// currency has a use for more than a millionth.
const MAX_PRICE_SCALE: u32 = 6;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SheetKey {
    Index(i64),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuthSection {
    user: String,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PagingSection {
    #[serde(rename = "type")]
    kind: String,
    param: Option<String>,
    first: Option<u64>,
    size_param: Option<String>,
    size: Option<u64>,
    offset_param: Option<String>,
    limit_param: Option<String>,
    limit: Option<u64>,
    next: Option<String>,
}

/// Where each canonical field comes from: a header name (CSV, spreadsheets; or a column letter),
/// a JSON pointer (HTTP) or a price type / warehouses (CommerceML). A field left out uses its
/// own name (CSV, spreadsheets, HTTP).
#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub regular_price: Option<String>,
    pub sale_price: Option<String>,
    pub stock: Option<OneOrMany>,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub short_description: Option<String>,
    pub gtin: Option<String>,
    pub category: Option<String>,
    pub parent_sku: Option<String>,
    /// Pictures: paths or URLs, `|`-separated (HTTP: a string or an array); the first is the
    /// featured image, the rest the gallery. Needs `[wordpress] uploads_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<String>,
    /// `[source.attributes]`: (attribute name, where its values come from), in the config's order.
    #[serde(skip)]
    pub attributes: Vec<(String, String)>,
    /// `[source.meta]`: the post meta keys the feed fills, in the config's order.
    #[serde(skip)]
    pub meta: Vec<MetaField>,
}

/// `stock = "Остаток"` or `stock = ["Склад Москва", "Склад СПб"]` (summed).
#[derive(Debug, Deserialize, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

impl Columns {
    /// What `[source.columns]` names for a field of one source (every field but the stock,
    /// which may have several), if anything.
    pub fn configured(&self, field: Field) -> Option<&String> {
        match field {
            Field::Sku => self.sku.as_ref(),
            Field::Name => self.name.as_ref(),
            Field::RegularPrice => self.regular_price.as_ref(),
            Field::SalePrice => self.sale_price.as_ref(),
            Field::Stock => None,
            Field::ExternalId => self.external_id.as_ref(),
            Field::Description => self.description.as_ref(),
            Field::ShortDescription => self.short_description.as_ref(),
            Field::Gtin => self.gtin.as_ref(),
            Field::Category => self.category.as_ref(),
            Field::ParentSku => self.parent_sku.as_ref(),
            Field::Images => self.images.as_ref(),
        }
    }

    /// The configured name of a field's source (the stock's first one), else the field's own name.
    pub fn name_of(&self, field: Field) -> String {
        let configured = match field {
            Field::Stock => self.stock.as_ref().and_then(|s| s.names().first().cloned()),
            _ => self.configured(field).cloned(),
        };
        configured.unwrap_or_else(|| field.name().to_string())
    }

    /// The stock sources in order: the configured ones, else the field's own name.
    pub fn stock_names(&self) -> Vec<String> {
        match &self.stock {
            Some(s) => s.names(),
            None => vec!["stock".to_string()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1251,
}

/// The configured feed.
#[derive(Debug, Clone)]
pub enum Source {
    Csv(CsvSource),
    Xlsx(XlsxSource),
    Http(Box<HttpSource>),
    CommerceMl(CmlSource),
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Csv(_) => "csv",
            Source::Xlsx(_) => "xlsx",
            Source::Http(_) => "http",
            Source::CommerceMl(_) => "commerceml",
        }
    }

    pub fn columns(&self) -> &Columns {
        match self {
            Source::Csv(s) => &s.columns,
            Source::Xlsx(s) => &s.columns,
            Source::Http(s) => &s.columns,
            Source::CommerceMl(s) => &s.columns,
        }
    }

    /// Where the feed comes from, safe to log: a file path, or the URL without credentials
    /// and query. Also the source's identity for the products it has seen.
    pub fn label(&self) -> String {
        match self {
            Source::Csv(s) => s.path.display().to_string(),
            Source::Xlsx(s) => s.path.display().to_string(),
            Source::Http(s) => s.label.clone(),
            Source::CommerceMl(s) => s.offers.display().to_string(),
        }
    }

    /// How the source counts its rows in messages: "line 17", "row 17", "item 17", "offer 17".
    pub fn row_word(&self) -> &'static str {
        match self {
            Source::Csv(_) => "line",
            Source::Xlsx(_) => "row",
            Source::Http(_) => "item",
            Source::CommerceMl(_) => "offer",
        }
    }

    /// Whether rows carry an external ID (a configured column, or CommerceML's `Ид`).
    pub fn has_external_ids(&self) -> bool {
        matches!(self, Source::CommerceMl(_)) || self.columns().external_id.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct CsvSource {
    pub path: PathBuf,
    pub delimiter: Option<u8>,
    pub encoding: Encoding,
    pub columns: Columns,
}

/// A sheet by name or by position (1 = the first sheet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetRef {
    Name(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub struct XlsxSource {
    pub path: PathBuf,
    pub sheet: SheetRef,
    /// The 1-based row holding the column titles; 0 = no header row (columns by letter only).
    pub header_row: u32,
    pub columns: Columns,
}

#[derive(Debug, Clone)]
pub struct CmlSource {
    /// `offers.xml`: prices and stock.
    pub offers: PathBuf,
    /// `import.xml`: articles and names of the goods, when the offers lack them.
    pub import: Option<PathBuf>,
    pub columns: Columns,
    /// `[sync] parent_sku_from = "external_id"`: a good's variable product takes the good's Ид as SKU.
    pub parent_sku_from_id: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// One request.
    None,
    /// `?param=first`, `first+1`, ... until a page has no items.
    Page { param: String, first: u64, size: Option<(String, u64)> },
    /// `?offset_param=0&limit_param=limit`, advancing by the items received, until a page has none.
    Offset { offset_param: String, limit_param: String, limit: u64 },
    /// The next page's URL from a JSON pointer in the body, or from the `Link: <...>; rel="next"` header.
    Next { pointer: Option<String> },
}

#[derive(Debug, Clone)]
pub struct HttpSource {
    /// The full URL, which may hold a secret (expanded from `${VAR}`).
    pub url: Secret,
    /// The URL without credentials or query, for logs and messages.
    pub label: String,
    pub method: String,
    pub headers: Vec<(String, Secret)>,
    pub basic_auth: Option<(String, Secret)>,
    pub timeout: Duration,
    pub retries: u32,
    /// The first retry waits this long, each later one twice as long (at most 30 s).
    pub retry_base: Duration,
    /// JSON pointer to the array of items in each page (`""` = the body is the array).
    pub items: String,
    pub paging: Paging,
    pub max_pages: u32,
    pub max_requests_per_sec: Option<f64>,
    /// The most one response may hold once decoded (gzip inflated), in bytes.
    pub max_response_bytes: u64,
    pub columns: Columns,
}

/// `[source]` → [`Source`] and its [`RowRules`]: the keys of the chosen type only, each checked.
impl SourceSection {
    pub(super) fn settle(mut self, base: &Path) -> Result<(Source, RowRules)> {
        let price_scale = price_scale(self.price_divisor)?;
        let (skip_rows, skip_totals) = (self.skip_rows.take().unwrap_or_default(), self.skip_total_rows.unwrap_or(true));
        let category_separator = self.category_separator.take().unwrap_or_else(|| CATEGORY_SEPARATOR.into());
        if category_separator.trim().is_empty() || category_separator.contains('|') {
            return Err(Error::Config(format!(
                "[source] category_separator = {category_separator:?}: expected the text between a path's levels, such as \" > \" or \"/\" (not blank, and not `|`, which separates paths)"
            )));
        }
        let attributes = attribute_map(std::mem::take(&mut self.attributes))?;
        self.columns.attributes = attributes;
        self.columns.meta = meta_fields(std::mem::take(&mut self.meta))?;
        let source = parse_source(self, base)?;
        let skip = skip_rows.into_iter().enumerate().map(|(i, r)| skip_rule(i, r, &source)).collect::<Result<Vec<_>>>()?;
        Ok((source, RowRules { price_scale, skip, skip_totals, category_separator }))
    }
}

/// `[source.attributes]` checked: names and sources present, no name twice (as WooCommerce tells
/// names apart: without case).
fn attribute_map(map: AttributeMap) -> Result<Vec<(String, String)>> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (name, from) in map.0 {
        let (name, from) = (name.trim().to_string(), from.trim().to_string());
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(Error::Config(format!("[source.attributes] {name:?}: expected an attribute name such as \"Размер\"")));
        }
        if from.is_empty() {
            return Err(Error::Config(format!(
                "[source.attributes] {name:?} = \"\": expected the column, JSON pointer or CommerceML property its values come from"
            )));
        }
        let key = crate::woo::terms::name_key(&name);
        if seen.contains(&key) {
            return Err(Error::Config(format!("[source.attributes] {name:?} is named twice (names are told apart without case)")));
        }
        seen.push(key);
        out.push((name, from));
    }
    Ok(out)
}

/// `[source.meta]` checked: keys WordPress can hold that are not WooCommerce's or WordPress's own
/// (those go only through their canonical fields, with all their consequences), each with one
/// kind of value and where it comes from.
fn meta_fields(map: MetaMap) -> Result<Vec<MetaField>> {
    let mut out = Vec::new();
    for (key, value) in map.0 {
        let at = format!("[source.meta] {key:?}");
        if !super::is_meta_key(&key) {
            return Err(Error::Config(format!("{at}: expected a post meta key of letters, digits, `_` and `-` such as \"_woosync_stock_ozon\" (at most {})", super::MAX_META_KEY_CHARS)));
        }
        if let Some(why) = crate::woo::meta::owned_key(&key) {
            return Err(Error::Config(format!("{at}: {why}; [source.meta] writes meta keys of your own, such as \"_woosync_stock_ozon\"")));
        }
        let names = |v: &toml::Value, what: &str| -> Result<Vec<String>> {
            let list = match v {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(a) if what == "stock" && !a.is_empty() => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).ok_or_else(|| Error::Config(format!("{at}: stock = [...] holds {x}; expected names"))))
                    .collect::<Result<_>>()?,
                other => return Err(Error::Config(format!("{at}: {what} = {other}; expected {}", if what == "stock" { "a name or a list of names" } else { "a name" }))),
            };
            match list.iter().find(|n| n.trim().is_empty()) {
                Some(_) => Err(Error::Config(format!("{at}: {what} names an empty column; expected the column, JSON pointer, warehouse or price type it comes from"))),
                None => Ok(list.into_iter().map(|n| n.trim().to_string()).collect()),
            }
        };
        let (kind, from) = match &value {
            toml::Value::String(_) => (MetaKind::Text, names(&value, "text")?),
            toml::Value::Table(t) if t.len() == 1 => {
                let (what, v) = t.iter().next().expect("one entry");
                let kind = match what.as_str() {
                    "stock" => MetaKind::Stock,
                    "price" => MetaKind::Price,
                    "text" => MetaKind::Text,
                    other => return Err(Error::Config(format!("{at}: {other} = …; expected stock, price or text"))),
                };
                (kind, names(v, what)?)
            }
            other => {
                return Err(Error::Config(format!(
                    "{at} = {other}: expected a column (text) or one of {{ stock = [\"Склад\"] }}, {{ price = \"Цена\" }}, {{ text = \"Код\" }}"
                )))
            }
        };
        out.push(MetaField { key: Box::leak(key.into_boxed_str()), kind, from });
    }
    Ok(out)
}

/// `price_divisor = 100` → 2: only powers of ten, so dividing is moving the decimal point.
fn price_scale(divisor: Option<i64>) -> Result<u32> {
    let Some(d) = divisor else { return Ok(0) };
    let mut scale = 0;
    let mut rest = d;
    while rest >= 10 && rest % 10 == 0 {
        rest /= 10;
        scale += 1;
    }
    if rest != 1 || scale > MAX_PRICE_SCALE {
        return Err(Error::Config(format!(
            "[source] price_divisor = {d}: expected a power of ten from 1 to {} (100 for prices in kopecks or cents)",
            10u64.pow(MAX_PRICE_SCALE)
        )));
    }
    Ok(scale)
}

/// A `skip_rows` entry: its column must be one the source maps (by its configured name, the
/// field's own name, or for CommerceML Артикул/Наименование/Ид), its pattern a valid regex.
fn skip_rule(i: usize, r: SkipRowSection, source: &Source) -> Result<SkipRule> {
    let key = format!("[source] skip_rows[{i}]");
    let columns = source.columns();
    let wanted = r.column.trim().to_lowercase();
    let mut candidates: Vec<(Field, usize, String)> = Vec::new();
    for field in Field::ALL {
        if field == Field::Stock {
            candidates.extend(columns.stock_names().into_iter().enumerate().map(|(part, n)| (field, part, n)));
        } else {
            candidates.push((field, 0, columns.name_of(field)));
        }
        candidates.push((field, 0, field.name().to_string()));
    }
    if matches!(source, Source::CommerceMl(_)) {
        candidates.extend([(Field::Sku, 0, "Артикул".into()), (Field::Name, 0, "Наименование".into()), (Field::ExternalId, 0, "Ид".into())]);
    }
    let Some((field, part, _)) = candidates.iter().find(|(_, _, n)| n.trim().to_lowercase() == wanted).cloned() else {
        let mapped: Vec<String> = Field::ALL.iter().map(|f| format!("{} ({})", columns.name_of(*f), f.name())).collect();
        return Err(Error::Config(format!(
            "{key} column = {:?} is not a column the source reads; expected one of: {}",
            r.column,
            mapped.join(", ")
        )));
    };
    let pattern = regex::Regex::new(&r.matches)
        .map_err(|e| Error::Config(format!("{key} matches = {:?} is not a valid regular expression: {}", r.matches, last_line(&e.to_string()))))?;
    Ok(SkipRule { column: r.column, field, part, pattern })
}

/// regex errors end with the line that says what is wrong.
fn last_line(s: &str) -> String {
    s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim().to_string()
}

fn parse_source(mut src: SourceSection, base: &Path) -> Result<Source> {
    let kind = src.kind.to_ascii_lowercase();
    let kind = match kind.as_str() {
        "xls" | "ods" => "xlsx".to_string(),
        "cml" | "1c" => "commerceml".to_string(),
        _ => kind,
    };
    // Keys that belong to another type are a mistake worth naming.
    let given: [(&str, bool, &[&str]); 16] = [
        ("path", src.path.is_some(), &["csv", "xlsx", "commerceml"]),
        ("delimiter", src.delimiter.is_some(), &["csv"]),
        ("encoding", src.encoding.is_some(), &["csv"]),
        ("sheet", src.sheet.is_some(), &["xlsx"]),
        ("header_row", src.header_row.is_some(), &["xlsx"]),
        ("import_path", src.import_path.is_some(), &["commerceml"]),
        ("url", src.url.is_some(), &["http"]),
        ("method", src.method.is_some(), &["http"]),
        ("headers", src.headers.is_some(), &["http"]),
        ("basic_auth", src.basic_auth.is_some(), &["http"]),
        ("timeout_secs", src.timeout_secs.is_some(), &["http"]),
        ("retries", src.retries.is_some(), &["http"]),
        ("items", src.items.is_some(), &["http"]),
        ("max_pages", src.max_pages.is_some(), &["http"]),
        ("max_requests_per_sec", src.max_requests_per_sec.is_some(), &["http"]),
        ("max_response_mb", src.max_response_mb.is_some(), &["http"]),
    ];
    if !matches!(kind.as_str(), "csv" | "xlsx" | "http" | "commerceml") {
        return Err(Error::Config(format!(
            "[source] type = {:?}: expected \"csv\", \"xlsx\" (also .xls/.ods), \"http\" or \"commerceml\"",
            src.kind
        )));
    }
    for (key, present, types) in given.iter().chain([("paging", src.paging.is_some(), &["http"][..])].iter()) {
        if *present && !types.contains(&kind.as_str()) {
            return Err(Error::Config(format!("[source] {key} applies to type = \"{}\" only, not {kind:?}", types.join("\" or \""))));
        }
    }
    let columns = std::mem::take(&mut src.columns);
    if let Some(OneOrMany::Many(v)) = &columns.stock {
        if v.is_empty() {
            return Err(Error::Config("[source.columns] stock = []: expected one or more names".into()));
        }
    }
    let path = |p: Option<PathBuf>, key: &str| -> Result<PathBuf> {
        let p = p.ok_or_else(|| Error::Config(format!("[source] {key} is required for type = {kind:?}")))?;
        Ok(if p.is_absolute() { p } else { base.join(p) })
    };
    match kind.as_str() {
        "csv" => {
            let delimiter = match src.delimiter.as_deref() {
                None => None,
                Some(",") => Some(b','),
                Some(";") => Some(b';'),
                Some("\t") | Some("\\t") | Some("tab") | Some("TAB") => Some(b'\t'),
                Some("|") => Some(b'|'),
                Some(other) => {
                    return Err(Error::Config(format!(
                        "[source] delimiter = {other:?}: expected \",\", \";\", \"\\t\" or \"|\" (or leave it out to detect)"
                    )))
                }
            };
            let encoding = parse_encoding(src.encoding.as_deref(), "[source] encoding")?.unwrap_or(Encoding::Utf8);
            Ok(Source::Csv(CsvSource { path: path(src.path, "path")?, delimiter, encoding, columns }))
        }
        "xlsx" => {
            let sheet = match src.sheet {
                None => SheetRef::Index(1),
                Some(SheetKey::Index(i)) if i >= 1 => SheetRef::Index(i as usize),
                Some(SheetKey::Index(i)) => {
                    return Err(Error::Config(format!("[source] sheet = {i}: expected a sheet name or a position from 1 (the first sheet)")))
                }
                Some(SheetKey::Name(n)) => SheetRef::Name(n),
            };
            Ok(Source::Xlsx(XlsxSource { path: path(src.path, "path")?, sheet, header_row: src.header_row.unwrap_or(1), columns }))
        }
        "commerceml" => {
            let fixed = [Field::Sku, Field::Name, Field::ExternalId, Field::Description, Field::ShortDescription, Field::Gtin, Field::Category, Field::ParentSku, Field::Images];
            if let Some(key) = fixed.into_iter().find(|f| columns.configured(*f).is_some()).map(Field::name) {
                return Err(Error::Config(format!(
                    "[source.columns] {key} does not apply to commerceml: it reads Артикул, Наименование, Ид, Описание, Штрихкод and Группы; \
                     map regular_price and sale_price to price types and stock to warehouses"
                )));
            }
            let import = src.import_path.map(|p| if p.is_absolute() { p } else { base.join(p) });
            Ok(Source::CommerceMl(CmlSource { offers: path(src.path, "path")?, import, columns, parent_sku_from_id: false }))
        }
        _ => parse_http(src, columns),
    }
}

/// A text encoding a config names (`at`: the key, for the message); `None` when not named.
pub(super) fn parse_encoding(value: Option<&str>, at: &str) -> Result<Option<Encoding>> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("utf-8") | Some("utf8") => Ok(Some(Encoding::Utf8)),
        Some("windows-1251") | Some("cp1251") => Ok(Some(Encoding::Windows1251)),
        Some(other) => Err(Error::Config(format!("{at} = {other:?}: expected \"utf-8\" or \"windows-1251\""))),
    }
}

/// `[source] type = "http"`: the URL, request, paging and pointers, each checked.
fn parse_http(src: SourceSection, columns: Columns) -> Result<Source> {
    let SourceSection { url, method, headers, basic_auth, timeout_secs, retries, items, max_pages, max_requests_per_sec, max_response_mb, paging, .. } = src;
    let raw = url.ok_or_else(|| Error::Config("[source] url is required for type = \"http\"".into()))?;
    let full = expand_env(&raw, "[source] url")?;
    let parsed = url::Url::parse(&full).map_err(|e| Error::Config(format!("[source] url: {e}; expected an http:// or https:// URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!("[source] url: scheme {:?}; expected http or https", parsed.scheme())));
    }
    let label = redact_url(&parsed);
    let method = method.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST") {
        return Err(Error::Config(format!("[source] method = {method:?}: expected \"GET\" or \"POST\"")));
    }
    let mut header_list = Vec::new();
    for (name, value) in headers.unwrap_or_default() {
        let key = format!("[source.headers] {name}");
        reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Config(format!("{key}: not a valid header name")))?;
        let value = expand_env(&value, &key)?;
        reqwest::header::HeaderValue::from_str(&value).map_err(|_| Error::Config(format!("{key}: the value is not a valid header value")))?;
        header_list.push((name, Secret(value)));
    }
    let basic_auth = match basic_auth {
        None => None,
        Some(b) => {
            let password = match b.password {
                Some(p) => expand_env(&p, "[source.basic_auth] password")?,
                None => String::new(),
            };
            Some((b.user, Secret(password)))
        }
    };
    let pointer = |p: String, key: &str| -> Result<String> {
        if p.is_empty() || p.starts_with('/') {
            Ok(p)
        } else {
            Err(Error::Config(format!("{key} = {p:?}: expected a JSON pointer like \"/data/products\" (or \"\" for the whole body)")))
        }
    };
    let items = pointer(items.unwrap_or_default(), "[source] items")?;
    let paging = match paging {
        None => Paging::None,
        Some(p) => {
            let kind = p.kind.to_ascii_lowercase();
            let unexpected = |keys: &[(&str, bool)]| -> Result<()> {
                match keys.iter().find(|(_, present)| *present) {
                    Some((k, _)) => Err(Error::Config(format!("[source.paging] {k} does not apply to type = {kind:?}"))),
                    None => Ok(()),
                }
            };
            match kind.as_str() {
                "none" => {
                    unexpected(&[("param", p.param.is_some()), ("next", p.next.is_some()), ("limit", p.limit.is_some())])?;
                    Paging::None
                }
                "page" => {
                    unexpected(&[("offset_param", p.offset_param.is_some()), ("limit_param", p.limit_param.is_some()), ("limit", p.limit.is_some()), ("next", p.next.is_some())])?;
                    let size = match (p.size_param, p.size) {
                        (Some(n), Some(s)) if s > 0 => Some((n, s)),
                        (None, None) => None,
                        _ => return Err(Error::Config("[source.paging] size_param and size go together (size ≥ 1)".into())),
                    };
                    Paging::Page { param: p.param.unwrap_or_else(|| "page".into()), first: p.first.unwrap_or(1), size }
                }
                "offset" => {
                    unexpected(&[("param", p.param.is_some()), ("first", p.first.is_some()), ("size_param", p.size_param.is_some()), ("size", p.size.is_some()), ("next", p.next.is_some())])?;
                    let limit = p.limit.unwrap_or(100);
                    if limit == 0 {
                        return Err(Error::Config("[source.paging] limit = 0: expected at least 1".into()));
                    }
                    Paging::Offset {
                        offset_param: p.offset_param.unwrap_or_else(|| "offset".into()),
                        limit_param: p.limit_param.unwrap_or_else(|| "limit".into()),
                        limit,
                    }
                }
                "next" => {
                    unexpected(&[("param", p.param.is_some()), ("first", p.first.is_some()), ("size_param", p.size_param.is_some()), ("size", p.size.is_some()), ("offset_param", p.offset_param.is_some()), ("limit_param", p.limit_param.is_some()), ("limit", p.limit.is_some())])?;
                    Paging::Next { pointer: p.next.map(|n| pointer(n, "[source.paging] next")).transpose()? }
                }
                other => {
                    return Err(Error::Config(format!(
                        "[source.paging] type = {other:?}: expected \"page\", \"offset\", \"next\" or \"none\""
                    )))
                }
            }
        }
    };
    if let Some(key) = Field::ALL.into_iter().find(|f| columns.configured(*f).is_some_and(|v| v.is_empty())).map(Field::name) {
        return Err(Error::Config(format!("[source.columns] {key} = \"\": expected a JSON pointer like \"/article\" or a field name")));
    }
    if let Some(rate) = max_requests_per_sec {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(Error::Config(format!("[source] max_requests_per_sec = {rate}: expected a number above 0")));
        }
    }
    Ok(Source::Http(Box::new(HttpSource {
        url: Secret(full),
        label,
        method,
        headers: header_list,
        basic_auth,
        timeout: Duration::from_secs(timeout_secs.unwrap_or(30).clamp(1, 3600)),
        retries: retries.unwrap_or(3).min(20),
        retry_base: Duration::from_millis(500),
        items,
        paging,
        max_pages: max_pages.unwrap_or(10_000).max(1),
        max_requests_per_sec,
        max_response_bytes: max_response_mb.unwrap_or(256).max(1) << 20,
        columns,
    })))
}
