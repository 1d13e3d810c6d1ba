//! Raw rows → [`Item`]s or [`Rejection`]s. Pure: no I/O; of the shop it knows only how much its
//! columns hold ([`Widths`]).
//!
//! Rules: the SKU is trimmed and required, and like the name, the external ID and the prices it
//! must fit the shop's columns (the lookup's `sku`, `post_title`, the lookup's price columns),
//! and the row the server's `max_allowed_packet`; prices accept `1234.5`, `1234,50`, `1 234,50` (space or no-break space as
//! thousands separator); stock accepts numbers, a fraction made whole by `[sync] fractional_stock`
//! (the whole part by default, with a warning); an empty
//! regular price or stock leaves that value alone, an empty sale price means "no sale";
//! a sale price not below the regular price rejects the row; negative stock becomes 0 with a
//! warning.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::config::{MetaKind, RowRules};
use crate::model::{AttributeValues, CategoryPath, Content, Fractional, Item, Money, Note, Rejection, Sale, Segment, Skipped};
use crate::source::{Field, Locate, RawRecord};
use crate::widths::{thousands, Widths};

/// External IDs are kept in a meta value; 1C's are 36 or 73 characters (`guid#guid`).
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// What normalising a row needs to know: the shop's columns (a value they cannot hold rejects
/// the row here, before anything is frozen or written), what a stock quantity with a fraction
/// becomes, and the source's row rules (price divisor, rows to skip).
#[derive(Debug, Clone)]
pub struct Rules {
    pub widths: Widths,
    pub fractional: Fractional,
    pub rows: RowRules,
    /// `[source.meta]`, in order.
    pub meta: Vec<crate::config::MetaField>,
    /// With `[wordpress]`: the folder relative picture paths start from (the feed file's); without
    /// it the `images` field is not read.
    pub images_base: Option<std::path::PathBuf>,
    /// Read the size of each picture file (`update_content` keeps pictures in step).
    pub image_sizes: bool,
}

impl Rules {
    pub fn new(widths: Widths, settings: &crate::config::Settings) -> Rules {
        Rules {
            widths,
            fractional: settings.fractional_stock,
            rows: settings.rows.clone(),
            meta: settings.source.columns().meta.clone(),
            images_base: settings.images_base(),
            image_sizes: settings.update_content.images,
        }
    }
}

/// The size of each picture file (0 for a URL or a file that is not there).
fn image_sizes(images: &[String]) -> Vec<u64> {
    images
        .iter()
        .map(|p| match crate::model::is_picture_url(p) {
            true => 0,
            false => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        })
        .collect()
}

/// Most pictures one product takes.
pub const MAX_IMAGES: usize = 100;

/// A cell's pictures: `|`-separated paths (relative ones from `base`) or http(s) URLs.
fn images(cell: &str, base: &std::path::Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in cell.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        if has_control(part) {
            return Err(format!("picture {:?} contains control characters (tab, newline, ...)", part.chars().take(60).collect::<String>()));
        }
        if crate::model::is_picture_url(part) {
            out.push(part.to_string());
        } else if let Some((scheme, _)) = part.split_once("://") {
            return Err(format!("picture {part:?}: {scheme}:// is not taken; expected a path or an http(s) URL"));
        } else {
            let path = std::path::Path::new(part);
            out.push(if path.is_absolute() { part.to_string() } else { base.join(path).to_string_lossy().into_owned() });
        }
    }
    if out.len() > MAX_IMAGES {
        return Err(format!("{} pictures; expected at most {MAX_IMAGES}", out.len()));
    }
    Ok(out)
}

/// A feed row once normalised.
#[derive(Debug)]
pub enum Row {
    Item(Item),
    Rejected(Rejection),
    /// Not a product: a footer, total or group row.
    Skipped(Skipped),
}

/// Words a spreadsheet report's totals row carries in its first columns (compared without case,
/// a trailing colon allowed).
pub const TOTAL_WORDS: [&str; 3] = ["итого", "всего", "total"];

/// One raw row as an item, a rejection or a skipped row.
pub fn normalize_row(r: &RawRecord, at: &dyn Locate, rules: &Rules) -> Row {
    if r.problem.is_none() {
        if let Some(skipped) = skip(r, at, &rules.rows) {
            return Row::Skipped(skipped);
        }
    }
    match normalize_record(r, at, rules) {
        Ok(item) => Row::Item(item),
        Err(rejection) => Row::Rejected(rejection),
    }
}

/// Whether a row is to be skipped: a `skip_rows` rule matches one of its cells (silently), or
/// its SKU cell — or, with no SKU, its name cell — is a totals word (with a warning).
fn skip(r: &RawRecord, at: &dyn Locate, rules: &RowRules) -> Option<Skipped> {
    for rule in &rules.skip {
        let cell = if rule.field == Field::Stock { r.stock_parts().nth(rule.part) } else { r.get(rule.field) };
        if rule.pattern.is_match(cell.unwrap_or("").trim()) {
            return Some(Skipped { line: r.line, sku: String::new(), location: String::new(), warning: None });
        }
    }
    if !rules.skip_totals {
        return None;
    }
    let is_total = |text: &str| {
        let t = text.trim().trim_end_matches(':').trim_end();
        // The words are at most 10 bytes: most SKUs are told apart without lowercasing them.
        t.len() <= 10 && TOTAL_WORDS.contains(&t.to_lowercase().as_str())
    };
    let sku = r.get(Field::Sku).unwrap_or("").trim();
    let (field, cell) = match (sku, r.get(Field::Name)) {
        ("", Some(name)) => (Field::Name, name.trim()),
        _ => (Field::Sku, sku),
    };
    if !is_total(cell) {
        return None;
    }
    let column = if field == Field::Sku { "SKU" } else { "name" };
    Some(Skipped {
        line: r.line,
        sku: sku.to_string(),
        location: at.locate(r, Some((field, 0))),
        warning: Some(format!(
            "`{cell}` in the {column} column: a totals row, not a product; skipped (skip_rows skips such rows without a warning)"
        )),
    })
}

