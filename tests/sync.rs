//! The core engine against a real MariaDB: every WooCommerce write rule, creation, identity,
//! dry run, idempotence, bad input and pre-flight refusals.

mod common;

use common::{without_clock, TestShop};
use mysql_async::prelude::*;
use woosync::fixture::Spec;

const OUTOFSTOCK_TT: u64 = 9;

#[tokio::test]
async fn sale_added_changed_and_removed() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "25.00", 10)]).await;
    let id = ids[0];

    let s = shop.settings("sku,regular_price,sale_price\nA-1,25.00,19.99\n", "");
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.updated, out.counts.unchanged), (1, 0));
    assert_eq!(shop.one(id, "_sale_price").await.as_deref(), Some("19.99"));
    assert_eq!(shop.one(id, "_price").await.as_deref(), Some("19.99"));
    assert_eq!(shop.one(id, "_regular_price").await.as_deref(), Some("25.00"));
    let l = shop.lookup(id).await.unwrap();
    assert_eq!((l.0.as_deref(), l.1.as_deref(), l.2), (Some("19.9900"), Some("19.9900"), 1));
    let report = shop.report();
    assert!(report.contains(&format!("update,A-1,{id},product,_sale_price,,19.99,")), "{report}");
    assert!(report.contains(&format!("update,A-1,{id},product,_price,25.00,19.99,")), "{report}");

    let s = shop.settings("sku,regular_price,sale_price\nA-1,30.00,24.50\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(id, "_regular_price").await.as_deref(), Some("30.00"));
    assert_eq!(shop.one(id, "_sale_price").await.as_deref(), Some("24.50"));
    assert_eq!(shop.one(id, "_price").await.as_deref(), Some("24.50"));

    let s = shop.settings("sku,regular_price,sale_price\nA-1,30.00,\n", "");
    shop.sync(&s).await;
    assert!(shop.meta(id, "_sale_price").await.is_empty(), "the _sale_price row is deleted, not blanked");
    assert_eq!(shop.one(id, "_price").await.as_deref(), Some("30.00"));
    let l = shop.lookup(id).await.unwrap();
    assert_eq!((l.0.as_deref(), l.2), (Some("30.0000"), 0));
    shop.drop_db().await;
}

#[tokio::test]
async fn stock_to_zero_and_back_moves_the_outofstock_term_and_its_count() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("S-1", "10", 7), Spec::simple("S-2", "10", 0), Spec::simple("S-3", "10", 5).status("draft")]).await;
    assert_eq!(shop.term_count(OUTOFSTOCK_TT).await, 1);

    let s = shop.settings("sku,stock\nS-1,0\nS-3,0\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("0"));
    assert_eq!(shop.one(ids[0], "_stock_status").await.as_deref(), Some("outofstock"));
    assert!(shop.has_term(ids[0], OUTOFSTOCK_TT).await);
    assert!(shop.has_term(ids[2], OUTOFSTOCK_TT).await, "drafts carry the term too");
    assert_eq!(shop.term_count(OUTOFSTOCK_TT).await, 2, "drafts are not counted");
    let l = shop.lookup(ids[0]).await.unwrap();
    assert_eq!((l.3, l.4.as_str()), (Some(0.0), "outofstock"));

    let s = shop.settings("sku,stock\nS-1,5\nS-2,3\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(ids[0], "_stock_status").await.as_deref(), Some("instock"));
    assert!(!shop.has_term(ids[0], OUTOFSTOCK_TT).await);
    assert!(!shop.has_term(ids[1], OUTOFSTOCK_TT).await);
    assert_eq!(shop.term_count(OUTOFSTOCK_TT).await, 0);
    assert_eq!(shop.lookup(ids[1]).await.unwrap().3, Some(3.0));
    shop.drop_db().await;
}

#[tokio::test]
async fn backorders_allowed_means_onbackorder_without_the_term() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("B-1", "10", 4).backorders("notify")]).await;
    let s = shop.settings("sku,stock\nB-1,0\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(ids[0], "_stock_status").await.as_deref(), Some("onbackorder"));
    assert!(!shop.has_term(ids[0], OUTOFSTOCK_TT).await);
    assert_eq!(shop.lookup(ids[0]).await.unwrap().4, "onbackorder");
    shop.drop_db().await;
}

