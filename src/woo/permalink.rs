//! Product and variation URLs exactly as WordPress 6.8 and WooCommerce 9.9 give them
//! (`get_permalink()`, `WC_Product_Variation::get_permalink()`), from the options that hold the
//! permalink settings: `home`, `permalink_structure` and `woocommerce_permalinks`' `product_base`
//! (CATALOGUE.md p, `observed/p_permalinks.md`), for the marketplace feeds. Pure functions.
//!
//! - A published product: `?product=<slug>` under plain permalinks, else the product permastruct
//!   (`product_base` + `/%product%`) with `%product_cat%` the path of the product's category
//!   (`wc_product_post_type_link()`: its categories sorted by parent descending then ID, the
//!   first one's ancestors' slugs and its own; `uncategorized` without any), trailing slash as
//!   the structure ends.
//! - Any other status: `?post_type=product&p=<ID>` (`wp_force_plain_post_permalink()`).
//! - A variation: its parent's URL with its attribute values added by `add_query_arg()`, keys and
//!   values `urlencode()`d first; a query the URL had is decoded and encoded again (so a plain
//!   parent's slug comes back in upper-case `%XX`).

/// The permalink settings of a shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permalinks {
    /// The `home` option without a trailing slash.
    home: String,
    /// The product permastruct without its leading slash (`product/%product%`), cut at its
    /// rewrite tags; `None` = plain.
    product: Option<Vec<Part>>,
    /// `permalink_structure` ends with `/` (`user_trailingslashit()`).
    trailing_slash: bool,
}

/// What a product's URL is made of.
#[derive(Debug, Clone, Copy)]
pub struct ProductLink<'a> {
    pub id: u64,
    /// `post_name` as stored (percent-encoded UTF-8).
    pub slug: &'a str,
    /// `post_status = 'publish'`.
    pub published: bool,
    /// `post_date` (`YYYY-MM-DD HH:MM:SS`), for `%year%` and the like in a product base.
    pub date: &'a str,
    /// The category path `%product_cat%` stands for (see [`category_path`]).
    pub category_path: &'a str,
}

impl Permalinks {
    /// From the options: `home`, `permalink_structure` (empty = plain) and the `product_base` of
    /// `woocommerce_permalinks` (empty or absent: WooCommerce's default `product`).
    pub fn new(home: &str, permalink_structure: &str, product_base: Option<&str>) -> Permalinks {
        let structure = permalink_structure.trim();
        let base = product_base.map(|b| b.trim().trim_matches('/')).filter(|b| !b.is_empty()).unwrap_or("product");
        Permalinks {
            home: home.trim().trim_end_matches('/').to_string(),
            product: (!structure.is_empty()).then(|| parts(&format!("{base}/%product%"))),
            trailing_slash: structure.ends_with('/'),
        }
    }

    /// `get_permalink()` of a product.
    pub fn product(&self, p: &ProductLink<'_>) -> String {
        match (&self.product, p.published && !p.slug.is_empty()) {
            (Some(structure), true) => {
                let (date, time) = p.date.split_once(' ').unwrap_or((p.date, ""));
                let mut d = date.splitn(3, '-');
                let mut t = time.splitn(3, ':');
                let (year, month, day) = (d.next().unwrap_or(""), d.next().unwrap_or(""), d.next().unwrap_or(""));
                let (hour, minute, second) = (t.next().unwrap_or(""), t.next().unwrap_or(""), t.next().unwrap_or(""));
                let mut url = String::with_capacity(self.home.len() + p.slug.len() + p.category_path.len() + 32);
                url.push_str(&self.home);
                url.push('/');
                let path_at = url.len();
                for part in structure {
                    match part {
                        Part::Text(t) => url.push_str(t),
                        Part::Tag(tag) => match tag {
                            Tag::Product => url.push_str(p.slug),
                            Tag::Year => url.push_str(year),
                            Tag::Month => url.push_str(month),
                            Tag::Day => url.push_str(day),
                            Tag::Hour => url.push_str(hour),
                            Tag::Minute => url.push_str(minute),
                            Tag::Second => url.push_str(second),
                            Tag::PostId => url.push_str(&p.id.to_string()),
                            Tag::Category => url.push_str(p.category_path),
                        },
                    }
                }
                while url.len() > path_at && url.ends_with('/') {
                    url.pop();
                }
                if self.trailing_slash {
                    url.push('/');
                }
                url
            }
            (None, true) => format!("{}/?product={}", self.home, p.slug),
            _ => format!("{}/?post_type=product&p={}", self.home, p.id),
        }
    }

