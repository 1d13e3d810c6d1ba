//! `[feeds]`, `[feeds.shop]` and `[[feeds.file]]`: the marketplace feeds woosync writes from the
//! shop's database. Every key is checked at load, and a key that does not apply to a file's
//! format is named. Plain data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::source::{parse_encoding, Encoding, OneOrMany};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FeedsSection {
    #[serde(default)]
    after_sync: bool,
    min_offers_percent: Option<f64>,
    encoding: Option<String>,
    #[serde(default)]
    shop: ShopSection,
    #[serde(default)]
    file: Vec<FileSection>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ShopSection {
    name: Option<String>,
    company: Option<String>,
    url: Option<String>,
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSection {
    name: String,
    format: String,
    path: PathBuf,
    shipping_class: Option<OneOrMany>,
    exclude_shipping_class: Option<OneOrMany>,
    categories: Option<OneOrMany>,
    exclude_categories: Option<OneOrMany>,
    tags: Option<OneOrMany>,
    meta: Option<BTreeMap<String, String>>,
    stock: Option<String>,
    unmanaged_stock: Option<u32>,
    price: Option<String>,
    oldprice: Option<String>,
    min_price: Option<String>,
    premium_price: Option<String>,
    shipment_days: Option<u32>,
    order_before: Option<u32>,
    offer_id: Option<OneOrMany>,
    warehouse: Option<String>,
    gzip: Option<bool>,
    encoding: Option<String>,
}

/// The marketplace a feed is for: each takes Yandex's YML with its own stock elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// Yandex Market: `count`.
    Yandex,
    /// Ozon: `outlets/outlet instock warehouse_name`, `min_price`, `premium_price`.
    Ozon,
    /// Megamarket: `outlets/outlet id instock`, `shipment-options`.
    Megamarket,
}

impl FeedFormat {
    pub fn name(self) -> &'static str {
        match self {
            FeedFormat::Yandex => "yandex",
            FeedFormat::Ozon => "ozon",
            FeedFormat::Megamarket => "megamarket",
        }
    }
}

/// Where an offer's `id` comes from, in order: the first non-empty one wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferId {
    Sku,
    Meta(String),
}

/// Which products a feed holds (all given filters must hold); slugs as the shop stores them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    pub shipping_class: Vec<String>,
    pub exclude_shipping_class: Vec<String>,
    /// With their descendants.
    pub categories: Vec<String>,
    pub exclude_categories: Vec<String>,
    pub tags: Vec<String>,
    /// A meta flag on the product (a variation: its parent's): key → value.
    pub meta: Vec<(String, String)>,
}

/// One `[[feeds.file]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedFile {
    pub name: String,
    pub format: FeedFormat,
    pub path: PathBuf,
    pub filter: FeedFilter,
    /// The meta key of the stock (`_stock` unless a marketplace's own is named).
    pub stock: String,
    /// The quantity an in-stock product without managed stock is offered with (`_stock` feeds).
    pub unmanaged_stock: u32,
    /// The meta key of the price; `None` = the active price (`_price`), `oldprice` the regular
    /// one when on sale.
    pub price: Option<String>,
    pub oldprice: Option<String>,
    pub min_price: Option<String>,
    pub premium_price: Option<String>,
    /// Megamarket `shipment-options`: days and the hour orders must come before.
    pub shipment: Option<(u32, u32)>,
    pub offer_id: Vec<OfferId>,
    /// Ozon: the outlet's `warehouse_name`; Megamarket: the outlet's `id`.
    pub warehouse: Option<String>,
    pub gzip: bool,
    /// Windows-1251: characters it cannot hold are replaced (and counted).
    pub encoding: Encoding,
}

/// The `<shop>` header; `None` = from the shop's options (`blogname`, `home`, the currency).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedShop {
    pub name: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
    pub currency: Option<String>,
}

/// `[feeds]` as settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Feeds {
    pub after_sync: bool,
    /// A feed with fewer live offers than this share of the previous one's is refused.
    pub min_offers_percent: f64,
    pub shop: FeedShop,
    pub files: Vec<FeedFile>,
}

/// A meta key as config names one: letters, digits, `_` and `-`.
fn meta_key(key: &str, at: &str) -> Result<String> {
    let k = key.trim();
    if !super::is_meta_key(k) {
        return Err(Error::Config(format!("{at} = {key:?}: expected a post meta key of letters, digits, `_` and `-`")));
    }
    Ok(k.to_string())
}