#[tokio::test]
async fn unmanaged_product_gets_stock_management_switched_on() {
    let mut shop = TestShop::new().await;
    let mut spec = Spec::simple("U-1", "10", 0);
    spec.stock = None;
    let ids = shop.insert(&[spec]).await;
    assert_eq!(shop.lookup(ids[0]).await.unwrap().3, None);
    let s = shop.settings("sku,stock\nU-1,6\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(ids[0], "_manage_stock").await.as_deref(), Some("yes"));
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("6"));
    assert_eq!(shop.lookup(ids[0]).await.unwrap().3, Some(6.0));
    shop.drop_db().await;
}

#[tokio::test]
async fn variation_change_resyncs_the_parent() {
    let mut shop = TestShop::new().await;
    let ids = shop
        .insert(&[Spec::variable(
            "VAR-1",
            vec![Spec::simple("VAR-1-S", "10.71", 39), Spec::simple("VAR-1-M", "15.02", 12).sale("13.52"), Spec::simple("VAR-1-L", "20.73", 0)],
        )])
        .await;
    let (parent, s_id, m_id) = (ids[0], ids[1], ids[2]);
    assert_eq!(shop.meta(parent, "_price").await, vec![Some("10.71".into()), Some("13.52".into()), Some("20.73".into())]);

    // Warm caches a live shop would have for this parent.
    shop.conn
        .query_drop(format!(
            "INSERT INTO wp_options (option_name, option_value, autoload) VALUES \
             ('_transient_wc_var_prices_{parent}', '{{}}', 'off'), ('_transient_timeout_wc_var_prices_{parent}', '1797927296', 'off'), \
             ('_transient_wc_product_children_{parent}', 'a:0:{{}}', 'off'), ('_transient_timeout_wc_product_children_{parent}', '1797927296', 'off')"
        ))
        .await
        .unwrap();

    // A price change: the parent's _price rows and lookup min/max follow.
    let s = shop.settings("sku,regular_price\nVAR-1-S,5.55\n", "");
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.updated, 1, "the parent is a consequence, not a feed row");
    assert_eq!(shop.meta(parent, "_price").await, vec![Some("5.55".into()), Some("13.52".into()), Some("20.73".into())]);
    let l = shop.lookup(parent).await.unwrap();
    assert_eq!((l.0.as_deref(), l.1.as_deref()), (Some("5.5500"), Some("20.7300")));
    assert_eq!(shop.lookup(s_id).await.unwrap().0.as_deref(), Some("5.5500"));
    let cached: i64 = shop.scalar(&format!("SELECT COUNT(*) FROM {{p}}options WHERE option_name LIKE '%\\_{parent}'")).await;
    assert_eq!(cached, 0, "the parent's cache transients and their timeouts are deleted");

    // Every variation out of stock: the parent goes out of stock, with its own term.
    let s = shop.settings("sku,stock\nVAR-1-S,0\nVAR-1-M,0\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(parent, "_stock_status").await.as_deref(), Some("outofstock"));
    assert!(shop.has_term(parent, OUTOFSTOCK_TT).await);
    assert!(shop.has_term(m_id, OUTOFSTOCK_TT).await);
    assert_eq!(shop.lookup(parent).await.unwrap().4, "outofstock");
    assert_eq!(shop.term_count(OUTOFSTOCK_TT).await, 4, "parent + three variations");

    // And back.
    let s = shop.settings("sku,stock\nVAR-1-M,4\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(parent, "_stock_status").await.as_deref(), Some("instock"));
    assert!(!shop.has_term(parent, OUTOFSTOCK_TT).await);
    assert_eq!(shop.term_count(OUTOFSTOCK_TT).await, 2);
    shop.drop_db().await;
}

#[tokio::test]
async fn variable_parent_sku_prices_are_warned_and_skipped() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::variable("VP", vec![Spec::simple("VP-1", "10", 3)])]).await;
    let before = shop.snapshot().await;
    let s = shop.settings("sku,regular_price,stock\nVP,99,5\n", "");
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.unchanged, out.counts.warning), (1, 2));
    let report = shop.report();
    assert!(report.contains(&format!("warning,VP,{},product,_price,", ids[0])), "{report}");
    assert!(report.contains("stock skipped"), "{report}");
    common::assert_same(&before, &shop.snapshot().await, "tables");
    shop.drop_db().await;
}

