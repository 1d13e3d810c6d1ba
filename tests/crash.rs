//! Crash-proof resume, proven: a shop of 20,000 products (1 in 50 variable with three variations)
//! and a feed that changes half of them (prices, stock to zero and back, variations) and creates
//! 200 more. The real binary is killed with SIGKILL at 22 moments — while the input is being
//! frozen, before the first chunk, inside chunks (before and after their last statement), between
//! chunks, during finalisation — each time on a fresh copy of the same shop; then `woosync resume`
//! (or the next `sync`) finishes the job. Every time the shop ends up the same as after one
//! uninterrupted run, and every product was written exactly once.
//!
//! "The same" ignores what legitimately differs: clock values (modified dates, cache versions) and
//! surrogate keys (a rolled-back insert consumes AUTO_INCREMENT values), so rows are compared by
//! SKU, meta key and value.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use common::TestShop;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use woosync::fixture::{self, Spec};

const PRODUCTS: usize = 20_000;
const CONFIG: &str = "[sync]\nchunk_size = 1000\nchunk_target_ms = 0\n[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n";

fn price(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn specs() -> Vec<Spec> {
    (0..PRODUCTS)
        .map(|i| {
            if i % 50 == 49 {
                Spec::variable(&format!("C-{i:05}"), (0..3).map(|v| Spec::simple(&format!("C-{i:05}-{v}"), &price(1500 + v * 100), 5)).collect())
            } else {
                Spec::simple(&format!("C-{i:05}"), &price(1000 + (i as u64 % 900)), (i % 7) as i64)
            }
        })
        .collect()
}

/// Half the catalogue changes: new prices, stock to 0 or back; sales on some; 200 new products.
fn feed() -> String {
    let mut out = String::from("sku,name,regular_price,sale_price,stock\n");
    for i in 0..PRODUCTS {
        let skus: Vec<String> = if i % 50 == 49 { (0..3).map(|v| format!("C-{i:05}-{v}")).collect() } else { vec![format!("C-{i:05}")] };
        // Half the simple products, and the variations of every other variable product.
        let changed = if i % 50 == 49 { (i / 50) % 2 == 0 } else { i % 2 == 0 };
        for sku in skus {
            if changed {
                let sale = if i % 6 == 0 { price(500 + i as u64 % 400) } else { String::new() };
                out.push_str(&format!("{sku},,{},{sale},{}\n", price(1100 + (i as u64 % 900)), (i % 5) as i64));
            } else {
                out.push_str(&format!("{sku},,,,\n"));
            }
        }
    }
    for n in 0..200 {
        out.push_str(&format!("NEW-{n:03},Новый товар {n},{},,{}\n", price(2000 + n), n % 3));
    }
    out
}

fn woosync(dir: &std::path::Path, url: &str, args: &[&str], crash_at: Option<&str>) -> std::process::ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_woosync"));
    cmd.args(args).arg("--config").arg(dir.join("woosync.toml")).env("WOOSYNC_DATABASE_URL", url).env("WOOSYNC_LOG", "warn");
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    if let Some(point) = crash_at {
        cmd.env("WOOSYNC_CRASH_AT", point);
    }
    cmd.status().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_any_moment_the_run_resumes_to_the_same_shop() {
    let template_shop = TestShop::new().await;
    let template = template_shop.db.clone();
    let mut conn = Conn::new(Opts::from_url(&template_shop.url).unwrap()).await.unwrap();
    let specs = specs();
    let mut next = 100u64;
    for batch in specs.chunks(2000) {
        let ids = fixture::insert_bulk(&mut conn, "wp_", batch, next).await.unwrap();
        next = ids.last().unwrap() + 1;
    }
    fixture::recount(&mut conn, "wp_").await.unwrap();
    // Caches a live shop has: every one of them must be gone after the run, crash or not.
    conn.query_drop(
        "INSERT INTO wp_options (option_name, option_value, autoload) SELECT CONCAT('_transient_wc_var_prices_', ID), 'cached', 'off' \
         FROM wp_posts WHERE post_type = 'product' AND ID IN (SELECT post_parent FROM wp_posts WHERE post_type = 'product_variation')",
    )
    .await
    .unwrap();
    drop(conn);
    let dir = template_shop.dir.path().to_path_buf();
    std::fs::write(dir.join("feed.csv"), feed()).unwrap();
    std::fs::write(dir.join("woosync.toml"), format!("[database]\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n{CONFIG}")).unwrap();
    let mut admin = Conn::new(Opts::from_url(&common::server_url()).unwrap()).await.unwrap();

    // The reference: one uninterrupted run.
    let (ref_db, ref_url) = common::copy_of(&common::server_url(), &template, &mut admin, "crash_0").await;
    assert!(woosync(&dir, &ref_url, &["sync"], None).success());
    let mut reference_conn = Conn::new(Opts::from_url(&ref_url).unwrap()).await.unwrap();
    let expected = common::logical(&mut reference_conn).await;
    let (expected_written, expected_chunks) = common::written_by_last_run(&mut reference_conn).await;
    assert!(expected_chunks >= 10, "the run should span many chunks, not {expected_chunks}");
    let stale: i64 = reference_conn.query_first("SELECT COUNT(*) FROM wp_options WHERE option_value = 'cached'").await.unwrap().unwrap();
    assert_eq!(stale, (PRODUCTS / 50 / 2) as i64, "the cached variation prices of every touched parent, and only those, are gone");
    drop(reference_conn);
    admin.query_drop(format!("DROP DATABASE `{ref_db}`")).await.unwrap();

    let last = expected_chunks;
    let moments: Vec<(String, &str)> = vec![
        ("frozen-block-1".into(), "sync"),
        ("frozen".into(), "resume"),
        ("before-chunks".into(), "resume"),
        ("chunk-1-mid".into(), "resume"),
        ("chunk-1-end".into(), "resume"),
        ("chunk-1-committed".into(), "resume"),
        ("chunk-2-mid".into(), "sync"),
        ("chunk-2-committed".into(), "resume"),
        ("chunk-4-mid".into(), "resume"),
        ("chunk-4-end".into(), "resume"),
        ("chunk-4-committed".into(), "sync"),
        ("chunk-7-mid".into(), "resume"),
        ("chunk-7-committed".into(), "resume"),
        (format!("chunk-{}-mid", last - 1), "resume"),
        (format!("chunk-{}-committed", last - 1), "resume"),
        (format!("chunk-{last}-mid"), "resume"),
        (format!("chunk-{last}-end"), "resume"),
        (format!("chunk-{last}-committed"), "resume"),
        ("finalise-1".into(), "resume"),
        ("finalise-2".into(), "sync"),
        ("finalise-3".into(), "resume"),
        ("before-done".into(), "resume"),
    ];
    assert!(moments.len() >= 20);
    let mut failures = Vec::new();
    for (n, (point, then)) in moments.iter().enumerate() {
        let (db, url) = common::copy_of(&common::server_url(), &template, &mut admin, &format!("crash_{}", n + 1)).await;
        let killed = woosync(&dir, &url, &["sync"], Some(point));
        assert_eq!(killed.signal(), Some(9), "{point}: the run was not killed there ({killed:?})");
        if point.starts_with("frozen-block") {
            // Input only partly frozen: resume refuses, and the next sync starts afresh.
            assert_eq!(woosync(&dir, &url, &["resume"], None).code(), Some(7), "{point}");
        }
        let finished = woosync(&dir, &url, &[then], None);
        let mut conn = Conn::new(Opts::from_url(&url).unwrap()).await.unwrap();
        let actual = common::logical(&mut conn).await;
        let (written, _) = common::written_by_last_run(&mut conn).await;
        let running: i64 = conn.query_first("SELECT COUNT(*) FROM wp_woosync_runs WHERE state IN ('running','interrupted')").await.unwrap().unwrap();
        if !finished.success() {
            failures.push(format!("{point}: `{then}` after the crash exited with {finished:?}"));
        } else if actual != expected {
            let diff: Vec<String> = expected
                .lines()
                .zip(actual.lines())
                .filter(|(a, b)| a != b)
                .take(5)
                .map(|(a, b)| format!("  expected {a}\n  found    {b}"))
                .collect();
            failures.push(format!("{point}: the shop differs from the uninterrupted run:\n{}", diff.join("\n")));
        } else if written != expected_written {
            failures.push(format!("{point}: {written} products written over the run's chunks, expected {expected_written} (applied twice or lost)"));
        } else if running != 0 {
            failures.push(format!("{point}: {running} runs left unfinished"));
        }
        drop(conn);
        admin.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
    }
    template_shop.drop_db().await;
    assert!(failures.is_empty(), "{} of {} crash moments failed:\n{}", failures.len(), moments.len(), failures.join("\n"));
}
