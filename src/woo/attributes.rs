//! WooCommerce's product attributes, as pure functions: the slug `wc_create_attribute()` gives a
//! global attribute (`wc_sanitize_taxonomy_name()`: `Размер` → `размер`, taxonomy `pa_размер`)
//! and the slugs it refuses (28 bytes or more, WordPress's reserved query words); the key of a
//! local attribute (`sanitize_title()`); and the `_product_attributes` meta value as
//! `WC_Product_Data_Store_CPT::update_attributes()` serializes it (CATALOGUE.md g2, g3).

use serde::ser::{SerializeMap, Serializer};

use super::slug::sanitize_title;

/// `wc_sanitize_taxonomy_name()`: `urldecode(sanitize_title(urldecode($name)))`.
pub fn taxonomy_slug(name: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(&name.replace('+', " ")).decode_utf8_lossy().into_owned();
    percent_encoding::percent_decode_str(&sanitize_title(&decoded)).decode_utf8_lossy().into_owned()
}

/// The slug of a global attribute as `wc_create_attribute()` takes it: `[sync] attribute_slugs`
/// when given (with a leading `pa_` dropped), else from the name.
pub fn attribute_slug(name: &str, configured: Option<&str>) -> String {
    match configured {
        Some(slug) => {
            let s = taxonomy_slug(slug);
            s.strip_prefix("pa_").map(str::to_string).unwrap_or(s)
        }
        None => taxonomy_slug(name),
    }
}

/// Why `wc_create_attribute()` would refuse a slug, if it would.
pub fn slug_refused(slug: &str) -> Option<String> {
    if slug.is_empty() {
        return Some("its slug would be empty; name one with [sync] attribute_slugs".into());
    }
    if slug.len() >= 28 {
        return Some(format!(
            "its slug `{slug}` is {} bytes; WooCommerce takes at most 27 (it refuses 28 or more); name a shorter one with [sync] attribute_slugs",
            slug.len()
        ));
    }
    if RESERVED.contains(&slug) {
        return Some(format!("its slug `{slug}` is a word WordPress reserves for its queries; name another with [sync] attribute_slugs"));
    }
    None
}

/// `wc_check_if_attribute_name_is_reserved()`.
const RESERVED: [&str; 72] = [
    "attachment", "attachment_id", "author", "author_name", "calendar", "cat", "category", "category__and", "category__in",
    "category__not_in", "category_name", "comments_per_page", "comments_popup", "cpage", "day", "debug", "error", "exact", "feed",
    "hour", "link_category", "m", "minute", "monthnum", "more", "name", "nav_menu", "nopaging", "offset", "order", "orderby", "p",
    "page", "page_id", "paged", "pagename", "pb", "perm", "post", "post__in", "post__not_in", "post_format", "post_mime_type",
    "post_status", "post_tag", "post_type", "posts", "posts_per_archive_page", "posts_per_page", "preview", "robots", "s", "search",
    "second", "sentence", "showposts", "static", "subpost", "subpost_id", "tag", "tag__and", "tag__in", "tag__not_in", "tag_id",
    "tag_slug__and", "tag_slug__in", "taxonomy", "tb", "term", "type", "w", "withcomments",
];

/// The key of an attribute in `_product_attributes` (and, after `attribute_`, of a variation's
/// meta): `sanitize_title()` of a local attribute's name or of a global one's taxonomy, as
/// `WC_Product::set_attributes()` keys them (`pa_размер` → `pa_%d1%80…`).
pub fn attribute_key(name: &str) -> String {
    sanitize_title(name)
}

/// One entry of `_product_attributes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// [`attribute_key`] of the taxonomy or of the local attribute's name.
    pub key: String,
    /// The taxonomy, or the local attribute's name as given.
    pub name: String,
    /// A local attribute's options joined by ` | `; empty for a taxonomy.
    pub value: String,
    pub is_variation: bool,
    pub is_taxonomy: bool,
    /// Shown on the product page (woosync makes every attribute it writes visible).
    pub is_visible: bool,
}

/// `_product_attributes` as WooCommerce serializes it: entries by key, positions in order.
pub fn product_attributes(entries: &[Entry]) -> String {
    struct Attrs<'a>(&'a [Entry]);
    struct One<'a>(&'a Entry, usize);
    impl serde::Serialize for Attrs<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (i, e) in self.0.iter().enumerate() {
                map.serialize_entry(&e.key, &One(e, i))?;
            }
            map.end()
        }
    }
    impl serde::Serialize for One<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let e = self.0;
            let mut map = s.serialize_map(Some(6))?;
            map.serialize_entry("name", &e.name)?;
            map.serialize_entry("value", &e.value)?;
            map.serialize_entry("position", &(self.1 as i64))?;
            map.serialize_entry("is_visible", &i64::from(e.is_visible))?;
            map.serialize_entry("is_variation", &i64::from(e.is_variation))?;
            map.serialize_entry("is_taxonomy", &i64::from(e.is_taxonomy))?;
            map.end()
        }
    }
    String::from_utf8(php_serde::to_vec(&Attrs(entries)).unwrap_or_default()).unwrap_or_default()
}

/// The options of a local attribute as `wc_implode_text_attributes()` joins them.
pub fn implode(values: &[String]) -> String {
    values.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_woocommerces() {
        // CATALOGUE.md g0.
        assert_eq!(taxonomy_slug("Размер"), "размер");
        assert_eq!(taxonomy_slug("Боди детское - 42"), "боди-детское-42");
        assert_eq!(taxonomy_slug("Size XL / 3"), "size-xl-3");
        assert_eq!(attribute_slug("Размер", Some("razmer")), "razmer");
        assert_eq!(attribute_slug("Размер", Some("pa_Razmer")), "razmer");
        assert_eq!(attribute_key("Цвет"), "%d1%86%d0%b2%d0%b5%d1%82");
        let long = slug_refused(&taxonomy_slug("Материал изделия")).unwrap();
        assert!(long.contains("`материал-изделия` is 31 bytes"), "{long}");
        assert!(slug_refused("razmer").is_none());
        assert!(slug_refused(&"a".repeat(27)).is_none());
        assert!(slug_refused(&"a".repeat(28)).is_some());
        assert!(slug_refused("type").unwrap().contains("reserves"));
    }

    #[test]
    fn product_attributes_serialize_as_observed() {
        // CATALOGUE.md g2 and g3, byte for byte.
        let global = Entry { key: "pa_razmer".into(), name: "pa_razmer".into(), value: String::new(), is_variation: true, is_taxonomy: true, is_visible: true };
        assert_eq!(
            product_attributes(&[global]),
            r#"a:1:{s:9:"pa_razmer";a:6:{s:4:"name";s:9:"pa_razmer";s:5:"value";s:0:"";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:1;s:11:"is_taxonomy";i:1;}}"#
        );
        let values = ["Белый".to_string(), "Розовый".into(), "Голубой".into()];
        let local = Entry { key: attribute_key("Цвет"), name: "Цвет".into(), value: implode(&values), is_variation: true, is_taxonomy: false, is_visible: true };
        assert_eq!(
            product_attributes(&[local]),
            r#"a:1:{s:24:"%d1%86%d0%b2%d0%b5%d1%82";a:6:{s:4:"name";s:8:"Цвет";s:5:"value";s:44:"Белый | Розовый | Голубой";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:1;s:11:"is_taxonomy";i:0;}}"#
        );
    }
}