/// One raw row as an item, or why it is rejected (the rules' skipping aside).
pub fn normalize_record(r: &RawRecord, at: &dyn Locate, rules: &Rules) -> Result<Item, Rejection> {
    let (widths, fractional, price_scale) = (&rules.widths, rules.fractional, rules.rows.price_scale);
    let sku = r.get(Field::Sku).unwrap_or("").trim().to_string();
    let reject = |place: Option<(Field, usize)>, message: String| Rejection {
        line: r.line,
        sku: sku.clone(),
        field: place.map(|(f, _)| f.name()).unwrap_or("row").to_string(),
        location: at.locate(r, place),
        message,
    };
    if let Some(problem) = &r.problem {
        return Err(reject(problem.field, problem.message.clone()));
    }
    let sku_at = Some((Field::Sku, 0));
    // A variation of a 1C good may have no SKU of its own: its `Ид` and its good name it.
    let unnamed_variation = r.parent_external.is_some() && r.get(Field::ParentSku).is_some_and(|p| !p.trim().is_empty());
    if sku.is_empty() && !unnamed_variation {
        return Err(reject(sku_at, "empty SKU; expected a non-empty product code".into()));
    }
    let row_bytes: usize = r.cells.iter().flatten().chain(&r.more_stock).map(String::len).sum();
    if row_bytes as u64 > widths.max_row_bytes() {
        return Err(reject(None, format!(
            "the row is {} bytes long; the database server takes at most {} bytes in one statement (max_allowed_packet), so at most {} for a row",
            thousands(row_bytes as u64), thousands(widths.packet), thousands(widths.max_row_bytes())
        )));
    }
    if let Some(why) = widths.sku.refuses(&sku).filter(|_| !sku.is_empty()) {
        return Err(reject(sku_at, format!("the SKU {why}; expected a shorter product code")));
    }
    if has_control(&sku) {
        return Err(reject(sku_at, "SKU contains control characters (tab, newline, ...)".into()));
    }
    let external_id = match r.get(Field::ExternalId).map(str::trim) {
        None | Some("") => None,
        Some(id) if (id.len() > MAX_EXTERNAL_ID_CHARS && id.chars().count() > MAX_EXTERNAL_ID_CHARS) || has_control(id) => {
            return Err(reject(
                Some((Field::ExternalId, 0)),
                format!("external ID `{}` is not usable; expected at most {MAX_EXTERNAL_ID_CHARS} characters without control characters", id.chars().take(40).collect::<String>()),
            ))
        }
        Some(id) => match widths.meta.refuses(id) {
            Some(why) => return Err(reject(Some((Field::ExternalId, 0)), format!("the external ID {why}"))),
            None => Some(id.to_string()),
        },
    };

    let mut notes: Vec<Note> = Vec::new();
    let name = r.get(Field::Name).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(why) = name.as_deref().and_then(|n| widths.title.refuses(n)) {
        return Err(reject(Some((Field::Name, 0)), format!("the name {why}; shorten it in the feed")));
    }

    let regular = match r.get(Field::RegularPrice).map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(fitting_price(text, price_scale, widths).map_err(|m| reject(Some((Field::RegularPrice, 0)), m))?),
    };
    let sale = match r.get(Field::SalePrice).map(str::trim) {
        None => Sale::Absent,
        Some("") => Sale::Clear,
        Some(text) => Sale::Set(fitting_price(text, price_scale, widths).map_err(|m| reject(Some((Field::SalePrice, 0)), m))?),
    };
    if let (Some(reg), Sale::Set(s)) = (&regular, &sale) {
        if s.value >= reg.value {
            return Err(reject(
                Some((Field::SalePrice, 0)),
                format!("sale price {s} is not below the regular price {reg}; expected a lower sale price or an empty cell"),
            ));
        }
    }
    // Several stock columns or warehouses are summed; an empty one counts as 0 when another is filled.
    let mut quantity: Option<Decimal> = None;
    for (part, text) in r.stock_parts().enumerate() {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let q = parse_quantity(text).map_err(|m| reject(Some((Field::Stock, part)), m))?;
        quantity = Some(quantity.unwrap_or_default().saturating_add(q));
    }
    let mut stock = match quantity {
        None => None,
        Some(q) => Some(whole_stock(q, fractional, &mut notes).map_err(|m| reject(Some((Field::Stock, 0)), m))?),
    };
    if let Some(q) = stock {
        if q.abs() > MAX_STOCK {
            return Err(reject(Some((Field::Stock, 0)), format!("the stock adds up to {q}; expected at most {MAX_STOCK}")));
        }
        if q < 0 {
            notes.push(Note { field: "_stock".into(), message: format!("negative stock {q} in the feed written as 0") });
            stock = Some(0);
        }
    }
    let mut content = content(r, &rules.rows.category_separator, &mut notes).map_err(|(field, m)| reject(Some((field, 0)), m))?;
    let attributes = attribute_values(&r.attributes).map_err(|(name, m)| Rejection {
        field: format!("attribute:{name}"),
        ..reject(None, m)
    })?;
    if let Some(attributes) = attributes {
        content.get_or_insert_with(Default::default).attributes = Some(attributes);
    }
    if let (Some(base), Some(cell)) = (&rules.images_base, r.get(Field::Images).map(str::trim).filter(|s| !s.is_empty())) {
        let images = images(cell, base).map_err(|m| reject(Some((Field::Images, 0)), m))?;
        if !images.is_empty() {
            let c = content.get_or_insert_with(Default::default);
            c.image_sizes = rules.image_sizes.then(|| image_sizes(&images));
            c.images = Some(images);
        }
    }
    let meta = meta_values(r, rules, &mut notes).map_err(|(key, m)| Rejection { field: key.to_string(), ..reject(None, m) })?;
    if !meta.is_empty() {
        content.get_or_insert_with(Default::default).meta = Some(meta);
    }
    Ok(Item {
        line: r.line,
        sku: sku.into(),
        name: name.map(Into::into),
        regular,
        sale,
        stock,
        external_id: external_id.map(Into::into),
        content,
        notes,
        missing: false,
    })
}

