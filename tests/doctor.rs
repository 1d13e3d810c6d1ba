//! `woosync doctor` on a shop edited by hand: every kind of inconsistency reported with a dry run
//! that writes nothing, repaired by `--fix`, and nothing left for a second look.

mod common;

use std::process::Command;

use common::TestShop;
use mysql_async::prelude::*;
use woosync::fixture::Spec;

fn doctor(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_woosync")).arg("doctor").args(args).arg("--config").arg(config).output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_what_breaks_woocommerce_rules_and_fix_repairs_it() {
    let mut shop = TestShop::new().await;
    let variable = Spec::variable("D-V", ["S", "M", "L"].iter().enumerate().map(|(i, s)| Spec::simple(&format!("D-V-{s}"), &format!("{}.00", 10 + i), 3)).collect());
    let ids = shop
        .insert(&[
            Spec::simple("D-1", "10.00", 5),
            Spec::simple("D-2", "20.00", 0),
            Spec::simple("D-3", "30.00", 4).sale("25.00"),
            Spec::simple("D-4", "40.00", 2),
            Spec::simple("D-5", "50.00", 1),
            Spec::simple("D-5", "51.00", 1),
            variable,
            Spec::simple("D-OK", "60.00", 6),
        ])
        .await;
    let (d1, d2, d3, d4, parent) = (ids[0], ids[1], ids[2], ids[3], ids[6]);
    let tt = shop.scalar::<u64>("SELECT term_taxonomy_id FROM {p}term_taxonomy tt JOIN {p}terms t ON t.term_id = tt.term_id WHERE t.slug = 'outofstock'").await;
    // What hand edits and other scripts leave behind:
    for sql in [
        format!("UPDATE wp_postmeta SET meta_value = '99' WHERE post_id = {d1} AND meta_key = '_price'"),
        format!("UPDATE wp_postmeta SET meta_value = 'instock' WHERE post_id = {d2} AND meta_key = '_stock_status'"),
        format!("DELETE FROM wp_term_relationships WHERE object_id = {d2} AND term_taxonomy_id = {tt}"),
        format!("UPDATE wp_wc_product_meta_lookup SET onsale = 0 WHERE product_id = {d3}"),
        format!("DELETE FROM wp_wc_product_meta_lookup WHERE product_id = {d4}"),
        format!("DELETE FROM wp_postmeta WHERE post_id = {parent} AND meta_key = '_price' AND meta_value = '12.00'"),
        format!("UPDATE wp_term_taxonomy SET count = count + 5 WHERE term_taxonomy_id = {tt}"),
    ] {
        shop.conn.query_drop(sql).await.unwrap();
    }
    let broken = shop.snapshot().await;
    let config = shop.config("sku\nunused\n", "");
    let report = shop.dir.path().join("doctor.csv");

    let (code, out) = doctor(&config, &["--report", report.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("products checked; 4 inconsistent, 2 SKU conflicts; the outofstock term count was wrong"), "{out}");
    common::assert_same(&broken, &shop.snapshot().await, "a doctor without --fix writes nothing");
    let r = std::fs::read_to_string(&report).unwrap();
    for row in [
        format!("update,D-1,{d1},product,_price,99,10.00,"),
        format!("update,D-2,{d2},product,_stock_status,instock,outofstock,"),
        format!("update,D-2,{d2},product,product_visibility,,outofstock,"),
        format!("update,D-3,{d3},product,wc_product_meta_lookup,min_price=25.0000 max_price=25.0000 onsale=0 stock_quantity=4 stock_status=instock,min_price=25.00 max_price=25.00 onsale=1 stock_quantity=4 stock_status=instock,"),
        format!("update,D-4,{d4},product,wc_product_meta_lookup,(no row),min_price=40.00 max_price=40.00 onsale=0 stock_quantity=2 stock_status=instock,"),
        format!("update,D-V,{parent},product,_price,10.00|11.00,10.00|11.00|12.00,variable parent follows its variations"),
        "update,,,,term_taxonomy.count,6,0,the outofstock term's count disagrees with the published products carrying it".to_string(),
    ] {
        assert!(r.lines().any(|l| l == row), "missing report row\n{row}\nin\n{r}");
    }
    assert!(r.contains("conflict,D-5,,,_sku,,,\"product"), "{r}");

    let (code, out) = doctor(&config, &["--fix"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("4 fixed, 2 SKU conflicts; the outofstock term count was wrong"), "{out}");
    assert_eq!(shop.one(d1, "_price").await.as_deref(), Some("10.00"));
    assert_eq!(shop.one(d2, "_stock_status").await.as_deref(), Some("outofstock"));
    assert!(shop.has_term(d2, tt).await);
    assert_eq!(shop.lookup(d4).await.map(|l| l.4).as_deref(), Some("instock"));
    assert_eq!(shop.lookup(d3).await.map(|l| l.2), Some(1));
    assert_eq!(shop.term_count(tt).await, 1);
    let healed = common::without_clock(&shop.snapshot().await);
    // Everything but the duplicate SKUs (which need a human) is as WooCommerce itself wrote it,
    // except the row order of re-inserted rows.
    let (code, out) = doctor(&config, &[]);
    assert_eq!(code, Some(0));
    assert!(out.contains("0 inconsistent, 2 SKU conflicts"), "a second look finds nothing new: {out}");
    assert_eq!(healed, common::without_clock(&shop.snapshot().await), "the second look wrote nothing");
    shop.drop_db().await;
}

/// The whole lookup row of a product, every column WooCommerce's `get_data_for_lookup_table()`
/// writes, as one string.
async fn whole_lookup(shop: &mut TestShop, id: u64) -> String {
    shop.scalar::<String>(&format!(
        "SELECT CONCAT_WS('|', sku, `virtual`, downloadable, COALESCE(min_price, 'NULL'), COALESCE(max_price, 'NULL'), onsale, \
         COALESCE(stock_quantity, 'NULL'), stock_status, rating_count, average_rating, total_sales, tax_status, tax_class) \
         FROM {{p}}wc_product_meta_lookup WHERE product_id = {id}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_without_a_price_gets_the_lookup_row_woocommerce_writes_and_doctor_heals_old_nulls() {
    let mut shop = TestShop::new().await;
    let priceless = |sku: &str, stock: i64| Spec { regular: None, ..Spec::simple(sku, "0", stock) };
    let ids = shop
        .insert(&[
            priceless("OLD-1", 4),
            Spec::variable("OLD-V", vec![priceless("OLD-V-S", 2), priceless("OLD-V-M", 0)]),
            Spec::simple("OLD-2", "15.00", 1),
        ])
        .await;
    let (old1, parent, small) = (ids[0], ids[1], ids[2]);
    // Created by the feed without a price ("price on request"), managed and unmanaged stock:
    let s = shop.settings("sku,name,regular_price,stock\nNEW-1,Ламинат по запросу,,5\nNEW-2,Услуга,,\n", "");
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.created, 2, "{}", shop.report());
    let new1 = shop.id_of("NEW-1").await.unwrap();
    let new2 = shop.id_of("NEW-2").await.unwrap();
    // As WooCommerce 9.9 saves a product with no price: no price rows at all, and the lookup's
    // prices 0.0000 (reset() of no `_price` rows, stored through $wpdb->replace()).
    for id in [new1, new2] {
        for key in ["_price", "_regular_price", "_sale_price"] {
            assert!(shop.meta(id, key).await.is_empty(), "{id} {key}");
        }
    }
    assert_eq!(whole_lookup(&mut shop, new1).await, "NEW-1|0|0|0.0000|0.0000|0|5|instock|0|0.00|0|taxable|");
    assert_eq!(whole_lookup(&mut shop, new2).await, "NEW-2|0|0|0.0000|0.0000|0|NULL|instock|0|0.00|0|taxable|");
    let out = shop.sync(&s).await;
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (0, 0, 2), "a second run writes nothing");

    // What earlier woosync runs left: NULL prices on priceless products, variations and a parent
    // whose variations have none.
    let config = shop.config("sku\nunused\n", "");
    let ok = common::without_clock(&shop.snapshot().await);
    let first = shop.dir.path().join("first.csv");
    let (code, out) = doctor(&config, &["--report", first.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 inconsistent"), "{}", std::fs::read_to_string(&first).unwrap_or_default());
    assert!(out.contains("0 inconsistent"), "the fixture and the created products are as WooCommerce writes them: {out}");
    shop.conn
        .query_drop(format!(
            "UPDATE wp_wc_product_meta_lookup SET min_price = NULL, max_price = NULL WHERE product_id IN ({old1}, {parent}, {small}, {new1})"
        ))
        .await
        .unwrap();
    let report = shop.dir.path().join("doctor.csv");
    let (code, out) = doctor(&config, &["--report", report.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    // The parent is not one of the products checked: its variations bring it in.
    assert!(out.contains("6 products checked; 3 inconsistent"), "{out}\n{}", std::fs::read_to_string(&report).unwrap());
    let r = std::fs::read_to_string(&report).unwrap();
    for (sku, id, qty) in [("OLD-1", old1, "4"), ("OLD-V", parent, "NULL"), ("OLD-V-S", small, "2"), ("NEW-1", new1, "5")] {
        let post_type = if sku == "OLD-V-S" { "product_variation" } else { "product" };
        let row = format!(
            "update,{sku},{id},{post_type},wc_product_meta_lookup,min_price=NULL max_price=NULL onsale=0 stock_quantity={qty} stock_status=instock,\
             min_price=0.0000 max_price=0.0000 onsale=0 stock_quantity={qty} stock_status=instock,"
        );
        assert!(r.lines().any(|l| l == row), "missing report row\n{row}\nin\n{r}");
    }
    let (code, out) = doctor(&config, &["--fix"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("3 fixed"), "{out}");
    assert_eq!(whole_lookup(&mut shop, old1).await, "OLD-1|0|0|0.0000|0.0000|0|4|instock|0|0.00|0|taxable|");
    assert_eq!(ok, common::without_clock(&shop.snapshot().await), "healed to exactly what WooCommerce would hold");
    shop.drop_db().await;
}
