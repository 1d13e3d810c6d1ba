//! What one product or variation is as a feed offer: the card every feed shares (name, URL,
//! category, pictures, vendor, barcode, description, params) and what each feed takes on its
//! own terms (which products, the offer ID, the stock and the prices). Pure functions over what
//! [`super::read`] read.

use std::collections::HashMap;

use crate::config::{FeedFile, OfferId};
use crate::woo::permalink::{category_path, ProductLink};

use super::read::{picture_ids, Record, ShopFacts};
use super::text;

/// Why a published product or variation is no offer in any feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Skip {
    /// Hidden from the catalogue (`product_visibility:exclude-from-catalog`).
    Hidden,
    /// A variable product (its variations are the offers), a grouped or an external one.
    NotSold,
    /// A variation without a SKU of its own (its id would repeat its parent's).
    VariationWithoutSku,
}

/// Why one feed leaves a candidate out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Left {
    /// The feed's filters leave it out.
    Filtered,
    /// None of `offer_id`'s sources has a value.
    NoId,
    /// The price the feed uses is missing, unreadable or zero.
    NoPrice,
    /// Another offer of the feed already has this ID.
    DuplicateId,
}

impl Left {
    pub fn label(self) -> &'static str {
        match self {
            Left::Filtered => "filtered out",
            Left::NoId => "no offer id",
            Left::NoPrice => "no price",
            Left::DuplicateId => "duplicate offer id",
        }
    }
}

/// A simple product or a variation (with its variable parent) that may be an offer.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub record: &'a Record,
    pub parent: Option<&'a Record>,
}

impl<'a> Candidate<'a> {
    /// The record whose categories, tags and visibility count: a variation's parent.
    pub fn product(&self) -> &'a Record {
        self.parent.unwrap_or(self.record)
    }

    /// A meta value of the candidate, else (a variation) of its parent.
    fn inherited(&self, key: &str) -> Option<&'a str> {
        self.record.meta(key).or_else(|| self.parent.and_then(|p| p.meta(key)))
    }
}

/// The candidates of a family (a product and its published variations): the simple product
/// itself, or the variations of a variable one; what is no offer, with the reason.
pub fn candidates<'a>(product: &'a Record, variations: &'a [Record]) -> Vec<Result<Candidate<'a>, Skip>> {
    if product.has_term("product_visibility", "exclude-from-catalog") {
        return vec![Err(Skip::Hidden)];
    }
    match product.product_type() {
        "simple" => vec![Ok(Candidate { record: product, parent: None })],
        "variable" => variations
            .iter()
            .map(|v| match v.meta("_sku").map(str::trim).filter(|s| !s.is_empty()) {
                Some(_) => Ok(Candidate { record: v, parent: Some(product) }),
                None => Err(Skip::VariationWithoutSku),
            })
            .collect(),
        _ => vec![Err(Skip::NotSold)],
    }
}

/// What every feed shows of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Card {
    pub post_id: u64,
    /// A variation's parent ID (`group_id`).
    pub group: Option<u64>,
    /// As the shop shows it.
    pub name: String,
    pub url: String,
    pub category: Option<u64>,
    pub pictures: Vec<String>,
    pub vendor: Option<String>,
    pub barcode: Option<String>,
    /// HTML as stored.
    pub description: String,
    /// (name, value) as shown.
    pub params: Vec<(String, String)>,
}

/// Names of attributes and taxonomies that carry the vendor.
const VENDOR_NAMES: &[&str] = &["brand", "бренд", "vendor", "производитель", "manufacturer", "торговая марка", "марка"];