/// A row's `[source.meta]` values by kind, each with its entry's position: a text as given
/// (trimmed), a price normalised like the prices, a stock summed over its columns or warehouses
/// and made a whole number like the stock (negative written as 0). An entry whose cells are all
/// empty, or that the row lacks, is left out (left alone). A bad value rejects the row, naming
/// the meta key.
fn meta_values(r: &RawRecord, rules: &Rules, notes: &mut Vec<Note>) -> Result<Vec<(u16, String)>, (&'static str, String)> {
    let mut out = Vec::new();
    for (entry, m) in rules.meta.iter().enumerate() {
        let cells: Vec<&str> = r.meta.iter().filter(|(e, _)| *e == entry).map(|(_, c)| c.trim()).filter(|c| !c.is_empty()).collect();
        let Some(first) = cells.first() else { continue };
        let fail = |m2: String| (m.key, m2);
        let value = match m.kind {
            MetaKind::Text => {
                if has_control(first) {
                    return Err(fail(format!("{} `{}` contains control characters (tab, newline, ...)", m.key, first.escape_debug())));
                }
                if let Some(why) = rules.widths.meta.refuses(first) {
                    return Err(fail(format!("{} {why}", m.key)));
                }
                first.to_string()
            }
            MetaKind::Price => fitting_price(first, rules.rows.price_scale, &rules.widths).map_err(|e| fail(format!("{}: {e}", m.key)))?.text(),
            MetaKind::Stock => {
                let mut q = Decimal::ZERO;
                for c in &cells {
                    q = q.saturating_add(parse_quantity(c).map_err(|e| fail(format!("{}: {e}", m.key)))?);
                }
                let mut own = Vec::new();
                let whole = whole_stock(q, rules.fractional, &mut own).map_err(|e| fail(format!("{}: {e}", m.key)))?;
                notes.extend(own.into_iter().map(|n| Note { field: m.key.to_string(), ..n }));
                if whole.abs() > MAX_STOCK {
                    return Err(fail(format!("{} adds up to {whole}; expected at most {MAX_STOCK}", m.key)));
                }
                if whole < 0 {
                    notes.push(Note { field: m.key.to_string(), message: format!("negative stock {whole} for {} written as 0", m.key) });
                }
                whole.max(0).to_string()
            }
        };
        out.push((entry as u16, value));
    }
    Ok(out)
}

/// The longest GTIN: the lookup's `global_unique_id` is a VARCHAR(100).
pub const MAX_GTIN_CHARS: usize = 100;

/// The card's texts (as given; blank = not given) and GTIN (digits and `-` kept, as WooCommerce
/// keeps them; a value with no digit is left out with a warning).
fn content(r: &RawRecord, separator: &str, notes: &mut Vec<Note>) -> Result<Option<Box<Content>>, (Field, String)> {
    let text = |f: Field| r.get(f).filter(|s| !s.trim().is_empty()).map(str::to_string);
    let gtin = match r.get(Field::Gtin).map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(given) => {
            let kept: String = given.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
            if kept.len() > MAX_GTIN_CHARS {
                return Err((Field::Gtin, format!("the GTIN is {} characters long; WooCommerce's field holds at most {MAX_GTIN_CHARS}", kept.len())));
            }
            if kept.chars().any(|c| c.is_ascii_digit()) {
                Some(kept)
            } else {
                notes.push(Note {
                    field: "_global_unique_id".into(),
                    message: format!("GTIN `{}` has no digits (WooCommerce keeps digits and `-` only); left alone", given.chars().take(40).collect::<String>()),
                });
                None
            }
        }
    };
    let categories = match (&r.paths, r.get(Field::Category)) {
        (Some(paths), _) => checked_paths(paths.clone()),
        (None, Some(cell)) => category_paths(cell, separator),
        (None, None) => Ok(None),
    }
    .map_err(|m| (Field::Category, m))?;
    let parent_sku = r.get(Field::ParentSku).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(p) = &parent_sku {
        if has_control(p) {
            return Err((Field::ParentSku, "parent SKU contains control characters (tab, newline, ...)".into()));
        }
        if crate::model::sku_key(p) == crate::model::sku_key(r.get(Field::Sku).unwrap_or("")) {
            return Err((Field::ParentSku, format!("the parent SKU is the row's own SKU {p}; a variation needs its parent's SKU (leave it empty on the parent's own row)")));
        }
    }
    let parent_id = parent_sku.as_ref().and(r.parent_external.clone());
    let content = Content { description: text(Field::Description), short_description: text(Field::ShortDescription), gtin, categories, attributes: None, parent_sku, parent_id, meta: None, images: None, image_sizes: None };
    Ok((!content.is_empty()).then(|| Box::new(content)))
}