    /// A variation's URL: its parent's (`parent_url`, from [`Permalinks::product`]) with its
    /// attribute values: (`attribute_*` key, value as stored), empty ("any") values left out.
    pub fn variation(&self, parent_url: &str, attributes: &[(&str, &str)]) -> String {
        let added: Vec<(String, String)> = attributes.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (urlencode(k), urlencode(v))).collect();
        add_query_arg(parent_url, &added)
    }
}

/// A piece of a permastruct: text, or a rewrite tag the product's value replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Tag(Tag),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Product,
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    PostId,
    Category,
}

/// A permastruct cut at its rewrite tags, once, so that each URL is made in one pass. WordPress
/// replaces the tags one after the other (`str_replace()`), but no value can hold a tag (a slug
/// is letters, digits, `-` and `%XX` octets; a date digits), so one pass gives the same text.
fn parts(structure: &str) -> Vec<Part> {
    let tag = |name: &str| match name {
        "product" => Some(Tag::Product),
        "year" => Some(Tag::Year),
        "monthnum" => Some(Tag::Month),
        "day" => Some(Tag::Day),
        "hour" => Some(Tag::Hour),
        "minute" => Some(Tag::Minute),
        "second" => Some(Tag::Second),
        "post_id" => Some(Tag::PostId),
        "category" | "product_cat" => Some(Tag::Category),
        _ => None,
    };
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = structure;
    while let Some(open) = rest.find('%') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('%').and_then(|close| tag(&after[..close]).map(|t| (t, close))) {
            Some((t, close)) => {
                if !text.is_empty() {
                    out.push(Part::Text(std::mem::take(&mut text)));
                }
                out.push(Part::Tag(t));
                rest = &after[close + 1..];
            }
            // Not a tag: the `%` is text, and the next one may open a tag.
            None => {
                text.push('%');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Part::Text(text));
    }
    out
}

/// `%product_cat%` of a product: of its categories (term ID, parent), sorted by parent descending
/// then by ID, the first one's slug after its ancestors' (`slug_of` gives a term's parent and
/// slug); `uncategorized` when it has none.
pub fn category_path<'a>(categories: &[(u64, u64)], slug_of: impl Fn(u64) -> Option<(u64, &'a str)>) -> String {
    let Some(&(first, _)) = categories.iter().min_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0))) else {
        return "uncategorized".into();
    };
    let mut parts: Vec<&str> = Vec::new();
    let mut at = Some(first);
    while let Some(term) = at {
        let Some((parent, slug)) = slug_of(term) else { break };
        parts.push(slug);
        // A loop in the data ends the walk (as `get_ancestors()` stops at a term seen before).
        at = (parent != 0 && parts.len() <= 64).then_some(parent);
    }
    parts.reverse();
    parts.join("/")
}