/// The card of a candidate. `files`: attachment ID → `_wp_attached_file`.
pub fn card(c: &Candidate<'_>, shop: &ShopFacts, files: &HashMap<u64, String>) -> Card {
    let product = c.product();
    let categories: Vec<u64> = product.terms("product_cat").map(|t| t.id).collect();
    let pairs: Vec<(u64, u64)> = categories.iter().map(|id| (*id, shop.tree.get(*id).map(|t| t.parent).unwrap_or(0))).collect();
    let path = category_path(&pairs, |id| shop.tree.get(id).map(|t| (t.parent, t.slug.as_str())));
    let product_url = shop.permalinks.product(&ProductLink { id: product.id, slug: &product.slug, published: true, date: &product.date, category_path: &path });
    let entries = product.meta("_product_attributes").and_then(crate::catalog::attributes::parse_product_attributes).unwrap_or_default();
    // The variation's own attribute values, in the order of its parent's variation attributes.
    let chosen: Vec<(&str, &str)> = match c.parent {
        None => Vec::new(),
        Some(_) => {
            let own: Vec<(&str, &str)> = c.record.meta.iter().filter_map(|(k, v)| k.strip_prefix("attribute_").map(|_| (&**k, v.as_str()))).collect();
            let mut ordered: Vec<(&str, &str)> = entries
                .iter()
                .filter(|e| e.is_variation)
                .filter_map(|e| own.iter().find(|(k, _)| k["attribute_".len()..] == e.key).copied())
                .collect();
            for pair in &own {
                if !ordered.contains(pair) {
                    ordered.push(*pair);
                }
            }
            ordered
        }
    };
    let term_name = |taxonomy: &str, slug: &str| -> String {
        product.terms(taxonomy).find(|t| t.slug == slug).map(|t| text::shown(&t.name)).unwrap_or_else(|| text::clean(slug).into_owned())
    };
    let label = |e: &crate::woo::attributes::Entry| -> String {
        match e.is_taxonomy {
            true => shop.labels.get(&e.name).map(|l| text::shown(l)).unwrap_or_else(|| text::shown(e.name.trim_start_matches("pa_"))),
            false => text::shown(&e.name),
        }
    };
    let mut params: Vec<(String, String)> = Vec::new();
    let mut values_shown: Vec<String> = Vec::new();
    for e in &entries {
        let value = match (c.parent.is_some() && e.is_variation, e.is_taxonomy) {
            (true, _) => {
                let Some((_, v)) = chosen.iter().find(|(k, _)| k["attribute_".len()..] == e.key) else { continue };
                if v.is_empty() {
                    continue;
                }
                let shown = if e.is_taxonomy { term_name(&e.name, v) } else { text::shown(v) };
                values_shown.push(shown.clone());
                shown
            }
            (false, true) => product.terms(&e.name).map(|t| text::shown(&t.name)).collect::<Vec<_>>().join(", "),
            (false, false) => e.value.split(" | ").map(|v| text::shown(v.trim())).filter(|v| !v.is_empty()).collect::<Vec<_>>().join(", "),
        };
        if !value.is_empty() && (e.is_visible || e.is_variation) {
            params.push((label(e), value));
        }
    }
    // Values of attributes the parent no longer lists still name the variation.
    for (k, v) in &chosen {
        let key = &k["attribute_".len()..];
        if !v.is_empty() && !entries.iter().any(|e| e.is_variation && e.key == key) {
            values_shown.push(if key.starts_with("pa_") { term_name(key, v) } else { text::shown(v) });
        }
    }
    let name = match c.parent {
        None => text::shown(&c.record.title),
        Some(p) if values_shown.is_empty() => text::shown(&p.title),
        Some(p) => format!("{} - {}", text::shown(&p.title), values_shown.join(", ")),
    };
    let url = match c.parent {
        None => product_url,
        Some(_) => shop.permalinks.variation(&product_url, &chosen),
    };
    let mut pictures: Vec<String> = Vec::new();
    let own = c.parent.map(|_| c.record.meta("_thumbnail_id").and_then(|v| v.trim().parse::<u64>().ok()).filter(|id| *id > 0));
    for id in own.flatten().into_iter().chain(picture_ids(product)) {
        if let Some(file) = files.get(&id).filter(|f| !f.is_empty()) {
            let url = if file.starts_with("https://") || file.starts_with("http://") { file.clone() } else { format!("{}/{}", shop.uploads_url, file.trim_start_matches('/')) };
            if !pictures.contains(&url) {
                pictures.push(url);
            }
        }
    }
    let vendor = product
        .terms("product_brand")
        .next()
        .map(|t| text::shown(&t.name))
        .or_else(|| params.iter().find(|(n, _)| VENDOR_NAMES.contains(&n.to_lowercase().as_str())).map(|(_, v)| v.clone()))
        .or_else(|| {
            product
                .terms
                .iter()
                .find(|t| t.taxonomy.strip_prefix("pa_").is_some_and(|s| matches!(s, "brand" | "brend" | "vendor" | "proizvoditel" | "manufacturer")))
                .map(|t| text::shown(&t.name))
        });
    let description = match c.parent {
        Some(p) => [c.record.meta("_variation_description").unwrap_or(""), &p.content, &p.excerpt].into_iter().find(|d| !d.trim().is_empty()).unwrap_or(""),
        None => [c.record.content.as_str(), &c.record.excerpt].into_iter().find(|d| !d.trim().is_empty()).unwrap_or(""),
    };
    Card {
        post_id: c.record.id,
        group: c.parent.map(|p| p.id),
        name,
        url,
        category: shop.tree.deepest(&categories),
        pictures,
        vendor,
        barcode: c.record.meta("_global_unique_id").map(str::trim).filter(|g| !g.is_empty()).map(str::to_string),
        description: description.trim().to_string(),
        params,
    }
}

