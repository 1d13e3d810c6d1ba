//! The object cache's keys as the Redis Object Cache drop-in builds them, and what a write asks
//! of them (`shared/woocommerce/OBJECT-CACHE.md` §2 and §5). Pure: the Redis side is `cache`'s.

/// Builds keys: `WP_REDIS_PREFIX` + the site prefix (the table prefix with `_ - : $` trimmed) +
/// `:` + group + `:` + key, with every `:` inside a group or key turned into `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    base: String,
}

impl Keys {
    pub fn new(prefix: &str, table_prefix: &str) -> Keys {
        let site = table_prefix.trim_matches(['_', '-', ':', '$']);
        Keys { base: format!("{}{site}:", prefix.trim()) }
    }

    pub fn key(&self, group: &str, key: &str) -> String {
        format!("{}{}:{}", self.base, group.replace(':', "-"), key.replace(':', "-"))
    }

    /// The SCAN pattern every key of this site matches.
    pub fn pattern(&self) -> String {
        pattern_of(&self.base)
    }
}

/// The SCAN pattern of the keys that start with `prefix` (its glob characters escaped).
pub fn pattern_of(prefix: &str) -> String {
    let mut p = String::new();
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('*');
    p
}

/// What the cache must drop or renew after a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalidation {
    /// Keys to delete: the changed products' entries and the shop's cached lists.
    pub delete: Vec<String>,
    /// `last_changed` keys, set to a new microtime string.
    pub last_changed: Vec<String>,
    /// WooCommerce's version transients, set to a new `time()` that is never their old value.
    pub versions: Vec<String>,
}

/// The product lists WooCommerce caches for 30 days with no version (`wc_delete_product_transients`).
const LISTS: [&str; 5] = ["wc_products_onsale", "wc_featured_products", "wc_outofstock_count", "wc_low_stock_count", "wc_term_counts"];
/// The version transients product caches are checked against.
const VERSIONS: [&str; 3] = ["product-transient-version", "product_query-transient-version", "filter_data-transient-version"];

/// What a chunk that wrote `products` (and re-synced the variable `parents`) asks of the cache:
/// each product's meta, post, parent entry, out-of-stock terms and WooCommerce lookup and meta
/// caches go; the parents' price and children transients go; the shop-wide lists go, the
/// `last_changed` keys and the three versions move. `term` is the `outofstock` term's ID when its
/// count changed.
pub fn after_write(keys: &Keys, products: &[u64], parents: &[u64], term: Option<u64>) -> Invalidation {
    let mut delete = Vec::with_capacity((products.len() + parents.len()) * 6 + LISTS.len() + 1);
    for id in products.iter().chain(parents) {
        let object = format!("object_{id}");
        delete.extend([
            keys.key("post_meta", &id.to_string()),
            keys.key("posts", &id.to_string()),
            keys.key("posts", &format!("post_parent:{id}")),
            keys.key("product_visibility_relationships", &id.to_string()),
            keys.key("product_cat_relationships", &id.to_string()),
            keys.key(&object, "lookup_table"),
            keys.key(&object, &format!("wc_{object}_cache_prefix")),
        ]);
    }
    for id in parents {
        delete.push(keys.key("transient", &format!("wc_var_prices_{id}")));
        delete.push(keys.key("transient", &format!("wc_product_children_{id}")));
    }
    delete.extend(LISTS.iter().map(|l| keys.key("transient", l)));
    if let Some(term) = term {
        delete.push(keys.key("terms", &term.to_string()));
    }
    delete.sort_unstable();
    delete.dedup();
    Invalidation {
        delete,
        last_changed: vec![keys.key("posts", "last_changed"), keys.key("terms", "last_changed")],
        versions: VERSIONS.iter().map(|v| keys.key("transient", v)).collect(),
    }
}

/// What creating, renaming or recounting categories asks of the cache: each term's object and
/// its meta (`clean_term_cache()`); with the tree changed (`hierarchy`), the autoloaded options
/// that hold `product_cat_children`; `terms:last_changed` moves.
pub fn after_categories(keys: &Keys, terms: &[u64], hierarchy: bool) -> Invalidation {
    let mut delete: Vec<String> = terms.iter().flat_map(|t| [keys.key("terms", &t.to_string()), keys.key("term_meta", &t.to_string())]).collect();
    if hierarchy {
        delete.extend([keys.key("options", "alloptions"), keys.key("options", "notoptions"), keys.key("options", "product_cat_children")]);
    }
    delete.sort_unstable();
    delete.dedup();
    Invalidation { delete, last_changed: vec![keys.key("terms", "last_changed")], versions: Vec::new() }
}

