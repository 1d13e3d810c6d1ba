-- Completes lookup rows woosync inserted for existing products that had none: the columns
-- price and stock do not decide come from the product's meta, as WooCommerce's
-- get_data_for_lookup_table() reads them. {ids} is a list of placeholders; the gtin slot holds the
-- global_unique_id assignment where the shop's table has that column (WooCommerce 9.1+).
UPDATE `{prefix}wc_product_meta_lookup` l
SET
  l.`virtual` = COALESCE((SELECT pm.meta_value = 'yes' FROM `{prefix}postmeta` pm
                          WHERE pm.post_id = l.product_id AND pm.meta_key = '_virtual' ORDER BY pm.meta_id LIMIT 1), 0),
  l.downloadable = COALESCE((SELECT pm.meta_value = 'yes' FROM `{prefix}postmeta` pm
                             WHERE pm.post_id = l.product_id AND pm.meta_key = '_downloadable' ORDER BY pm.meta_id LIMIT 1), 0),
  l.average_rating = COALESCE((SELECT CAST(pm.meta_value AS DECIMAL(3,2)) FROM `{prefix}postmeta` pm
                               WHERE pm.post_id = l.product_id AND pm.meta_key = '_wc_average_rating' ORDER BY pm.meta_id LIMIT 1), 0),
  l.total_sales = COALESCE((SELECT CAST(pm.meta_value AS SIGNED) FROM `{prefix}postmeta` pm
                            WHERE pm.post_id = l.product_id AND pm.meta_key = 'total_sales' ORDER BY pm.meta_id LIMIT 1), 0),
  l.tax_status = COALESCE((SELECT pm.meta_value FROM `{prefix}postmeta` pm
                           WHERE pm.post_id = l.product_id AND pm.meta_key = '_tax_status' ORDER BY pm.meta_id LIMIT 1), 'taxable'),
  l.tax_class = COALESCE((SELECT pm.meta_value FROM `{prefix}postmeta` pm
                          WHERE pm.post_id = l.product_id AND pm.meta_key = '_tax_class' ORDER BY pm.meta_id LIMIT 1), ''){gtin}
WHERE l.product_id IN ({ids})