/// A feed's filters, with the category slugs resolved to term IDs (and their descendants).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    categories: Option<Vec<u64>>,
    exclude_categories: Vec<u64>,
}

impl Selector {
    pub fn new(file: &FeedFile, shop: &ShopFacts) -> Selector {
        let f = &file.filter;
        Selector {
            categories: (!f.categories.is_empty()).then(|| shop.tree.with_descendants(&f.categories)),
            exclude_categories: shop.tree.with_descendants(&f.exclude_categories),
        }
    }

    /// Whether the feed's filters (all given ones) hold for the candidate.
    pub fn holds(&self, file: &FeedFile, c: &Candidate<'_>) -> bool {
        let f = &file.filter;
        let product = c.product();
        // A variation's own shipping class wins; else its parent's.
        let class = c.record.terms("product_shipping_class").next().or_else(|| product.terms("product_shipping_class").next()).map(|t| t.slug.as_str());
        if !f.shipping_class.is_empty() && !class.is_some_and(|s| f.shipping_class.iter().any(|w| w == s)) {
            return false;
        }
        if class.is_some_and(|s| f.exclude_shipping_class.iter().any(|w| w == s)) {
            return false;
        }
        let cats = || product.terms("product_cat").map(|t| t.id);
        if let Some(wanted) = &self.categories {
            if !cats().any(|id| wanted.binary_search(&id).is_ok()) {
                return false;
            }
        }
        if cats().any(|id| self.exclude_categories.binary_search(&id).is_ok()) {
            return false;
        }
        if !f.tags.is_empty() && !product.terms("product_tag").any(|t| f.tags.iter().any(|w| w == &t.slug)) {
            return false;
        }
        f.meta.iter().all(|(k, v)| c.inherited(k).is_some_and(|have| have.trim() == v.trim()))
    }
}

/// What one feed offers of a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub id: String,
    pub available: bool,
    pub stock: u64,
    pub price: String,
    pub oldprice: Option<String>,
    pub min_price: Option<String>,
    pub premium_price: Option<String>,
}

fn quantity(stored: Option<&str>) -> u64 {
    let v = stored.map(str::trim).and_then(|s| s.replace(',', ".").parse::<f64>().ok()).unwrap_or(0.0);
    if v.is_finite() && v > 0.0 {
        v.floor() as u64
    } else {
        0
    }
}

fn higher(old: Option<String>, price: &str) -> Option<String> {
    let (o, p) = (old?, price.parse::<rust_decimal::Decimal>().ok()?);
    (o.parse::<rust_decimal::Decimal>().ok()? > p).then_some(o)
}

/// The offer's ID, stock and prices in this feed.
pub fn terms(file: &FeedFile, c: &Candidate<'_>) -> Result<Terms, Left> {
    let r = c.record;
    let id = file
        .offer_id
        .iter()
        .find_map(|source| {
            let v = match source {
                OfferId::Sku => r.meta("_sku"),
                OfferId::Meta(k) => r.meta(k),
            };
            v.map(|v| text::clean(v.trim()).into_owned()).filter(|v| !v.is_empty())
        })
        .ok_or(Left::NoId)?;
    let (stock, available) = if file.stock == "_stock" {
        let managed = r.meta("_manage_stock") == Some("yes");
        let by_parent = !managed && c.parent.is_some_and(|p| p.meta("_manage_stock") == Some("yes"));
        if managed || by_parent {
            let q = quantity(if managed { r.meta("_stock") } else { c.parent.and_then(|p| p.meta("_stock")) });
            (q, q > 0)
        } else if r.meta("_stock_status").unwrap_or("instock") == "instock" {
            (u64::from(file.unmanaged_stock), true)
        } else {
            (0, false)
        }
    } else {
        let q = quantity(r.meta(&file.stock));
        (q, q > 0)
    };
    let price_of = |key: &str| r.meta(key).and_then(text::price);
    let (price, oldprice) = match &file.price {
        None => {
            let p = price_of("_price").ok_or(Left::NoPrice)?;
            let old = higher(price_of("_regular_price"), &p);
            (p, old)
        }
        Some(k) => {
            let p = price_of(k).ok_or(Left::NoPrice)?;
            let old = higher(file.oldprice.as_deref().and_then(price_of), &p);
            (p, old)
        }
    };
    if price.parse::<rust_decimal::Decimal>().map(|d| d.is_zero()).unwrap_or(true) {
        return Err(Left::NoPrice);
    }
    Ok(Terms {
        id,
        available,
        stock,
        price,
        oldprice,
        min_price: file.min_price.as_deref().and_then(price_of),
        premium_price: file.premium_price.as_deref().and_then(price_of),
    })
}