/// The longest attribute value: a term name as WordPress stores it (and the bound for a
/// local attribute's value too).
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 200;

/// A row's attribute cells as values: each cell split by `|`, values trimmed, blanks and repeats
/// (without case) dropped; a blank cell gives nothing (left alone). A value over 200 characters
/// as stored, or with control characters, rejects the row (the attribute's name and why).
pub fn attribute_values(cells: &[(String, String)]) -> Result<Option<Vec<AttributeValues>>, (String, String)> {
    let mut out: Vec<AttributeValues> = Vec::new();
    for (name, cell) in cells {
        let mut values: Vec<String> = Vec::new();
        for v in cell.split('|').map(str::trim).filter(|v| !v.is_empty()) {
            if has_control(v) {
                return Err((name.clone(), format!("value `{}` of attribute {name} contains control characters (tab, newline, ...)", v.escape_debug())));
            }
            let stored = crate::woo::terms::stored_name(v).chars().count();
            if stored > MAX_ATTRIBUTE_VALUE_CHARS {
                return Err((name.clone(), format!(
                    "value `{}…` of attribute {name} is {stored} characters as WordPress stores it; expected at most {MAX_ATTRIBUTE_VALUE_CHARS}",
                    v.chars().take(40).collect::<String>()
                )));
            }
            if crate::woo::terms::stored_name(v).is_empty() {
                return Err((name.clone(), format!("value `{v}` of attribute {name} has nothing left once WordPress cleans it (tags, %-codes)")));
            }
            let key = crate::woo::terms::name_key(v);
            if !values.iter().any(|k| crate::woo::terms::name_key(k) == key) {
                values.push(v.to_string());
            }
        }
        if !values.is_empty() {
            out.push(AttributeValues { name: name.clone(), values });
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// The deepest category path a row may give (WooCommerce has no limit; a deeper one is a
/// mistake in the feed, such as the wrong separator).
pub const MAX_CATEGORY_DEPTH: usize = 10;
/// `wp_terms.name` is a VARCHAR(200), holding the name as WordPress stores it (`&` as `&amp;`).
pub const MAX_TERM_NAME_CHARS: usize = 200;

/// A category cell: paths split by `|`, levels by `separator`, each level trimmed. A blank cell
/// gives none (the categories are left alone).
pub fn category_paths(cell: &str, separator: &str) -> Result<Option<Vec<CategoryPath>>, String> {
    if cell.trim().is_empty() {
        return Ok(None);
    }
    let mut paths = Vec::new();
    for text in cell.split('|') {
        let text = text.trim();
        let levels: Vec<&str> = text.split(separator).map(str::trim).collect();
        if let Some(at) = levels.iter().position(|l| l.is_empty()) {
            let which = if text.is_empty() { "an empty path (two `|` in a row, or one at an end)".to_string() } else { format!("an empty level {} in path `{text}`", at + 1) };
            return Err(format!("category {which}; expected names separated by `{separator}`, paths by `|`"));
        }
        paths.push(levels.into_iter().map(Segment::named).collect());
    }
    checked_paths(paths)
}

/// Paths held to WordPress's limits, repeats dropped.
fn checked_paths(paths: Vec<CategoryPath>) -> Result<Option<Vec<CategoryPath>>, String> {
    let mut kept: Vec<CategoryPath> = Vec::new();
    for path in paths {
        let text = crate::model::path_text(&path);
        if path.len() > MAX_CATEGORY_DEPTH {
            return Err(format!("category path `{text}` is {} levels deep; expected at most {MAX_CATEGORY_DEPTH} (is the separator right?)", path.len()));
        }
        for s in &path {
            if s.name.trim().is_empty() {
                return Err(format!("category path `{text}` has a level without a name"));
            }
            if has_control(&s.name) {
                return Err(format!("category `{}` contains control characters (tab, newline, ...)", s.name.escape_debug()));
            }
            let stored = crate::woo::terms::stored_name(&s.name).chars().count();
            if stored > MAX_TERM_NAME_CHARS {
                return Err(format!(
                    "category name `{}…` is {stored} characters as WordPress stores it; a term name holds at most {MAX_TERM_NAME_CHARS}",
                    s.name.chars().take(40).collect::<String>()
                ));
            }
            if crate::woo::terms::stored_name(&s.name).is_empty() {
                return Err(format!("category `{}` has nothing left once WordPress cleans it (tags, %-codes)", s.name));
            }
        }
        if !kept.contains(&path) {
            kept.push(path);
        }
    }
    Ok((!kept.is_empty()).then_some(kept))
}

/// Control characters (C0, DEL, C1), checked byte-wise for the common ASCII case.
fn has_control(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        s.chars().any(char::is_control)
    }
}

/// The largest stock woosync writes (WooCommerce stores it as text; this keeps typos like an
/// EAN pasted into the stock column out of the shop).
pub const MAX_STOCK: i64 = 1_000_000_000;

/// Parses a number written the way accounting exports write it; returns the canonical text
/// (`.` decimal separator, the decimals as given) and its value.
pub fn parse_number(input: &str) -> Result<(String, Decimal), String> {
    let compact: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\''))
        .collect();
    let (negative, digits) = match compact.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, compact.as_str()),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return Err(format!("`{input}` is not a number"));
    }
    let last_sep = digits.rfind(['.', ',']);
    let canonical = match last_sep {
        None => digits.to_string(),
        Some(pos) => {
            let sep = digits.as_bytes()[pos] as char;
            let count_same = digits.matches(sep).count();
            let other = if sep == '.' { ',' } else { '.' };
            if count_same > 1 && !digits.contains(other) {
                // "1.234.567" or "1,234,567": grouping only.
                digits.replace(sep, "")
            } else {
                let (int, frac) = digits.split_at(pos);
                let int: String = int.chars().filter(char::is_ascii_digit).collect();
                format!("{}.{}", if int.is_empty() { "0" } else { &int }, &frac[1..])
            }
        }
    };
    if canonical.ends_with('.') || canonical.matches('.').count() > 1 {
        return Err(format!("`{input}` is not a number"));
    }
    let canonical = if negative { format!("-{canonical}") } else { canonical };
    let value = Decimal::from_str(&canonical).map_err(|_| format!("`{input}` is not a number"))?;
    Ok((canonical, value))
}

