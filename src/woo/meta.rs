//! Which post meta keys belong to WooCommerce or WordPress: a product's own properties, kept by
//! `WC_Product_Data_Store_CPT` in meta rows with rules of their own (its `$internal_meta_keys`,
//! WooCommerce 9.9, plus the GTIN, cost-of-goods and grouped/external keys it writes), and
//! WordPress's bookkeeping. A feed fills such a key only through its canonical field.

/// Why `key` is not a key of the user's own, or `None` when it is.
pub fn owned_key(key: &str) -> Option<String> {
    let reason = match key {
        "_sku" => "the SKU, by which products are found: it is the `sku` field of [source.columns]",
        "_price" | "_regular_price" | "_sale_price" => {
            "a WooCommerce price: map regular_price and sale_price in [source.columns] (woosync derives _price, the lookup row and a variable parent's prices from them)"
        }
        "_sale_price_dates_from" | "_sale_price_dates_to" => "the schedule of a sale, which WooCommerce's own cron applies",
        "_stock" | "_stock_status" | "_manage_stock" | "_backorders" | "_low_stock_amount" => {
            "WooCommerce's stock: map stock in [source.columns] (woosync derives the stock status, the outofstock term and the lookup row from it)"
        }
        "_global_unique_id" => "WooCommerce's GTIN field: map gtin in [source.columns] (unique across the shop, with its lookup column)",
        "_product_attributes" | "_default_attributes" => "the product's attributes: map them in [source.attributes]",
        "_thumbnail_id" | "_product_image_gallery" => "the product's images (attachments of the media library)",
        "_visibility" | "total_sales" | "_tax_status" | "_tax_class" | "_sold_individually" | "_weight" | "_length" | "_width" | "_height"
        | "_upsell_ids" | "_crosssell_ids" | "_purchase_note" | "_virtual" | "_downloadable" | "_download_limit" | "_download_expiry"
        | "_featured" | "_downloadable_files" | "_variation_description" | "_file_paths" | "_product_version" | "_children"
        | "_product_url" | "_button_text" | "_cogs_total_value" | "_cogs_value_overrides_parent" => {
            "a WooCommerce product property (WooCommerce keeps it in this meta key with rules of its own)"
        }
        "_edit_lock" | "_edit_last" | "_encloseme" | "_pingme" | "_menu_item_type" => "WordPress's own bookkeeping",
        _ if key.starts_with("_wc_") || key.starts_with("_woocommerce_") => "a WooCommerce key (WooCommerce computes or owns the `_wc_` keys)",
        _ if key.starts_with("attribute_") => "a variation's attribute value (`attribute_*`): map attributes in [source.attributes]",
        _ if key.starts_with("_wp_") => "WordPress's own bookkeeping (the `_wp_` keys)",
        _ => return None,
    };
    Some(format!("{key} is {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn woocommerce_and_wordpress_keys_are_theirs() {
        for key in ["_price", "_stock", "_sku", "_global_unique_id", "_stock_status", "_wc_average_rating", "attribute_pa_razmer", "_wp_old_slug", "_thumbnail_id", "total_sales"] {
            assert!(owned_key(key).is_some(), "{key}");
        }
        assert!(owned_key("_price").unwrap().contains("regular_price"));
        for key in ["_woosync_stock_ozon", "_woosync_price_ozon", "_yandex_code", "ozon_export", "_stock_ozon"] {
            assert_eq!(owned_key(key), None, "{key}");
        }
    }
}