#[tokio::test]
async fn new_sku_becomes_a_draft_exactly_as_woocommerce_creates_it() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("OLD", "1", 1)]).await;
    let s = shop.settings("sku,name,regular_price,stock\nNEW-1,Фитнес-браслет «Пульс»,1 299,50,3\n", "");
    let s = woosync::config::Settings { ..s };
    std::fs::write(shop.dir.path().join("feed.csv"), "sku;name;regular_price;stock\nNEW-1;Фитнес-браслет «Пульс»;1 299,50;3\n").unwrap();
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.created, out.counts.unchanged), (1, 0));
    let (id, status, name, title, guid, ctype): (u64, String, String, String, String, String) = shop
        .scalar("SELECT ID, post_status, post_name, post_title, guid, comment_status FROM {p}posts WHERE post_title LIKE 'Фитнес%'")
        .await;
    assert_eq!((status.as_str(), name.as_str(), title.as_str()), ("draft", "", "Фитнес-браслет «Пульс»"));
    assert_eq!(guid, format!("http://shop.example/?post_type=product&p={id}"));
    assert_eq!(ctype, "open");
    let keys: Vec<String> = shop
        .conn
        .exec(mysql_async_query("SELECT meta_key FROM wp_postmeta WHERE post_id = ? ORDER BY meta_id"), (id,))
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "_sku", "_regular_price", "total_sales", "_tax_status", "_tax_class", "_manage_stock", "_backorders", "_sold_individually",
            "_virtual", "_downloadable", "_download_limit", "_download_expiry", "_stock", "_stock_status", "_wc_average_rating",
            "_wc_review_count", "_product_version", "_price"
        ]
    );
    assert_eq!(shop.one(id, "_regular_price").await.as_deref(), Some("1299.50"));
    assert_eq!(shop.one(id, "_product_version").await.as_deref(), Some("9.9.5"));
    assert!(shop.has_term(id, 2).await && shop.has_term(id, 15).await);
    assert_eq!(shop.term_count(2).await, 1, "a draft does not count towards product_type:simple");
    let l = shop.lookup(id).await.unwrap();
    assert_eq!((l.0.as_deref(), l.3, l.4.as_str()), (Some("1299.5000"), Some(3.0), "instock"));
    assert!(shop.report().contains(&format!("create,NEW-1,{id},product,post_title,,Фитнес-браслет «Пульс»,")));

    // Second run: the draft exists now and nothing is written.
    let before = shop.snapshot().await;
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.created, out.counts.unchanged), (0, 1));
    common::assert_same(&before, &shop.snapshot().await, "tables");
    shop.drop_db().await;
}

fn mysql_async_query(s: &str) -> String {
    s.to_string()
}

