//! Orders placed while a run is between reading the shop and writing a chunk. The run plans
//! against its snapshot and applies with compare-and-set: inside the chunk's transaction the
//! products' rows are locked and compared, and what an order changed meanwhile is planned again
//! from the rows as they are, so the lookup row, stock status, `outofstock` term and counts end
//! as WooCommerce itself would hold them after both writes. The orders are placed through SQL
//! the way WooCommerce places them, while the run waits on its pause file before its chunk.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestShop;
use mysql_async::prelude::*;
use mysql_async::{Conn, TxOpts};
use woosync::fixture::Spec;
use woosync::run::{self, Observer, Progress, Quiet, Shutdown, SyncOptions};

const OUTOFSTOCK_TT: u64 = 9;

/// Notices when the run holds before a chunk because of the pause file.
#[derive(Default)]
struct Paused(Arc<AtomicBool>);

impl Observer for Paused {
    fn progress(&self, p: Progress) {
        if p.phase == run::PAUSED {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

/// One order line as WooCommerce places it (`wc_update_product_stock`): the stock decremented
/// under a row lock, the lookup row's `stock_quantity`; at zero the stock status, the lookup's
/// status and the `outofstock` term (counted for published products); then a variation's parent
/// takes its stock status from its variations.
async fn order(conn: &mut Conn, id: u64, qty: i64) {
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    tx.exec_drop("UPDATE wp_postmeta SET meta_value = meta_value - ? WHERE post_id = ? AND meta_key = '_stock'", (qty, id)).await.unwrap();
    let stock: String = tx.exec_first("SELECT meta_value FROM wp_postmeta WHERE post_id = ? AND meta_key = '_stock'", (id,)).await.unwrap().unwrap();
    tx.exec_drop("UPDATE wp_wc_product_meta_lookup SET stock_quantity = ? WHERE product_id = ?", (&stock, id)).await.unwrap();
    if stock.parse::<i64>().unwrap() <= 0 {
        set_status(&mut tx, id, "outofstock").await;
    }
    let parent: u64 = tx.exec_first("SELECT post_parent FROM wp_posts WHERE ID = ?", (id,)).await.unwrap().unwrap();
    if parent != 0 {
        let statuses: Vec<String> = tx
            .exec("SELECT m.meta_value FROM wp_posts p JOIN wp_postmeta m ON m.post_id = p.ID AND m.meta_key = '_stock_status' WHERE p.post_parent = ?", (parent,))
            .await
            .unwrap();
        let status = if statuses.iter().any(|s| s == "instock") {
            "instock"
        } else if statuses.iter().any(|s| s == "onbackorder") {
            "onbackorder"
        } else {
            "outofstock"
        };
        set_status(&mut tx, parent, status).await;
    }
    tx.commit().await.unwrap();
}

/// A product's stock status as WooCommerce saves it: meta, lookup row, `outofstock` term and count.
async fn set_status(tx: &mut mysql_async::Transaction<'_>, id: u64, status: &str) {
    let was: String = tx.exec_first("SELECT meta_value FROM wp_postmeta WHERE post_id = ? AND meta_key = '_stock_status'", (id,)).await.unwrap().unwrap();
    if was == status {
        return;
    }
    tx.exec_drop("UPDATE wp_postmeta SET meta_value = ? WHERE post_id = ? AND meta_key = '_stock_status'", (status, id)).await.unwrap();
    tx.exec_drop("UPDATE wp_wc_product_meta_lookup SET stock_status = ? WHERE product_id = ?", (status, id)).await.unwrap();
    let published: Option<u64> = tx.exec_first("SELECT 1 FROM wp_posts WHERE ID = ? AND post_status = 'publish'", (id,)).await.unwrap();
    let delta = published.unwrap_or(0) as i64;
    if status == "outofstock" {
        tx.exec_drop("INSERT INTO wp_term_relationships (object_id, term_taxonomy_id, term_order) VALUES (?, ?, 0)", (id, OUTOFSTOCK_TT)).await.unwrap();
        tx.exec_drop("UPDATE wp_term_taxonomy SET count = count + ? WHERE term_taxonomy_id = ?", (delta, OUTOFSTOCK_TT)).await.unwrap();
    } else if was == "outofstock" {
        tx.exec_drop("DELETE FROM wp_term_relationships WHERE object_id = ? AND term_taxonomy_id = ?", (id, OUTOFSTOCK_TT)).await.unwrap();
        tx.exec_drop("UPDATE wp_term_taxonomy SET count = count - ? WHERE term_taxonomy_id = ?", (delta, OUTOFSTOCK_TT)).await.unwrap();
    }
}

type Lookup = (Option<String>, Option<String>, i64, Option<f64>, String);

fn lookup(min: &str, max: &str, qty: Option<f64>, status: &str) -> Option<Lookup> {
    Some((Some(min.into()), Some(max.into()), 0, qty, status.into()))
}

/// What a product holds at the end: `_price` rows, `_stock`, `_stock_status`, the lookup row
/// and whether it carries the `outofstock` term.
async fn state(shop: &mut TestShop, id: u64) -> (Vec<Option<String>>, Option<String>, Option<String>, Option<Lookup>, bool) {
    (
        shop.meta(id, "_price").await,
        shop.one(id, "_stock").await,
        shop.one(id, "_stock_status").await,
        shop.lookup(id).await,
        shop.has_term(id, OUTOFSTOCK_TT).await,
    )
}

fn prices(p: &[&str]) -> Vec<Option<String>> {
    p.iter().map(|v| Some(v.to_string())).collect()
}

#[tokio::test]
async fn orders_placed_while_a_run_waits_end_as_woocommerce_would_hold_them() {
    let mut shop = TestShop::new().await;
    let ids = shop
        .insert(&[
            Spec::simple("A", "10", 70), // the feed changes the price only
            Spec::simple("B", "10", 70), // the stock only
            Spec::simple("C", "10", 70), // both
            Spec::simple("D", "10", 1),  // the price; an order sells it out
            Spec::simple("E", "10", 1),  // the stock; sold out meanwhile, back in stock by the feed
            Spec::variable("F", vec![Spec::simple("F-1", "10", 1), Spec::simple("F-2", "20", 0)]),
            Spec::simple("G", "10", 70), // the feed changes nothing
        ])
        .await;
    let (a, b, c, d, e, f, f1, f2, g) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8]);
    let feed = "sku,regular_price,stock\nA,12,\nB,10,50\nC,15,60\nD,11,\nE,10,10\nF-1,12,\nG,10,70\n";
    let pause = shop.dir.path().join("woosync.pause");
    std::fs::write(&pause, "").unwrap();
    let settings = shop.settings(feed, "[sync]\nchunk_size = 100\nchunk_target_ms = 0\npause_file = \"woosync.pause\"\n[guard]\nmax_price_change_percent = 100\n");

    let paused = Paused::default();
    let seen = paused.0.clone();
    let report = shop.report_path();
    let run = tokio::spawn(async move {
        run::sync(&settings, SyncOptions { dry_run: false, report: Some(&report), force: false, fresh: false }, &Shutdown::default(), &paused).await
    });
    let waiting = Instant::now();
    while !seen.load(Ordering::SeqCst) {
        assert!(waiting.elapsed() < Duration::from_secs(30), "the run never reached its pause before the chunk");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for id in [a, b, c, d, e, f1, g] {
        order(&mut shop.conn, id, 1).await;
    }
    std::fs::remove_file(&pause).unwrap();
    let outcome = run.await.unwrap().unwrap().pop().unwrap();
    assert_eq!((outcome.counts.updated, outcome.counts.unchanged), (6, 1), "{:?}", outcome.counts);

    let s = |v: &str| Some(v.to_string());
    // The price from the feed, the stock as the order left it, and the lookup row with both.
    assert_eq!(state(&mut shop, a).await, (prices(&["12"]), s("69"), s("instock"), lookup("12.0000", "12.0000", Some(69.0), "instock"), false));
    // The feed's stock wins (the ERP is the truth for the stock it sends).
    assert_eq!(state(&mut shop, b).await, (prices(&["10"]), s("50"), s("instock"), lookup("10.0000", "10.0000", Some(50.0), "instock"), false));
    assert_eq!(state(&mut shop, c).await, (prices(&["15"]), s("60"), s("instock"), lookup("15.0000", "15.0000", Some(60.0), "instock"), false));
    // Sold out by the order: the new price, and still out of stock everywhere.
    assert_eq!(state(&mut shop, d).await, (prices(&["11"]), s("0"), s("outofstock"), lookup("11.0000", "11.0000", Some(0.0), "outofstock"), true));
    // Sold out by the order, back in stock by the feed: the term goes again.
    assert_eq!(state(&mut shop, e).await, (prices(&["10"]), s("10"), s("instock"), lookup("10.0000", "10.0000", Some(10.0), "instock"), false));
    // A variation sold out by the order, its price from the feed; the parent follows both.
    assert_eq!(state(&mut shop, f1).await, (prices(&["12"]), s("0"), s("outofstock"), lookup("12.0000", "12.0000", Some(0.0), "outofstock"), true));
    assert_eq!(state(&mut shop, f2).await.4, true);
    assert_eq!(state(&mut shop, f).await, (prices(&["12", "20"]), None, s("outofstock"), lookup("12.0000", "20.0000", None, "outofstock"), true));
    // Nothing changed by the feed: nothing written, the order's stock stands.
    assert_eq!(state(&mut shop, g).await, (prices(&["10"]), s("69"), s("instock"), lookup("10.0000", "10.0000", Some(69.0), "instock"), false));

    // The term count is the published products carrying the term: D, F-1, F-2 and F.
    let carrying: i64 = shop
        .scalar("SELECT COUNT(*) FROM {p}term_relationships tr JOIN {p}posts p ON p.ID = tr.object_id WHERE tr.term_taxonomy_id = 9 AND p.post_status = 'publish'")
        .await;
    assert_eq!((shop.term_count(OUTOFSTOCK_TT).await, carrying), (4, 4));

    // The report tells the race for each product an order moved.
    let report = shop.report();
    for (sku, field) in [("A", "_regular_price"), ("B", "_stock"), ("C", "_stock"), ("D", "_price"), ("E", "_stock"), ("F-1", "_price")] {
        let line = report.lines().find(|l| l.starts_with(&format!("update,{sku},")) && l.contains(&format!(",{field},"))).unwrap_or_else(|| panic!("no {sku} {field} row in\n{report}"));
        assert!(line.contains("after the run read it (an order?)"), "{line}");
    }
    assert!(report.contains("update,B,") && report.contains(",_stock,69,50,"), "the stock row's old value is the stock at commit:\n{report}");

    // WooCommerce's own rules hold everywhere: the doctor finds nothing to mend.
    let settings = shop.settings(feed, "");
    let (checked, count_wrong) = run::doctor(&settings, false, None, &Shutdown::default(), &Quiet).await.unwrap();
    assert_eq!((checked.counts.updated, checked.counts.conflict, count_wrong), (0, 0, false), "{:?}", checked.counts);
    shop.drop_db().await;
}

#[tokio::test]
async fn a_locked_read_of_unchanged_products_prints_as_the_run_read_them() {
    // Otherwise every chunk would plan everything again (right, but slow and noisy).
    let mut shop = TestShop::new().await;
    let ids = shop
        .insert(&[
            Spec::simple("S", "10", 3).sale("8"),
            Spec::simple("Z", "5", 0),
            Spec::simple("K", "5", 2).backorders("notify").status("private"),
            Spec::variable("V", vec![Spec::simple("V-1", "10", 1), Spec::simple("V-2", "20", 0)]),
        ])
        .await;
    // A shop large enough for the server to find a product's rows by post_id, as on a real one.
    let more: Vec<Spec> = (0..300).map(|i| Spec::simple(&format!("P-{i:03}"), "5", 9)).collect();
    let others = shop.insert(&more).await;
    let settings = shop.settings("sku,stock\nS,3\n", "");
    let mut conn = woosync::catalog::connect(&settings).await.unwrap();
    let found = woosync::catalog::Shop::inspect(&mut conn, &settings, true).await.unwrap();
    let snapshot = woosync::catalog::Catalog::load(&mut conn, &settings, &found, false, false, Default::default()).await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    let locked = woosync::catalog::Catalog::load_locked(&mut tx, &found, &ids, settings.external_id_meta).await.unwrap();
    let rows: Vec<u64> = ids.iter().flat_map(|&id| snapshot.stock_rows(id)).collect();
    let printed = woosync::catalog::Catalog::load_stock_rows(&mut tx, &found, &ids, &rows).await.unwrap();
    for &id in &ids {
        assert!(snapshot.stock_print(id).is_some());
        assert_eq!(snapshot.stock_print(id), locked.stock_print(id), "product {id}, read whole");
        assert_eq!(snapshot.stock_print(id), printed.stock_print(id), "product {id}, its printed rows");
    }
    // Only these products are locked: an order for another one goes through at once.
    tx.rollback().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    let mut other = Conn::new(mysql_async::Opts::from_url(&shop.url).unwrap()).await.unwrap();
    let _ = woosync::catalog::Catalog::load_locked(&mut tx, &found, &ids[..1], settings.external_id_meta).await.unwrap();
    other.query_drop("SET SESSION innodb_lock_wait_timeout = 1").await.unwrap();
    other
        .exec_drop("UPDATE wp_postmeta SET meta_value = meta_value - 1 WHERE post_id = ? AND meta_key = '_stock'", (others[150],))
        .await
        .expect("another product's stock row is not locked by a chunk's locking read");
    drop(other);
    // And a change shows.
    tx.exec_drop("UPDATE wp_postmeta SET meta_value = '4' WHERE post_id = ? AND meta_key = '_stock'", (ids[0],)).await.unwrap();
    let changed = woosync::catalog::Catalog::load_locked(&mut tx, &found, &ids[..1], settings.external_id_meta).await.unwrap();
    assert_ne!(snapshot.stock_print(ids[0]), changed.stock_print(ids[0]));
    tx.rollback().await.unwrap();
    drop(conn);
    shop.drop_db().await;
}