fn slugs(v: Option<OneOrMany>, at: &str) -> Result<Vec<String>> {
    let list = v.map(|v| v.names()).unwrap_or_default();
    match list.iter().find(|s| s.trim().is_empty()) {
        Some(_) => Err(Error::Config(format!("{at}: an empty slug; expected slugs such as \"kgt\""))),
        None => Ok(list.into_iter().map(|s| s.trim().to_string()).collect()),
    }
}

impl FeedsSection {
    pub(super) fn settle(self, base: &Path) -> Result<Option<Feeds>> {
        if self.file.is_empty() {
            if self.after_sync {
                return Err(Error::Config("[feeds] after_sync = true but no [[feeds.file]] is configured".into()));
            }
            return Ok(None);
        }
        let min_offers_percent = self.min_offers_percent.unwrap_or(50.0);
        if !(0.0..=100.0).contains(&min_offers_percent) {
            return Err(Error::Config(format!("[feeds] min_offers_percent = {min_offers_percent}: expected 0 to 100")));
        }
        let default_encoding = parse_encoding(self.encoding.as_deref(), "[feeds] encoding")?.unwrap_or(Encoding::Utf8);
        let s = self.shop;
        let text = |v: Option<String>, key: &str| -> Result<Option<String>> {
            match v {
                Some(t) if t.trim().is_empty() => Err(Error::Config(format!("[feeds.shop] {key} = \"\": leave it out to take the shop's own"))),
                other => Ok(other.map(|t| t.trim().to_string())),
            }
        };
        let url = text(s.url, "url")?;
        if let Some(u) = &url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(Error::Config(format!("[feeds.shop] url = {u:?}: expected the shop's address, https://…")));
            }
        }
        let currency = text(s.currency, "currency")?;
        if let Some(c) = &currency {
            if !matches!(c.as_str(), "RUR" | "RUB" | "BYN" | "KZT" | "UAH" | "USD" | "EUR") {
                return Err(Error::Config(format!("[feeds.shop] currency = {c:?}: expected a currency the marketplaces take: RUR, RUB, BYN, KZT, UAH, USD or EUR")));
            }
        }
        let shop = FeedShop { name: text(s.name, "name")?, company: text(s.company, "company")?, url, currency };
        let mut files: Vec<FeedFile> = Vec::new();
        for f in self.file {
            let at = format!("[[feeds.file]] {:?}", f.name);
            if f.name.is_empty() || !f.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(Error::Config(format!("{at}: expected a name of letters, digits, `_` and `-` (woosync feed --name uses it)")));
            }
            if files.iter().any(|g| g.name == f.name) {
                return Err(Error::Config(format!("{at}: two feeds have this name")));
            }
            let format = match f.format.to_ascii_lowercase().as_str() {
                "yandex" => FeedFormat::Yandex,
                "ozon" => FeedFormat::Ozon,
                "megamarket" => FeedFormat::Megamarket,
                other => return Err(Error::Config(format!("{at}: format = {other:?}; expected \"yandex\", \"ozon\" or \"megamarket\""))),
            };
            let only = |present: bool, key: &str, formats: &[FeedFormat]| -> Result<()> {
                match present && !formats.contains(&format) {
                    true => Err(Error::Config(format!(
                        "{at}: {key} applies to format = {} only, not {:?}",
                        formats.iter().map(|f| format!("{:?}", f.name())).collect::<Vec<_>>().join(" or "),
                        format.name()
                    ))),
                    false => Ok(()),
                }
            };
            only(f.min_price.is_some(), "min_price", &[FeedFormat::Ozon])?;
            only(f.premium_price.is_some(), "premium_price", &[FeedFormat::Ozon])?;
            only(f.shipment_days.is_some(), "shipment_days", &[FeedFormat::Megamarket])?;
            only(f.order_before.is_some(), "order_before", &[FeedFormat::Megamarket])?;
            only(f.warehouse.is_some(), "warehouse", &[FeedFormat::Ozon, FeedFormat::Megamarket])?;
            let warehouse = f.warehouse.map(|w| w.trim().to_string()).filter(|w| !w.is_empty());
            if format != FeedFormat::Yandex && warehouse.is_none() {
                let what = if format == FeedFormat::Ozon { "the outlet's warehouse_name (the warehouse's name in Ozon's seller account)" } else { "the outlet's id (the warehouse's ID in Megamarket's seller account)" };
                return Err(Error::Config(format!("{at}: warehouse is required for format = {:?}: {what}", format.name())));
            }
            let price = f.price.as_deref().map(|k| meta_key(k, &format!("{at} price"))).transpose()?;
            if price.is_none() {
                for (key, v) in [("oldprice", &f.oldprice), ("min_price", &f.min_price), ("premium_price", &f.premium_price)] {
                    if v.is_some() {
                        return Err(Error::Config(format!("{at}: {key} needs a mapped price (without one, oldprice is the regular price when the product is on sale)")));
                    }
                }
            }
            let order_before = f.order_before.unwrap_or(14);
            if order_before > 24 {
                return Err(Error::Config(format!("{at}: order_before = {order_before}: expected an hour from 0 to 24")));
            }
            if f.order_before.is_some() && f.shipment_days.is_none() {
                return Err(Error::Config(format!("{at}: order_before goes with shipment_days")));
            }
            let offer_id = match f.offer_id {
                None => vec![OfferId::Sku],
                Some(v) => {
                    let names = v.names();
                    if names.is_empty() {
                        return Err(Error::Config(format!("{at}: offer_id = []: expected \"sku\" and/or meta keys, the first non-empty one wins")));
                    }
                    names.iter().map(|n| if n == "sku" { Ok(OfferId::Sku) } else { meta_key(n, &format!("{at} offer_id")).map(OfferId::Meta) }).collect::<Result<_>>()?
                }
            };
            let meta = f
                .meta
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| meta_key(&k, &format!("{at} meta")).map(|k| (k, v)))
                .collect::<Result<Vec<_>>>()?;
            let filter = FeedFilter {
                shipping_class: slugs(f.shipping_class, &format!("{at} shipping_class"))?,
                exclude_shipping_class: slugs(f.exclude_shipping_class, &format!("{at} exclude_shipping_class"))?,
                categories: slugs(f.categories, &format!("{at} categories"))?,
                exclude_categories: slugs(f.exclude_categories, &format!("{at} exclude_categories"))?,
                tags: slugs(f.tags, &format!("{at} tags"))?,
                meta,
            };
            if f.path.as_os_str().is_empty() || f.path.to_string_lossy().ends_with('/') {
                return Err(Error::Config(format!("{at}: path = {:?}: expected the feed file's path", f.path)));
            }
            let path = if f.path.is_absolute() { f.path } else { base.join(f.path) };
            if files.iter().any(|g| g.path == path) {
                return Err(Error::Config(format!("{at}: path {} is another feed's too", path.display())));
            }
            files.push(FeedFile {
                name: f.name,
                format,
                path,
                filter,
                stock: meta_key(f.stock.as_deref().unwrap_or("_stock"), &format!("{at} stock"))?,
                unmanaged_stock: f.unmanaged_stock.unwrap_or(1),
                price,
                oldprice: f.oldprice.as_deref().map(|k| meta_key(k, &format!("{at} oldprice"))).transpose()?,
                min_price: f.min_price.as_deref().map(|k| meta_key(k, &format!("{at} min_price"))).transpose()?,
                premium_price: f.premium_price.as_deref().map(|k| meta_key(k, &format!("{at} premium_price"))).transpose()?,
                shipment: f.shipment_days.map(|d| (d, order_before)),
                offer_id,
                warehouse,
                gzip: f.gzip.unwrap_or(false),
                encoding: parse_encoding(f.encoding.as_deref(), &format!("{at} encoding"))?.unwrap_or(default_encoding),
            });
        }
        Ok(Some(Feeds { after_sync: self.after_sync, min_offers_percent, shop, files }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(text: &str) -> Result<Option<Feeds>> {
        #[derive(Deserialize)]
        struct Wrap {
            feeds: FeedsSection,
        }
        let w: Wrap = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        w.feeds.settle(Path::new("/etc/woosync"))
    }

    const OZON_KGT: &str = "[feeds]\nafter_sync = true\nmin_offers_percent = 50\n\
        [feeds.shop]\nname = \"Бином\"\ncompany = \"ООО Бином\"\nurl = \"https://binom.shop\"\ncurrency = \"RUR\"\n\
        [[feeds.file]]\nname = \"ozon-kgt\"\nformat = \"ozon\"\npath = \"feeds/ozon-kgt.xml\"\nshipping_class = [\"kgt\"]\n\
        stock = \"_woosync_stock_ozon\"\nprice = \"_woosync_price_ozon\"\noldprice = \"_woosync_oldprice_ozon\"\n\
        offer_id = [\"_woosync_yandex_code\", \"sku\"]\nwarehouse = \"Склад КГТ\"\ngzip = false\n";

    #[test]
    fn the_issue_example_loads() {
        let feeds = settle(OZON_KGT).unwrap().unwrap();
        assert!(feeds.after_sync);
        assert_eq!(feeds.shop.company.as_deref(), Some("ООО Бином"));
        let f = &feeds.files[0];
        assert_eq!((f.format, f.path.as_path()), (FeedFormat::Ozon, Path::new("/etc/woosync/feeds/ozon-kgt.xml")));
        assert_eq!(f.filter.shipping_class, ["kgt"]);
        assert_eq!(f.offer_id, [OfferId::Meta("_woosync_yandex_code".into()), OfferId::Sku]);
        assert_eq!((f.stock.as_str(), f.price.as_deref(), f.warehouse.as_deref()), ("_woosync_stock_ozon", Some("_woosync_price_ozon"), Some("Склад КГТ")));
        assert_eq!(f.encoding, Encoding::Utf8);
    }

    #[test]
    fn defaults_and_no_feeds() {
        assert_eq!(settle("[feeds]\n").unwrap(), None);
        let f = settle("[feeds]\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"/var/www/ym.xml\"\n").unwrap().unwrap();
        assert_eq!(f.min_offers_percent, 50.0);
        let f = &f.files[0];
        assert_eq!((f.stock.as_str(), f.price.as_ref(), f.offer_id.as_slice(), f.gzip), ("_stock", None, &[OfferId::Sku][..], false));
        let m = settle("[feeds]\n[[feeds.file]]\nname = \"mm\"\nformat = \"megamarket\"\npath = \"mm.xml\"\nwarehouse = \"1234\"\nshipment_days = 1\n").unwrap().unwrap();
        assert_eq!(m.files[0].shipment, Some((1, 14)));
    }

    #[test]
    fn bad_keys_are_named() {
        let file = |extra: &str, format: &str| format!("[feeds]\n[[feeds.file]]\nname = \"f\"\nformat = \"{format}\"\npath = \"f.xml\"\n{extra}");
        for (text, expected) in [
            (file("shipment_days = 1\n", "ozon"), "shipment_days applies to format = \"megamarket\" only, not \"ozon\""),
            (file("warehouse = \"W\"\nmin_price = \"_m\"\n", "ozon"), "min_price needs a mapped price"),
            (file("", "ozon"), "warehouse is required for format = \"ozon\""),
            (file("premium_price = \"_p\"\n", "yandex"), "premium_price applies to format = \"ozon\" only"),
            (file("", "avito"), "format = \"avito\"; expected \"yandex\", \"ozon\" or \"megamarket\""),
            (file("offer_id = [\"my code\"]\n", "yandex"), "offer_id = \"my code\": expected a post meta key"),
            (file("encoding = \"koi8-r\"\n", "yandex"), "encoding = \"koi8-r\": expected \"utf-8\" or \"windows-1251\""),
            (file("shipping_class = [\"\"]\n", "yandex"), "shipping_class: an empty slug"),
            ("[feeds]\nafter_sync = true\n".to_string(), "no [[feeds.file]] is configured"),
            (format!("{}[[feeds.file]]\nname = \"f\"\nformat = \"yandex\"\npath = \"g.xml\"\n", file("", "yandex")), "two feeds have this name"),
            ("[feeds.shop]\ncurrency = \"рубли\"\n[[feeds.file]]\nname = \"f\"\nformat = \"yandex\"\npath = \"f.xml\"\n".replace("[feeds.shop]", "[feeds]\n[feeds.shop]"), "expected a currency the marketplaces take"),
        ] {
            let err = settle(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}\n→ {err}");
        }
    }
}