#[tokio::test]
async fn private_products_get_a_unique_slug() {
    let mut shop = TestShop::new().await;
    let s = shop.settings("sku,name,regular_price\nP-1,Кофе Арабика,10\nP-2,Кофе Арабика,11\n", "[sync]\nnew_product_status = \"private\"\n");
    shop.sync(&s).await;
    let rows: Vec<(String, String, String)> = shop
        .conn
        .query("SELECT post_status, post_name, guid FROM wp_posts WHERE post_type = 'product' ORDER BY ID")
        .await
        .unwrap();
    let slug = "%d0%ba%d0%be%d1%84%d0%b5-%d0%b0%d1%80%d0%b0%d0%b1%d0%b8%d0%ba%d0%b0";
    assert_eq!(rows[0], ("private".into(), slug.into(), format!("http://shop.example/?product={slug}")));
    assert_eq!(rows[1].1, format!("{slug}-2"));
    shop.drop_db().await;
}

#[tokio::test]
async fn published_stays_published_and_titles_are_never_overwritten() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("PUB", "10", 1), Spec::simple("DR", "10", 1).status("draft")]).await;
    let s = shop.settings("sku,name,regular_price\nPUB,New name,12\nDR,Other,13\n", "[sync]\nnew_product_status = \"private\"\n");
    shop.sync(&s).await;
    let rows: Vec<(String, String)> = shop.conn.query("SELECT post_status, post_title FROM wp_posts ORDER BY ID").await.unwrap();
    assert_eq!(rows, vec![("publish".into(), "Product PUB".into()), ("draft".into(), "Product DR".into())]);
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("12"));
    shop.drop_db().await;
}

#[tokio::test]
async fn duplicate_skus_are_conflicts_and_nothing_is_written_for_them() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("DUP", "10", 1), Spec::simple("DUP", "11", 1), Spec::simple("OK", "5", 1)]).await;
    let before = shop.snapshot().await;
    let s = shop.settings("sku,regular_price\nDUP,20\nTWICE,1\nok,5\ntwice,2\n", "");
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.conflict, out.counts.created, out.counts.unchanged), (3, 0, 1));
    common::assert_same(&before, &shop.snapshot().await, "conflicts write nothing");
    let report = shop.report();
    assert!(report.contains("conflict,DUP,,,_sku,,,\"line 2: SKU is used by 2 live products (IDs "), "{report}");
    assert!(report.contains("conflict,TWICE,,,_sku,,,\"line 3: SKU appears 2 times in the feed (lines 3, 5)"), "{report}");
    shop.drop_db().await;
}

#[tokio::test]
async fn a_trashed_products_sku_gets_a_new_product() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("T-1", "10", 1).status("trash")]).await;
    let s = shop.settings("sku,regular_price\nT-1,12\n", "");
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.created, 1);
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("10"));
    let n: i64 = shop.scalar("SELECT COUNT(*) FROM {p}postmeta WHERE meta_key = '_sku' AND meta_value = 'T-1'").await;
    assert_eq!(n, 2);
    shop.drop_db().await;
}

#[tokio::test]
async fn dry_run_leaves_every_table_byte_identical_and_reports_the_diff() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("D-1", "10", 5), Spec::simple("D-2", "10", 5)]).await;
    let before = shop.snapshot().await;
    let s = shop.settings("sku,name,regular_price,sale_price,stock\nD-1,,12,,0\nD-2,,10,,5\nD-3,Новый,7,,1\n,,1,,\n", "");
    let out = shop.try_sync(&s, true).await.unwrap();
    assert!(out.dry_run);
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged, out.counts.invalid), (1, 1, 1, 1));
    common::assert_same(&before, &shop.snapshot().await, "tables");
    let tables: i64 = shop.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '%woosync%'").await;
    assert_eq!(tables, 0, "a dry run creates nothing either");
    let report = shop.report();
    let id = ids[0];
    let expected = format!(
        "action,sku,product_id,post_type,field,old,new,message\n\
         invalid,,,,sku,,,feed.csv:5:1: empty SKU; expected a non-empty product code\n\
         update,D-1,{id},product,_regular_price,10,12,\n\
         update,D-1,{id},product,_price,10,12,\n\
         update,D-1,{id},product,_stock,5,0,\n\
         update,D-1,{id},product,_stock_status,instock,outofstock,\n\
         create,D-3,,product,post_title,,Новый,\n\
         create,D-3,,product,post_status,,draft,\n\
         create,D-3,,product,_sku,,D-3,\n\
         create,D-3,,product,_regular_price,,7,\n\
         create,D-3,,product,_price,,7,\n\
         create,D-3,,product,_manage_stock,,yes,\n\
         create,D-3,,product,_stock,,1,\n\
         create,D-3,,product,_stock_status,,instock,\n"
    );
    assert_eq!(report, expected);
    shop.drop_db().await;
}

