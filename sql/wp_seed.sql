-- The rows a fresh WordPress + WooCommerce install has that woosync relies on: default terms
-- (as the installer creates them) and the options it reads. `{prefix}` is the table prefix.
INSERT INTO `{prefix}terms` VALUES (1,'Uncategorized','uncategorized',0),(2,'simple','simple',0),
 (3,'grouped','grouped',0),(4,'variable','variable',0),(5,'external','external',0),
 (6,'exclude-from-search','exclude-from-search',0),(7,'exclude-from-catalog','exclude-from-catalog',0),
 (8,'featured','featured',0),(9,'outofstock','outofstock',0),(10,'rated-1','rated-1',0),
 (11,'rated-2','rated-2',0),(12,'rated-3','rated-3',0),(13,'rated-4','rated-4',0),(14,'rated-5','rated-5',0),
 (15,'Uncategorized','uncategorized',0);
INSERT INTO `{prefix}term_taxonomy` VALUES (1,1,'category','',0,1),(2,2,'product_type','',0,0),
 (3,3,'product_type','',0,0),(4,4,'product_type','',0,0),(5,5,'product_type','',0,0),
 (6,6,'product_visibility','',0,0),(7,7,'product_visibility','',0,0),(8,8,'product_visibility','',0,0),
 (9,9,'product_visibility','',0,0),(10,10,'product_visibility','',0,0),(11,11,'product_visibility','',0,0),
 (12,12,'product_visibility','',0,0),(13,13,'product_visibility','',0,0),(14,14,'product_visibility','',0,0),
 (15,15,'product_cat','',0,0);
INSERT INTO `{prefix}termmeta` (term_id, meta_key, meta_value) VALUES (15,'product_count_product_cat','0');
INSERT INTO `{prefix}wc_category_lookup` (category_tree_id, category_id) VALUES (15,15);
INSERT INTO `{prefix}options` (option_name, option_value, autoload) VALUES
 ('siteurl','http://shop.example','on'),
 ('home','http://shop.example','on'),
 ('timezone_string','','on'),
 ('gmt_offset','0','on'),
 ('woocommerce_version','9.9.5','on'),
 ('woocommerce_db_version','9.9.5','on'),
 ('woocommerce_schema_version','920','on'),
 ('default_product_cat','15','on'),
 ('product_cat_children','a:0:{}','auto'),
 ('woocommerce_manage_stock','yes','on'),
 ('woocommerce_notify_no_stock_amount','0','on'),
 ('woocommerce_hide_out_of_stock_items','no','on'),
 ('_transient_product-transient-version','1795335000','on'),
 ('_transient_product_query-transient-version','1795335000','on'),
 ('_transient_filter_data-transient-version','1795335000','on');