/// PHP's `urlencode()`: letters, digits and `-_.` kept, a space as `+`, every other byte `%XX`.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// PHP's `urldecode()`: `+` as a space, `%XX` as its byte (a malformed `%` kept).
fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// WordPress's `add_query_arg()` with already-encoded arguments: the URL's own query is decoded
/// (`wp_parse_str()`) and its values encoded again (`urlencode_deep()`), the arguments set (a key
/// already there keeps its place), and the query rebuilt without encoding (`build_query()`).
fn add_query_arg(url: &str, args: &[(String, String)]) -> String {
    if args.is_empty() {
        return url.to_string();
    }
    let (url, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, format!("#{f}")),
        None => (url, String::new()),
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (urldecode(k), urlencode(&urldecode(v)))
        })
        .collect();
    for (k, v) in args {
        match pairs.iter_mut().find(|(have, _)| have == k) {
            Some(pair) => pair.1 = v.clone(),
            None => pairs.push((k.clone(), v.clone())),
        }
    }
    let query = pairs.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect::<Vec<_>>().join("&");
    format!("{base}?{query}{fragment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "http://127.0.0.1:8089";
    const PLAIN: (&str, Option<&str>) = ("", Some("product"));
    const POSTNAME: (&str, Option<&str>) = ("/%postname%/", Some("product"));
    const SHOP_CAT: (&str, Option<&str>) = ("/%postname%/", Some("/shop/%product_cat%"));

    /// The category tree of the observed shop: Одежда (16) > Детская (17) > Боди (18), and Uncategorized (15).
    fn slug_of(term: u64) -> Option<(u64, &'static str)> {
        match term {
            15 => Some((0, "uncategorized")),
            16 => Some((0, "%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0")),
            17 => Some((16, "%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%b0%d1%8f")),
            18 => Some((17, "%d0%b1%d0%be%d0%b4%d0%b8")),
            _ => None,
        }
    }

    fn link(settings: (&str, Option<&str>), id: u64, slug: &str, published: bool, categories: &[(u64, u64)]) -> String {
        let path = category_path(categories, slug_of);
        Permalinks::new(HOME, settings.0, settings.1).product(&ProductLink { id, slug, published, date: "2026-12-01 10:00:00", category_path: &path })
    }

    #[test]
    fn a_permastruct_is_cut_at_its_tags_once() {
        use super::{parts, Part, Tag};
        assert_eq!(parts("product/%product%"), [Part::Text("product/".into()), Part::Tag(Tag::Product)]);
        // A `%` that opens no tag is text; the next one may open one.
        assert_eq!(
            parts("a%b%product%/%year%%monthnum%x%"),
            [Part::Text("a%b".into()), Part::Tag(Tag::Product), Part::Text("/".into()), Part::Tag(Tag::Year), Part::Tag(Tag::Month), Part::Text("x%".into())]
        );
        let with_date = Permalinks::new(HOME, "/%year%/%postname%/", Some("/%year%/%monthnum%/%day%/%hour%%minute%%second%-%post_id%/%product_cat%"));
        let path = "odezhda/%d0%b1%d0%be%d0%b4%d0%b8";
        assert_eq!(
            with_date.product(&ProductLink { id: 42, slug: "cap", published: true, date: "2026-12-01 10:05:07", category_path: path }),
            format!("{HOME}/2026/12/01/100507-42/{path}/cap/")
        );
    }

    const TSHIRT: &str = "%d1%84%d1%83%d1%82%d0%b1%d0%be%d0%bb%d0%ba%d0%b0";
    const BODY: &str = "%d0%b1%d0%be%d0%b4%d0%b8-%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%be%d0%b5";

    #[test]
    fn products_under_the_three_observed_settings() {
        // OBS-TSHIRT #10, published, in Боди.
        assert_eq!(link(PLAIN, 10, TSHIRT, true, &[(18, 17)]), format!("{HOME}/?product={TSHIRT}"));
        assert_eq!(link(POSTNAME, 10, TSHIRT, true, &[(18, 17)]), format!("{HOME}/product/{TSHIRT}/"));
        assert_eq!(
            link(SHOP_CAT, 10, TSHIRT, true, &[(18, 17)]),
            format!("{HOME}/shop/%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0/%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%b0%d1%8f/%d0%b1%d0%be%d0%b4%d0%b8/{TSHIRT}/")
        );
        // OBS-CAP #11 in Uncategorized; and a product in no category at all.
        assert_eq!(link(SHOP_CAT, 11, "%d0%ba%d0%b5%d0%bf%d0%ba%d0%b0", true, &[(15, 0)]), format!("{HOME}/shop/uncategorized/%d0%ba%d0%b5%d0%bf%d0%ba%d0%b0/"));
        assert_eq!(link(SHOP_CAT, 11, "cap", true, &[]), format!("{HOME}/shop/uncategorized/cap/"));
        // A draft, whatever the setting.
        for settings in [PLAIN, POSTNAME, SHOP_CAT] {
            assert_eq!(link(settings, 14, "", false, &[(18, 17)]), format!("{HOME}/?post_type=product&p=14"));
        }
    }

    #[test]
    fn the_deepest_category_names_the_path() {
        // Parent descending first: Боди (parent 17) before Одежда (root) and Uncategorized.
        assert_eq!(category_path(&[(15, 0), (16, 0), (18, 17)], slug_of), "%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0/%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%b0%d1%8f/%d0%b1%d0%be%d0%b4%d0%b8");
        // Equal parents: the lower ID.
        assert_eq!(category_path(&[(16, 0), (15, 0)], slug_of), "uncategorized");
    }

    #[test]
    fn variations_under_the_three_observed_settings() {
        let settings = |s: (&str, Option<&str>)| Permalinks::new(HOME, s.0, s.1);
        // BODY-VAR-42 #16, of the published parent #15 in Боди.
        let parent = |s| link(s, 15, BODY, true, &[(18, 17)]);
        assert_eq!(
            settings(PLAIN).variation(&parent(PLAIN), &[("attribute_pa_razmer", "42")]),
            format!("{HOME}/?product=%D0%B1%D0%BE%D0%B4%D0%B8-%D0%B4%D0%B5%D1%82%D1%81%D0%BA%D0%BE%D0%B5&attribute_pa_razmer=42")
        );
        assert_eq!(settings(POSTNAME).variation(&parent(POSTNAME), &[("attribute_pa_razmer", "42")]), format!("{HOME}/product/{BODY}/?attribute_pa_razmer=42"));
        assert_eq!(
            settings(SHOP_CAT).variation(&parent(SHOP_CAT), &[("attribute_pa_razmer", "42")]),
            format!("{HOME}/shop/%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0/%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%b0%d1%8f/%d0%b1%d0%be%d0%b4%d0%b8/{BODY}/?attribute_pa_razmer=42")
        );
        // BODY-COLOR-1 #20 of the draft parent #19, local Цвет = Белый: the key encoded twice.
        for s in [PLAIN, POSTNAME, SHOP_CAT] {
            assert_eq!(
                settings(s).variation(&link(s, 19, "", false, &[]), &[("attribute_%d1%86%d0%b2%d0%b5%d1%82", "Белый")]),
                format!("{HOME}/?post_type=product&p=19&attribute_%25d1%2586%25d0%25b2%25d0%25b5%25d1%2582=%D0%91%D0%B5%D0%BB%D1%8B%D0%B9")
            );
        }
        // "Any" values are left out; none at all: the parent's URL.
        assert_eq!(settings(POSTNAME).variation("http://h/product/x/", &[("attribute_pa_cvet", "")]), "http://h/product/x/");
    }

    #[test]
    fn php_url_encoding() {
        assert_eq!(urlencode("Белый цвет & 5%"), "%D0%91%D0%B5%D0%BB%D1%8B%D0%B9+%D1%86%D0%B2%D0%B5%D1%82+%26+5%25");
        assert_eq!(urlencode("a-b_c.d~"), "a-b_c.d%7E");
        assert_eq!(urldecode("%d0%b1+x%zz%"), "б x%zz%");
    }

    #[test]
    fn a_structure_without_a_trailing_slash_and_a_dated_base() {
        let p = Permalinks::new("https://shop.example/", "/%postname%", Some("/goods/%year%"));
        let url = p.product(&ProductLink { id: 7, slug: "kettle", published: true, date: "2025-03-09 08:00:00", category_path: "uncategorized" });
        assert_eq!(url, "https://shop.example/goods/2025/kettle");
        assert_eq!(Permalinks::new("https://shop.example", "/%postname%/", None).product(&ProductLink { id: 7, slug: "kettle", published: true, date: "", category_path: "" }), "https://shop.example/product/kettle/");
    }
}