#[tokio::test]
async fn second_run_writes_nothing_at_all() {
    let mut shop = TestShop::new().await;
    shop.insert(&[
        Spec::simple("R-1", "10", 5),
        Spec::simple("R-2", "20.00", 0).sale("15"),
        Spec::variable("R-V", vec![Spec::simple("R-V-1", "9", 1), Spec::simple("R-V-2", "8", 0)]),
    ])
    .await;
    let s = shop.settings("sku,name,regular_price,sale_price,stock\nR-1,,11,,4\nR-2,,20,,0\nR-V-1,,9.5,8,0\nR-NEW,New,3,,2\n", "");
    let first = shop.sync(&s).await;
    assert_eq!((first.counts.created, first.counts.updated), (1, 3));
    let after_first = shop.snapshot().await;
    let second = shop.sync(&s).await;
    assert_eq!((second.counts.created, second.counts.updated, second.counts.unchanged), (0, 0, 4));
    common::assert_same(&after_first, &shop.snapshot().await, "no touched post_modified, no version bump");
    shop.drop_db().await;
}

#[tokio::test]
async fn numerically_equal_prices_are_not_rewritten() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("N-1", "25.00", 5)]).await;
    let before = shop.snapshot().await;
    let s = shop.settings("sku;regular_price;stock\nN-1;25;5,000\n", "");
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.unchanged, 1);
    common::assert_same(&before, &shop.snapshot().await, "tables");
    shop.drop_db().await;
}

#[tokio::test]
async fn caches_are_invalidated_once_per_run() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("C-1", "10", 5)]).await;
    shop.conn
        .query_drop(
            "INSERT INTO wp_options (option_name, option_value, autoload) VALUES \
             ('_transient_wc_products_onsale','a:0:{}','off'),('_transient_timeout_wc_products_onsale','1797927236','off'),\
             ('_transient_wc_outofstock_count','0','off'),('_transient_timeout_wc_outofstock_count','1797927236','off')",
        )
        .await
        .unwrap();
    let s = shop.settings("sku,stock\nC-1,0\n", "");
    shop.sync(&s).await;
    let left: i64 = shop.scalar("SELECT COUNT(*) FROM {p}options WHERE option_name LIKE '%wc_products_onsale' OR option_name LIKE '%wc_outofstock_count'").await;
    assert_eq!(left, 0);
    let versions: Vec<String> = shop.conn.query("SELECT option_value FROM wp_options WHERE option_name LIKE '%-transient-version'").await.unwrap();
    assert_eq!(versions.len(), 3);
    assert!(versions.iter().all(|v| v != "1795335000"), "{versions:?}");
    shop.drop_db().await;
}

#[tokio::test]
async fn post_modified_is_local_time_in_the_shop_timezone() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("TZ", "10", 5)]).await;
    shop.conn.query_drop("UPDATE wp_options SET option_value = 'Asia/Kolkata' WHERE option_name = 'timezone_string'").await.unwrap();
    let s = shop.settings("sku,stock\nTZ,6\n", "");
    shop.sync(&s).await;
    let diff: i64 = shop.scalar(&format!("SELECT TIMESTAMPDIFF(MINUTE, post_modified_gmt, post_modified) FROM {{p}}posts WHERE ID = {}", ids[0])).await;
    assert_eq!(diff, 330);
    shop.drop_db().await;
}