#[cfg(test)]
mod tests {
    use super::super::read::{Category, Term, Tree};
    use super::*;
    use crate::config::FeedFilter;
    use crate::woo::permalink::Permalinks;

    fn shop() -> ShopFacts {
        ShopFacts {
            blogname: "Бином".into(),
            home: "https://binom.shop".into(),
            currency: "RUB".into(),
            permalinks: Permalinks::new("https://binom.shop", "/%postname%/", Some("/shop/%product_cat%")),
            uploads_url: "https://binom.shop/wp-content/uploads".into(),
            time_zone: crate::catalog::shop::TimeZone::Fixed(chrono::FixedOffset::east_opt(3 * 3600).unwrap()),
            tree: Tree::new(vec![
                Category { id: 10, parent: 0, slug: "odezhda".into(), name: "Одежда &amp; обувь".into() },
                Category { id: 11, parent: 10, slug: "platya".into(), name: "Платья".into() },
            ]),
            labels: [("pa_color".to_string(), "Цвет".to_string())].into_iter().collect(),
        }
    }

    fn term(taxonomy: &str, id: u64, slug: &str, name: &str) -> std::sync::Arc<Term> {
        std::sync::Arc::new(Term { taxonomy: taxonomy.into(), id, slug: slug.into(), name: name.into() })
    }

    fn file() -> FeedFile {
        crate::feed::test_file(std::path::Path::new("/tmp/ym.xml"))
    }

    fn meta(pairs: &[(&str, &str)]) -> Vec<(std::sync::Arc<str>, String)> {
        pairs.iter().map(|(k, v)| (std::sync::Arc::from(*k), v.to_string())).collect()
    }

    fn dress() -> (Record, Vec<Record>) {
        let attrs = crate::woo::attributes::product_attributes(&[
            crate::woo::attributes::Entry { key: "pa_color".into(), name: "pa_color".into(), value: String::new(), is_variation: true, is_taxonomy: true, is_visible: true },
            crate::woo::attributes::Entry { key: "razmer".into(), name: "Размер".into(), value: "S | M".into(), is_variation: true, is_taxonomy: false, is_visible: true },
            crate::woo::attributes::Entry { key: "tkan".into(), name: "Ткань".into(), value: "Лён".into(), is_variation: false, is_taxonomy: false, is_visible: true },
        ]);
        let parent = Record {
            id: 100,
            title: "Платье &amp; пояс".into(),
            slug: "plate".into(),
            date: "2026-01-02 03:04:05".into(),
            content: "<p>Лёгкое</p>".into(),
            meta: meta(&[("_product_attributes", &attrs), ("_thumbnail_id", "7"), ("_product_image_gallery", "8,9")]),
            terms: vec![term("product_type", 1, "variable", "variable"), term("product_cat", 11, "platya", "Платья"), term("pa_color", 30, "krasnyj", "Красный"), term("product_brand", 40, "binom", "Бином")],
            ..Record::default()
        };
        let v = Record {
            id: 101,
            parent: 100,
            meta: meta(&[("_sku", "PL-R-S"), ("attribute_pa_color", "krasnyj"), ("attribute_razmer", "S"), ("_price", "990"), ("_regular_price", "1200"), ("_manage_stock", "no"), ("_stock_status", "instock"), ("_thumbnail_id", "9")]),
            ..Record::default()
        };
        let bare = Record { id: 102, parent: 100, meta: meta(&[("attribute_pa_color", "krasnyj")]), ..Record::default() };
        (parent, vec![v, bare])
    }