/// After new global attributes or attribute terms: the attribute list WooCommerce registers the
/// `pa_*` taxonomies from (`transient:wc_attribute_taxonomies`, and the `woocommerce-attributes`
/// group, orphaned by dropping its cache prefix as `WC_Cache_Helper::invalidate_cache_group()`
/// does), the autoloaded options (`cron` holds the rewrite-rules flush), and the term queries.
pub fn after_attributes(keys: &Keys, new_attributes: bool) -> Invalidation {
    let mut delete = Vec::new();
    if new_attributes {
        delete.extend([
            keys.key("transient", "wc_attribute_taxonomies"),
            keys.key("woocommerce-attributes", "wc_woocommerce-attributes_cache_prefix"),
            keys.key("options", "alloptions"),
            keys.key("options", "notoptions"),
        ]);
    }
    Invalidation { delete, last_changed: vec![keys.key("terms", "last_changed")], versions: Vec::new() }
}

/// `microtime()` as WordPress stores it in a `last_changed` key: `"0.51692800 1796167288"`.
pub fn microtime(now: std::time::SystemTime) -> String {
    let d = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("0.{:08} {}", d.subsec_nanos() / 10, d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_drop_in() {
        assert_eq!(Keys::new("", "wp_").key("post_meta", "13"), "wp:post_meta:13");
        assert_eq!(Keys::new(" shop1: ", "wp_").key("posts", "post_parent:13"), "shop1:wp:posts:post_parent-13");
        assert_eq!(Keys::new("", "_my-shop$_").key("wp_query:abc", "x"), "my-shop:wp_query-abc:x");
        assert_eq!(Keys::new("a*b", "wp_").pattern(), "a\\*bwp:*");
    }

    #[test]
    fn a_write_drops_the_products_and_moves_the_shop_wide_keys() {
        let keys = Keys::new("p:", "wp_");
        let inv = after_write(&keys, &[13], &[20], Some(7));
        for k in [
            "p:wp:post_meta:13",
            "p:wp:posts:13",
            "p:wp:posts:post_parent-13",
            "p:wp:product_visibility_relationships:13",
            "p:wp:product_cat_relationships:13",
            "p:wp:object_13:lookup_table",
            "p:wp:object_13:wc_object_13_cache_prefix",
            "p:wp:post_meta:20",
            "p:wp:transient:wc_var_prices_20",
            "p:wp:transient:wc_product_children_20",
            "p:wp:transient:wc_products_onsale",
            "p:wp:transient:wc_low_stock_count",
            "p:wp:terms:7",
        ] {
            assert!(inv.delete.iter().any(|d| d == k), "{k} in {:?}", inv.delete);
        }
        assert!(!inv.delete.iter().any(|d| d.contains("wc_var_prices_13")), "a simple product has no price ranges");
        assert_eq!(inv.last_changed, ["p:wp:posts:last_changed", "p:wp:terms:last_changed"]);
        assert_eq!(inv.versions[1], "p:wp:transient:product_query-transient-version");
        assert!(!after_write(&keys, &[13], &[], None).delete.iter().any(|d| d.contains(":terms:")));
    }

    #[test]
    fn new_categories_drop_the_terms_and_the_autoloaded_options() {
        let keys = Keys::new("", "wp_");
        let inv = after_categories(&keys, &[16], true);
        assert_eq!(inv.delete, ["wp:options:alloptions", "wp:options:notoptions", "wp:options:product_cat_children", "wp:term_meta:16", "wp:terms:16"]);
        assert_eq!(inv.last_changed, ["wp:terms:last_changed"]);
        assert!(!after_categories(&keys, &[16], false).delete.iter().any(|k| k.contains("options")));
    }

    #[test]
    fn microtime_reads_like_php() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_796_167_288, 516_928_004);
        assert_eq!(microtime(t), "0.51692800 1796167288");
    }
}