#[tokio::test]
async fn windows_1251_semicolon_decimal_comma_feed() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("КР-001", "100", 1)]).await;
    let text = "Артикул;Наименование;Цена;Цена со скидкой;Остаток\r\nКР-001;Кресло;1 234,50;999,90;12,000\r\nКР-002;Стол \"Лофт\";2500;;-3\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    let cfg = shop.config_bytes(
        &bytes,
        "encoding = \"windows-1251\"\n[source.columns]\nsku = \"Артикул\"\nname = \"Наименование\"\nregular_price = \"Цена\"\nsale_price = \"Цена со скидкой\"\nstock = \"Остаток\"\n",
    );
    let s = woosync::config::Settings::load_with(&cfg, None).unwrap();
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.updated, out.counts.created, out.counts.warning), (1, 1, 1));
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("1234.50"));
    assert_eq!(shop.one(ids[0], "_sale_price").await.as_deref(), Some("999.90"));
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("12"));
    let (title, stock): (String, String) = shop
        .scalar("SELECT p.post_title, m.meta_value FROM {p}posts p JOIN {p}postmeta m ON m.post_id = p.ID AND m.meta_key = '_stock' WHERE p.post_title LIKE 'Стол%'")
        .await;
    assert_eq!((title.as_str(), stock.as_str()), ("Стол \"Лофт\"", "0"));
    assert!(shop.report().contains("negative stock -3 in the feed written as 0"));
    shop.drop_db().await;
}

#[tokio::test]
async fn invalid_rows_are_reported_and_the_rest_syncs() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("G-1", "10", 1), Spec::simple("G-2", "10", 1)]).await;
    let s = shop.settings("sku,regular_price,sale_price,stock\nG-1,abc,,\nG-2,20,,7\nG-3,10,12,1\nG-4,5,,1.5\nG-5,1,2\n", "[sync]\nfractional_stock = \"reject\"\n");
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.invalid, out.counts.updated, out.counts.created), (4, 1, 0));
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("10"));
    assert_eq!(shop.one(ids[1], "_stock").await.as_deref(), Some("7"));
    let r = shop.report();
    assert!(r.contains("invalid,G-1,,,regular_price,,,\"feed.csv:2:2: `abc` is not a number; expected a price like 1234.50"), "{r}");
    assert!(r.contains("invalid,G-3,,,sale_price,,,feed.csv:4:3: sale price 12 is not below the regular price 10"), "{r}");
    assert!(r.contains("invalid,G-4,,,stock,,,\"feed.csv:5:4: the stock 1.5 is not a whole number; expected whole items"), "{r}");
    assert!(r.contains("invalid,G-5,,,row,,,\"feed.csv:6: expected 4 columns as in the header, found 3"), "{r}");
    shop.drop_db().await;
}

#[tokio::test]
async fn missing_lookup_rows_are_inserted_whole() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("L-1", "10", 1)]).await;
    shop.conn.query_drop("DELETE FROM wp_wc_product_meta_lookup").await.unwrap();
    shop.conn.query_drop(format!("UPDATE wp_postmeta SET meta_value = 'yes' WHERE post_id = {} AND meta_key = '_virtual'", ids[0])).await.unwrap();
    let s = shop.settings("sku,stock\nL-1,2\n", "");
    shop.sync(&s).await;
    let row: (String, i64, Option<f64>, String, String) = shop
        .scalar("SELECT sku, `virtual`, stock_quantity, stock_status, tax_status FROM {p}wc_product_meta_lookup")
        .await;
    assert_eq!(row, ("L-1".into(), 1, Some(2.0), "instock".into(), "taxable".into()));
    shop.drop_db().await;
}