    #[test]
    fn a_variation_is_named_linked_and_pictured_from_its_parent() {
        let (parent, variations) = dress();
        let found = candidates(&parent, &variations);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].as_ref().unwrap_err(), &Skip::VariationWithoutSku);
        let c = *found[0].as_ref().unwrap();
        let files: HashMap<u64, String> = [(7, "2026/01/a.jpg"), (8, "2026/01/b.jpg"), (9, "2026/01/c.jpg")].into_iter().map(|(k, v)| (k, v.to_string())).collect();
        let card = card(&c, &shop(), &files);
        assert_eq!(card.name, "Платье & пояс - Красный, S");
        assert_eq!(card.url, "https://binom.shop/shop/odezhda/platya/plate/?attribute_pa_color=krasnyj&attribute_razmer=S");
        assert_eq!(card.category, Some(11));
        assert_eq!(card.group, Some(100));
        assert_eq!(card.pictures, ["https://binom.shop/wp-content/uploads/2026/01/c.jpg", "https://binom.shop/wp-content/uploads/2026/01/a.jpg", "https://binom.shop/wp-content/uploads/2026/01/b.jpg"]);
        assert_eq!(card.vendor.as_deref(), Some("Бином"));
        assert_eq!(card.params, [("Цвет".to_string(), "Красный".to_string()), ("Размер".into(), "S".into()), ("Ткань".into(), "Лён".into())]);
        assert_eq!(card.description, "<p>Лёгкое</p>");
        let t = terms(&file(), &c).unwrap();
        assert_eq!((t.id.as_str(), t.available, t.stock, t.price.as_str(), t.oldprice.as_deref()), ("PL-R-S", true, 1, "990", Some("1200")));
    }

    #[test]
    fn stock_and_prices_follow_the_feeds_keys() {
        let simple = Record {
            id: 5,
            meta: meta(&[("_sku", "A"), ("_price", "100"), ("_regular_price", "100"), ("_manage_stock", "yes"), ("_stock", "3.7"), ("_oz_stock", "-2"), ("_oz_price", "95,50"), ("_oz_old", "90"), ("_code", " 000123 ")]),
            ..Record::default()
        };
        let c = Candidate { record: &simple, parent: None };
        let t = terms(&file(), &c).unwrap();
        assert_eq!((t.stock, t.available, t.oldprice), (3, true, None));
        let mut f = file();
        f.stock = "_oz_stock".into();
        f.price = Some("_oz_price".into());
        f.oldprice = Some("_oz_old".into());
        f.offer_id = vec![OfferId::Meta("_code".into()), OfferId::Sku];
        let t = terms(&f, &c).unwrap();
        assert_eq!((t.id.as_str(), t.stock, t.available, t.price.as_str(), t.oldprice), ("000123", 0, false, "95.50", None));
        f.stock = "_missing".into();
        assert_eq!(terms(&f, &c).unwrap().stock, 0);
        f.price = Some("_missing".into());
        assert_eq!(terms(&f, &c), Err(Left::NoPrice));
        f.offer_id = vec![OfferId::Meta("_none".into())];
        assert_eq!(terms(&f, &c), Err(Left::NoId));
    }

    #[test]
    fn filters_hold_all_together() {
        let shop = shop();
        let p = Record {
            id: 1,
            meta: meta(&[("_ozon_export", "yes")]),
            terms: vec![term("product_cat", 11, "platya", "Платья"), term("product_shipping_class", 50, "kgt", "КГТ"), term("product_tag", 60, "sale", "Sale")],
            ..Record::default()
        };
        let c = Candidate { record: &p, parent: None };
        let with = |edit: &dyn Fn(&mut FeedFilter)| {
            let mut f = file();
            edit(&mut f.filter);
            Selector::new(&f, &shop).holds(&f, &c)
        };
        assert!(with(&|_| {}));
        assert!(with(&|f| f.categories = vec!["odezhda".into()]));
        assert!(!with(&|f| f.exclude_categories = vec!["odezhda".into()]));
        assert!(with(&|f| f.shipping_class = vec!["kgt".into()]));
        assert!(!with(&|f| f.exclude_shipping_class = vec!["kgt".into()]));
        assert!(!with(&|f| f.tags = vec!["new".into()]));
        assert!(with(&|f| f.meta = vec![("_ozon_export".into(), "yes".into())]));
        assert!(!with(&|f| {
            f.meta = vec![("_ozon_export".into(), "yes".into())];
            f.tags = vec!["new".into()];
        }));
        let hidden = Record { terms: vec![term("product_visibility", 70, "exclude-from-catalog", "exclude-from-catalog")], ..p.clone() };
        assert_eq!(candidates(&hidden, &[])[0].as_ref().unwrap_err(), &Skip::Hidden);
    }
}