/// A price that the shop's lookup table can hold.
/// A feed price as the shop stores it: parsed, divided by `price_divisor` (10^`scale`), held to
/// the lookup's price columns.
fn fitting_price(input: &str, scale: u32, widths: &Widths) -> Result<Money, String> {
    let price = in_units(parse_price(input)?, scale);
    match widths.refuses_price(&price.value) {
        Some(why) if scale > 0 => Err(format!("the price `{input}` (= {price} with price_divisor = {}) {why}", 10u64.pow(scale))),
        Some(why) => Err(format!("the price `{input}` {why}")),
        None => Ok(price),
    }
}

/// A price given in 10^-`scale` units (kopecks for 2) in the currency itself, exactly: the
/// decimal point moves, no arithmetic rounds. The result has at least `scale` decimals and no
/// trailing zeros beyond them (`619000` and `619000.0` kopecks are both `6190.00`).
pub fn in_units(price: Money, scale: u32) -> Money {
    if scale == 0 {
        return price;
    }
    let mut value = price.value;
    // parse_price keeps at most 30 characters, far from rust_decimal's 28-decimal limit plus 6.
    if value.set_scale(value.scale() + scale).is_err() {
        return price;
    }
    let mut value = value.normalize();
    if value.scale() < scale {
        value.rescale(scale);
    }
    Money { value }
}

pub fn parse_price(input: &str) -> Result<Money, String> {
    let expected = "expected a price like 1234.50, 1234,50 or 1 234,50";
    let (text, value) = parse_number(input).map_err(|m| format!("{m}; {expected}"))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!("`{input}` is negative; {expected}"));
    }
    if text.len() > 30 {
        return Err(format!("`{input}` is too long for a price; {expected}"));
    }
    Ok(Money { value })
}

/// A stock quantity as given (several columns are added up before it is made whole).
fn parse_quantity(input: &str) -> Result<Decimal, String> {
    let expected = "expected a number of items like 12, 12,000 or 2.5";
    let (_, value) = parse_number(input).map_err(|m| format!("{m}; {expected}"))?;
    if value.abs() > Decimal::from(MAX_STOCK) {
        return Err(format!("`{input}` is too large; {expected}"));
    }
    Ok(value)
}