#[tokio::test]
async fn source_and_shop_failures_write_nothing() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("F-1", "10", 1)]).await;
    let before = shop.snapshot().await;

    let s = shop.settings("article,stock\nF-1,0\n", "");
    let err = shop.try_sync(&s, false).await.unwrap_err();
    assert_eq!(err.exit_code() as i32, 3);
    assert!(err.to_string().contains("no SKU column `sku`"), "{err}");

    let s = shop.settings("sku,stock\n", "");
    assert!(shop.try_sync(&s, false).await.unwrap_err().to_string().contains("no data rows"));

    let mut s = shop.settings("sku,stock\nF-1,0\n", "");
    if let woosync::config::Source::Csv(csv) = &mut s.source {
        csv.path = shop.dir.path().join("missing.csv");
    }
    assert_eq!(shop.try_sync(&s, false).await.unwrap_err().exit_code() as i32, 3);
    common::assert_same(&before, &shop.snapshot().await, "tables");
    let failed: i64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_runs WHERE state = 'failed'").await;
    assert_eq!(failed, 3, "failed runs are journalled");

    shop.conn
        .query_drop("INSERT INTO wp_options (option_name, option_value) VALUES ('woocommerce_custom_product_tables_enabled', 'yes')")
        .await
        .unwrap();
    let s = shop.settings("sku,stock\nF-1,0\n", "");
    let err = shop.try_sync(&s, false).await.unwrap_err();
    assert!(err.to_string().contains("custom product tables"), "{err}");
    assert_eq!(err.exit_code() as i32, 4);
    shop.drop_db().await;
}

#[tokio::test]
async fn a_database_without_woocommerce_is_refused() {
    let shop = TestShop::with_prefix("shop_").await;
    let mut s = shop.settings("sku,stock\nA,1\n", "");
    s.table_prefix = "wp_".into();
    let err = shop.try_sync(&s, false).await.unwrap_err();
    assert_eq!(err.exit_code() as i32, 4);
    assert!(err.to_string().contains("has no WooCommerce tables wp_posts"), "{err}");
    shop.drop_db().await;
}

#[tokio::test]
async fn other_table_prefixes_work() {
    let mut shop = TestShop::with_prefix("shop_").await;
    let ids = shop.insert(&[Spec::simple("X", "10", 1)]).await;
    let s = shop.settings("sku,stock\nX,0\n", "");
    shop.sync(&s).await;
    assert_eq!(shop.one(ids[0], "_stock_status").await.as_deref(), Some("outofstock"));
    let runs: i64 = shop.scalar("SELECT COUNT(*) FROM shop_woosync_runs WHERE state = 'done'").await;
    assert_eq!(runs, 1);
    let _ = without_clock("");
    shop.drop_db().await;
}

#[tokio::test]
async fn a_variable_parent_that_manages_stock_takes_the_feed_stock() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::variable("VM", vec![Spec::simple("VM-1", "10", 3)])]).await;
    shop.conn.query_drop(format!("UPDATE wp_postmeta SET meta_value = 'yes' WHERE post_id = {} AND meta_key = '_manage_stock'", ids[0])).await.unwrap();
    shop.conn.query_drop(format!("UPDATE wp_postmeta SET meta_value = '4' WHERE post_id = {} AND meta_key = '_stock'", ids[0])).await.unwrap();
    let s = shop.settings("sku,stock\nVM,0\n", "");
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.updated, out.counts.warning), (1, 0));
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("0"));
    assert_eq!(shop.one(ids[0], "_stock_status").await.as_deref(), Some("outofstock"));
    assert!(shop.has_term(ids[0], OUTOFSTOCK_TT).await);
    let l = shop.lookup(ids[0]).await.unwrap();
    assert_eq!((l.3, l.4.as_str()), (Some(0.0), "outofstock"));
    shop.drop_db().await;
}

#[tokio::test]
async fn the_safety_guard_refuses_a_feed_that_zeroes_the_shop_unless_forced() {
    let mut shop = TestShop::new().await;
    let specs: Vec<Spec> = (0..40).map(|i| Spec::simple(&format!("GU-{i:02}"), "100", 5)).collect();
    let ids = shop.insert(&specs).await;
    let mut feed = String::from("sku,stock\n");
    for i in 0..40 {
        feed.push_str(&format!("GU-{i:02},{}\n", if i < 20 { 0 } else { 5 }));
    }
    let before = shop.snapshot().await;
    let s = shop.settings(&feed, "");

    // A dry run shows the verdict and still reports the diff.
    let out = shop.try_sync(&s, true).await.unwrap();
    assert_eq!(out.counts.updated, 20);
    assert!(shop.report().contains("warning,,,,guard,,,a real run would be refused by the safety guard: the run would set 20 of 40 products (50%) to zero stock"), "{}", shop.report());

    let err = shop.try_sync(&s, false).await.unwrap_err();
    assert_eq!(err.exit_code() as i32, 8);
    assert!(err.to_string().contains("--force"), "{err}");
    common::assert_same(&before, &shop.snapshot().await, "a refused run writes nothing");
    let (state, error): (String, String) = shop.scalar("SELECT state, error FROM {p}woosync_runs ORDER BY id DESC LIMIT 1").await;
    assert_eq!(state, "failed");
    assert!(error.contains("zero stock"));

    let report = shop.report_path();
    let forced = woosync::run::sync(
        &s,
        woosync::run::SyncOptions { dry_run: false, report: Some(&report), force: true, fresh: false },
        &woosync::run::Shutdown::default(),
        &woosync::run::Quiet,
    )
    .await
    .unwrap();
    assert_eq!(forced[0].counts.updated, 20);
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("0"));

    // The next run is measured against this one: a feed with a third of its rows is refused.
    let s = shop.settings("sku,stock\nGU-30,5\nGU-31,5\n", "[guard]\nmin_items_percent = 50\n");
    let err = shop.try_sync(&s, false).await.unwrap_err();
    assert!(err.to_string().contains("the feed has 2 valid rows, 5% of the 40 of the last successful run"), "{err}");
    shop.drop_db().await;
}

#[tokio::test]
async fn products_missing_from_the_feed_get_zero_stock_only_if_this_source_synced_them() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("M-1", "10", 5), Spec::simple("M-2", "10", 5), Spec::simple("M-3", "10", 5), Spec::simple("M-9", "10", 5)]).await;
    let extra = "[sync]\nmissing = \"zero_stock\"\n[guard]\nmin_items_percent = 0\n";
    let s = shop.settings("sku,stock\nM-1,5\nM-2,5\nM-3,5\n", extra);
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.updated, 0, "the first run only learns what this source syncs");

    let s = shop.settings("sku,stock\nM-1,5\n", extra);
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.updated, 2);
    for id in [ids[1], ids[2]] {
        assert_eq!(shop.one(id, "_stock").await.as_deref(), Some("0"));
        assert_eq!(shop.one(id, "_stock_status").await.as_deref(), Some("outofstock"));
        assert!(shop.has_term(id, OUTOFSTOCK_TT).await);
    }
    assert_eq!(shop.one(ids[3], "_stock").await.as_deref(), Some("5"), "never synced by this source: left alone");
    let report = shop.report();
    assert!(report.contains(&format!("update,M-2,{},product,_stock,5,0,missing from feed", ids[1])), "{report}");

    let before = shop.snapshot().await;
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.updated, 0);
    common::assert_same(&before, &shop.snapshot().await, "already zeroed: nothing written");

    // The default policy leaves missing products alone.
    let s = shop.settings("sku,stock\nM-2,3\n", "[guard]\nmin_items_percent = 0\n");
    shop.sync(&s).await;
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("5"));
    shop.drop_db().await;
}