/// A quantity as the whole number WooCommerce stores, by the `fractional_stock` policy; a
/// quantity with a fraction leaves a warning saying what was written.
fn whole_stock(q: Decimal, fractional: Fractional, notes: &mut Vec<Note>) -> Result<i64, String> {
    if q.fract().is_zero() {
        return Ok(q.trunc().try_into().unwrap_or(0));
    }
    let (whole, how) = match fractional {
        Fractional::Floor => (q.floor(), "floor"),
        Fractional::Round => (q.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero), "round"),
        Fractional::Reject => {
            return Err(format!("the stock {q} is not a whole number; expected whole items (or set [sync] fractional_stock = \"floor\" or \"round\")"))
        }
    };
    let whole: i64 = whole.try_into().unwrap_or(0);
    notes.push(Note {
        field: "_stock".into(),
        message: format!("stock {q} is not a whole number; {whole} written (fractional_stock = \"{how}\"; WooCommerce keeps whole items)"),
    });
    Ok(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Here;
    impl Locate for Here {
        fn locate(&self, r: &RawRecord, field: Option<(Field, usize)>) -> String {
            match field {
                Some((f, part)) => format!("here:{}:{}#{part}", r.line, f.name()),
                None => format!("here:{}", r.line),
            }
        }
    }

    fn rec(cells: [Option<&str>; 5]) -> RawRecord {
        let mut r = RawRecord { line: 7, ..Default::default() };
        for (i, c) in cells.into_iter().enumerate() {
            r.cells[i] = c.map(str::to_string);
        }
        r
    }

    fn rules(widths: &Widths, fractional: Fractional) -> Rules {
        Rules { widths: widths.clone(), fractional, rows: RowRules::default(), meta: Vec::new(), images_base: None, image_sizes: false }
    }

    #[test]
    fn pictures_are_paths_from_the_feeds_folder_or_urls() {
        let base = std::path::Path::new("/srv/erp");
        assert_eq!(
            super::images(" a.jpg | /abs/b.png||HTTPS://cdn.example/c.jpg?x=1 |sub/d.jpg", base).unwrap(),
            ["/srv/erp/a.jpg", "/abs/b.png", "HTTPS://cdn.example/c.jpg?x=1", "/srv/erp/sub/d.jpg"]
        );
        assert!(super::images("ftp://host/a.jpg", base).unwrap_err().contains("ftp:// is not taken"));
        assert!(super::images("a\tb.jpg", base).unwrap_err().contains("control characters"));
        let many = vec!["x.jpg"; super::MAX_IMAGES + 1].join("|");
        assert!(super::images(&many, base).unwrap_err().contains("at most"));
        // Without [wordpress] the field is not read at all.
        let mut r = rec([Some("A-1"), None, None, None, None]);
        r.cells[Field::Images as usize] = Some("a.jpg".into());
        assert_eq!(normalize(&r).unwrap().images(), &[] as &[String]);
        let with = Rules { images_base: Some(base.to_path_buf()), ..rules(&Widths::stock("wp_"), Fractional::Floor) };
        assert_eq!(normalize_record(&r, &Here, &with).unwrap().images(), ["/srv/erp/a.jpg"]);
    }

    fn normalize(r: &RawRecord) -> Result<Item, Rejection> {
        normalize_record(r, &Here, &rules(&Widths::stock("wp_"), Fractional::Floor))
    }

    #[test]
    fn values_are_held_to_the_shops_widths() {
        let name = "Ж".repeat(300);
        let r = rec([Some("A-1"), Some(name.as_str()), Some("10"), None, Some("3")]);
        assert!(normalize(&r).is_ok());
        // A server with a tiny packet: the row is refused as a whole, before any column.
        let tiny = Widths { packet: 2048, ..Widths::stock("wp_") };
        let e = normalize_record(&r, &Here, &rules(&tiny, Fractional::Floor)).unwrap_err();
        assert_eq!((e.field.as_str(), e.location.as_str()), ("row", "here:7"));
        assert!(e.message.contains("the row is 606 bytes long; the database server takes at most 2,048 bytes in one statement"), "{}", e.message);
        // A narrow title column: the name, by its cell.
        let narrow = Widths { title: crate::widths::Width::new("wp_posts.post_title", 255, 255, crate::widths::Charset::Full), ..Widths::stock("wp_") };
        let e = normalize_record(&r, &Here, &rules(&narrow, Fractional::Floor)).unwrap_err();
        assert_eq!((e.field.as_str(), e.location.as_str()), ("name", "here:7:name#0"));
        assert!(e.message.starts_with("the name is 600 bytes long; `wp_posts.post_title` holds at most 255 bytes"), "{}", e.message);
        let e = normalize(&rec([Some("A-1"), None, Some("1"), Some("10000000000000000"), None])).unwrap_err();
        assert_eq!(e.field, "sale_price");
    }

    #[test]
    fn prices_in_export_formats() {
        assert_eq!(parse_price("1234.5").unwrap().text(), "1234.5");
        assert_eq!(parse_price("1234,50").unwrap().text(), "1234.50");
        assert_eq!(parse_price("1 234,50").unwrap().text(), "1234.50");
        assert_eq!(parse_price("1\u{a0}234,50").unwrap().text(), "1234.50");
        assert_eq!(parse_price("1,234.50").unwrap().text(), "1234.50");
        assert_eq!(parse_price("1.234,50").unwrap().text(), "1234.50");
        assert_eq!(parse_price("20").unwrap().text(), "20");
        assert!(parse_price("12abc").is_err());
        assert!(parse_price("-5").is_err());
        assert!(parse_price("1e9").is_err());
        assert!(parse_price("NaN").is_err());
        assert!(parse_price("$5").is_err());
    }

    #[test]
    fn stock_whole_numbers_only() {
        let q = |s: &str| parse_quantity(s).map(|d| d.to_string());
        assert_eq!(q("12").unwrap(), "12");
        assert_eq!(q("12,000").unwrap(), "12.000");
        assert_eq!(q("1 200").unwrap(), "1200");
        assert_eq!(q("-3").unwrap(), "-3");
        assert_eq!(q("12,5").unwrap(), "12.5");
        assert!(q("many").is_err());
    }

    #[test]
    fn empty_cells_mean_leave_alone_except_sale() {
        let item = normalize(&rec([Some(" A-1 "), Some(""), Some(""), Some(""), Some("")])).unwrap();
        assert_eq!(item.sku, "A-1");
        assert_eq!(item.name, None);
        assert_eq!(item.regular, None);
        assert_eq!(item.sale, Sale::Clear);
        assert_eq!(item.stock, None);
        let item = normalize(&rec([Some("A"), None, None, None, None])).unwrap();
        assert_eq!(item.sale, Sale::Absent);
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let r = normalize(&rec([Some(""), None, Some("5"), None, None])).unwrap_err();
        assert_eq!((r.line, r.field.as_str(), r.location.as_str()), (7, "sku", "here:7:sku#0"));
        let r = normalize(&rec([Some("A"), None, Some("ten"), None, None])).unwrap_err();
        assert_eq!(r.field, "regular_price");
        assert!(r.message.contains("`ten`"));
        let r = normalize(&rec([Some("A"), None, Some("10"), Some("10"), None])).unwrap_err();
        assert_eq!(r.field, "sale_price");
        let r = normalize_record(&rec([Some("A"), None, None, None, Some("2.5")]), &Here, &rules(&Widths::stock("wp_"), Fractional::Reject)).unwrap_err();
        assert_eq!(r.field, "stock");
    }

    #[test]
    fn fractional_stock_is_made_whole_by_the_policy_with_a_warning() {
        let with = |q: &str, f: Fractional| normalize_record(&rec([Some("A"), None, None, None, Some(q)]), &Here, &rules(&Widths::stock("wp_"), f));
        let item = with("2.383", Fractional::Floor).unwrap();
        assert_eq!(item.stock, Some(2));
        assert_eq!(item.notes[0].message, "stock 2.383 is not a whole number; 2 written (fractional_stock = \"floor\"; WooCommerce keeps whole items)");
        assert_eq!(with("30,5", Fractional::Round).unwrap().stock, Some(31));
        assert_eq!(with("2.49", Fractional::Round).unwrap().stock, Some(2));
        assert!(with("12", Fractional::Reject).unwrap().notes.is_empty(), "a whole number is no news");
        assert!(with("0.5", Fractional::Reject).unwrap_err().message.contains("fractional_stock"));
    }

    #[test]
    fn negative_stock_becomes_zero_with_a_note() {
        let item = normalize(&rec([Some("A"), None, None, None, Some("-4")])).unwrap();
        assert_eq!(item.stock, Some(0));
        assert_eq!(item.notes.len(), 1);
    }

    #[test]
    fn warehouses_are_summed_empty_ones_count_as_zero() {
        let mut r = rec([Some("A"), None, None, None, Some("3")]);
        r.more_stock = vec!["".into(), "4".into()];
        assert_eq!(normalize(&r).unwrap().stock, Some(7));
        r.cells[Field::Stock as usize] = Some(" ".into());
        r.more_stock = vec!["".into(), "".into()];
        assert_eq!(normalize(&r).unwrap().stock, None, "all empty: leave the stock alone");
        r.more_stock = vec!["".into(), "x".into()];
        let bad = normalize(&r).unwrap_err();
        assert_eq!((bad.field.as_str(), bad.location.as_str()), ("stock", "here:7:stock#2"));
    }

    #[test]
    fn external_id_is_trimmed_and_a_row_problem_is_located() {
        let mut r = rec([Some("A"), None, None, None, None]);
        r.cells[Field::ExternalId as usize] = Some(" guid-1 ".into());
        assert_eq!(normalize(&r).unwrap().external_id.as_deref(), Some("guid-1"));
        r.reject(None, "expected 3 columns".into());
        let bad = normalize(&r).unwrap_err();
        assert_eq!((bad.field.as_str(), bad.location.as_str()), ("row", "here:7"));
    }

    #[test]
    fn prices_in_minor_units_move_the_decimal_point_exactly() {
        let units = |text: &str, scale: u32| in_units(parse_price(text).unwrap(), scale).text();
        assert_eq!(units("619000", 2), "6190.00");
        assert_eq!(units("619000.0", 2), "6190.00", "a JSON float's .0 is not a digit the ERP gave");
        assert_eq!(units("61905", 2), "619.05");
        assert_eq!(units("5", 2), "0.05");
        assert_eq!(units("0", 2), "0.00");
        assert_eq!(units("619000.5", 2), "6190.005", "a fraction of a kopeck is kept, not rounded");
        assert_eq!(units("12 990", 1), "1299.0");
        assert_eq!(units("9999999999999999.99", 2), "99999999999999.9999");
        assert_eq!(units("19.99", 0), "19.99");
        let mut kopecks = rules(&Widths::stock("wp_"), Fractional::Floor);
        kopecks.rows.price_scale = 2;
        let item = normalize_record(&rec([Some("A"), None, Some("619000"), Some("499900"), None]), &Here, &kopecks).unwrap();
        assert_eq!((item.regular.unwrap().text(), item.sale), ("6190.00".to_string(), Sale::Set(Money { value: Decimal::new(499900, 2) })));
        let e = normalize_record(&rec([Some("A"), None, Some("100000000000000000"), None, None]), &Here, &kopecks).unwrap_err();
        assert_eq!(e.message, "the price `100000000000000000` (= 1000000000000000.00 with price_divisor = 100) has 16 digits before the decimal point; `wp_wc_product_meta_lookup.max_price` (decimal(19,4)) holds at most 15");
    }

    fn skip_rule(field: Field, pattern: &str) -> crate::config::SkipRule {
        crate::config::SkipRule { column: field.name().into(), field, part: 0, pattern: regex::Regex::new(pattern).unwrap() }
    }

    #[test]
    fn totals_rows_are_skipped_with_a_warning_and_skip_rows_silently() {
        let base = rules(&Widths::stock("wp_"), Fractional::Floor);
        let row = |sku: &str, name: Option<&str>| normalize_row(&rec([Some(sku), name, None, None, Some("135")]), &Here, &base);
        for total in ["Итого", "ИТОГО:", " всего ", "Total", "TOTAL :"] {
            match row(total, None) {
                Row::Skipped(s) => {
                    assert_eq!((s.line, s.sku.as_str(), s.location.as_str()), (7, total.trim(), "here:7:sku#0"));
                    assert_eq!(s.warning.unwrap(), format!("`{}` in the SKU column: a totals row, not a product; skipped (skip_rows skips such rows without a warning)", total.trim()));
                }
                other => panic!("{total}: {other:?}"),
            }
        }
        match row("", Some("Итого")) {
            Row::Skipped(s) => assert_eq!(s.location, "here:7:name#0", "no SKU: the name cell says it"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(row("Итого-1", None), Row::Item(_)), "only the word itself");
        assert!(matches!(row("", Some("Ламинат")), Row::Rejected(_)), "an empty SKU is still an error");
        let off = Rules { rows: RowRules { skip_totals: false, ..RowRules::default() }, ..base.clone() };
        assert!(matches!(normalize_row(&rec([Some("Total"), None, None, None, None]), &Here, &off), Row::Item(_)));

        let groups = Rules { rows: RowRules { skip: vec![skip_rule(Field::Sku, "^$"), skip_rule(Field::Name, "(?i)^группа ")], ..RowRules::default() }, ..base };
        for (sku, name) in [("", Some("Ламинат")), ("G-1", Some("Группа Ламинат")), ("  ", None)] {
            match normalize_row(&rec([Some(sku), name, None, None, None]), &Here, &groups) {
                Row::Skipped(s) => assert_eq!(s.warning, None, "{sku:?} {name:?}: skipped silently"),
                other => panic!("{sku:?} {name:?}: {other:?}"),
            }
        }
        assert!(matches!(normalize_row(&rec([Some("L-1"), Some("Ламинат"), None, None, None]), &Here, &groups), Row::Item(_)));
        let mut r = rec([Some("L-1"), None, None, None, Some("1")]);
        r.reject(None, "expected 5 columns".into());
        assert!(matches!(normalize_row(&r, &Here, &groups), Row::Rejected(_)), "a malformed row is reported, not skipped");
    }

    #[test]
    fn attribute_cells_become_values() {
        let cells = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>();
        let got = attribute_values(&cells(&[("Размер", " 42 | 44 |42"), ("Цвет", "  "), ("Бренд", "A & B")])).unwrap().unwrap();
        assert_eq!(got, vec![AttributeValues { name: "Размер".into(), values: vec!["42".into(), "44".into()] }, AttributeValues { name: "Бренд".into(), values: vec!["A & B".into()] }]);
        assert_eq!(attribute_values(&cells(&[("Цвет", "")])).unwrap(), None, "blank: left alone");
        let long = "я".repeat(201);
        let (name, why) = attribute_values(&cells(&[("Состав", &long)])).unwrap_err();
        assert_eq!(name, "Состав");
        assert!(why.contains("is 201 characters as WordPress stores it; expected at most 200"), "{why}");
        assert!(attribute_values(&cells(&[("Цвет", "Бел\tый")])).unwrap_err().1.contains("control characters"));
        assert!(attribute_values(&cells(&[("Цвет", "<b></b>")])).unwrap_err().1.contains("nothing left"));
    }

    #[test]
    fn category_cells_become_paths() {
        let names = |p: Option<Vec<CategoryPath>>| p.unwrap().iter().map(|p| p.iter().map(|s| s.name.clone()).collect::<Vec<_>>()).collect::<Vec<_>>();
        assert_eq!(names(category_paths(" Одежда > Детская >  Боди ", " > ").unwrap()), vec![vec!["Одежда", "Детская", "Боди"]]);
        assert_eq!(names(category_paths("A/B|C|A/B", "/").unwrap()), vec![vec!["A", "B"], vec!["C"]], "repeats dropped");
        assert_eq!(category_paths("   ", " > ").unwrap(), None, "blank: left alone");
        assert!(category_paths("A >  > B", " > ").unwrap_err().contains("an empty level 2 in path `A >  > B`"));
        assert!(category_paths("A|", " > ").unwrap_err().contains("an empty path"));
        let deep = (0..11).map(|i| i.to_string()).collect::<Vec<_>>().join("/");
        assert!(category_paths(&deep, "/").unwrap_err().contains("11 levels deep"));
        assert!(category_paths(&"&".repeat(41), "/").unwrap_err().contains("205 characters as WordPress stores it"), "`&` counts as `&amp;`");
        assert!(category_paths("A\tB", "/").unwrap_err().contains("control characters"));
    }
}
