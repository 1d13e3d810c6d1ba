//! Poison rows: values the shop's columns cannot hold, and rows the database refuses anyway.
//! Such a row is an `invalid` report row and the rest of the feed is written; a run that keeps
//! failing on the same data error is abandoned instead of blocking every later sync.

mod common;

use common::TestShop;
use mysql_async::prelude::*;
use woosync::error::ExitCode;
use woosync::fixture::Spec;
use woosync::run::{self, Quiet, Shutdown, SyncOptions};

const HEADER: &str = "sku,name,regular_price,stock\n";

/// The report rows of one SKU, as `action,field,message` lines.
fn rows_of(report: &str, sku: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(report.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[1] == sku)
        .map(|r| format!("{},{},{}", &r[0], &r[4], &r[7]))
        .collect()
}

#[tokio::test]
async fn values_the_columns_cannot_hold_are_invalid_rows_and_the_rest_is_written() {
    let mut shop = TestShop::new().await;
    let long_name = "Ж".repeat(40_000);
    let feed = format!("{HEADER}OK-1,Fine,10,5\nLONG-NAME,{long_name},10,5\nOK-2,Fine too,11,6\nHUGE-PRICE,Gold,1234567890123456,1\n");
    let settings = shop.settings(&feed, "");

    // A dry run already says so, and writes nothing.
    let dry = shop.try_sync(&settings, true).await.unwrap();
    assert_eq!((dry.counts.created, dry.counts.invalid), (2, 2), "{:?}", dry.counts);
    let report = shop.report();
    let long = rows_of(&report, "LONG-NAME");
    assert_eq!(long.len(), 1, "{report}");
    assert!(
        long[0].starts_with("invalid,name,") && long[0].contains("80,000 bytes long; `wp_posts.post_title` holds at most 65,535 bytes"),
        "{long:?}"
    );
    assert!(long[0].contains("feed.csv:3:2"), "the message names the cell: {long:?}");
    let huge = rows_of(&report, "HUGE-PRICE");
    assert!(huge[0].starts_with("invalid,regular_price,") && huge[0].contains("`wp_wc_product_meta_lookup.min_price` (decimal(19,4)) holds at most 15"), "{huge:?}");

    let outcome = shop.sync(&settings).await;
    assert_eq!((outcome.counts.created, outcome.counts.invalid), (2, 2), "{:?}", outcome.counts);
    assert!(shop.id_of("OK-1").await.is_some() && shop.id_of("OK-2").await.is_some());
    assert_eq!(shop.id_of("LONG-NAME").await, None);
    assert_eq!(shop.id_of("HUGE-PRICE").await, None);
    let state: String = shop.scalar("SELECT state FROM {p}woosync_runs ORDER BY id DESC LIMIT 1").await;
    assert_eq!(state, "done");
    shop.drop_db().await;
}

#[tokio::test]
async fn the_widths_come_from_the_shop_not_from_woocommerce_defaults() {
    let mut shop = TestShop::new().await;
    // A shop whose lookup SKU column was narrowed, and whose titles are utf8mb3.
    shop.conn.query_drop("ALTER TABLE wp_wc_product_meta_lookup MODIFY sku varchar(12) DEFAULT ''").await.unwrap();
    shop.conn.query_drop("ALTER TABLE wp_posts MODIFY post_title text CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci NOT NULL").await.unwrap();
    let feed = format!("{HEADER}SHORT-1,Tea,10,5\nA-VERY-LONG-SKU,Tea,10,5\nEMOJI-1,Tea 🍵,10,5\n");
    let settings = shop.settings(&feed, "");
    let outcome = shop.sync(&settings).await;
    assert_eq!((outcome.counts.created, outcome.counts.invalid), (1, 2), "{:?}", outcome.counts);
    let report = shop.report();
    let long = rows_of(&report, "A-VERY-LONG-SKU");
    assert!(long[0].contains("15 characters long; `wp_wc_product_meta_lookup.sku` holds at most 12"), "{long:?}");
    let emoji = rows_of(&report, "EMOJI-1");
    assert!(emoji[0].starts_with("invalid,name,") && emoji[0].contains("U+1F375"), "{emoji:?}");
    shop.drop_db().await;
}

/// A trigger that refuses a value the way a too-narrow column does (what validation cannot see:
/// a plugin's trigger, a table changed behind the shop's back).
async fn refuse_title(shop: &mut TestShop, title: &str) {
    shop.conn
        .query_drop(format!(
            "CREATE TRIGGER woosync_test_poison BEFORE INSERT ON wp_posts FOR EACH ROW \
             IF NEW.post_title = '{title}' THEN SIGNAL SQLSTATE '22001' SET MESSAGE_TEXT = 'Data too long for column post_title', MYSQL_ERRNO = 1406; END IF"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_row_the_database_refuses_is_found_and_the_rest_of_its_chunk_commits() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("OLD-1", "10", 5), Spec::simple("OLD-2", "10", 5)]).await;
    refuse_title(&mut shop, "POISON").await;
    let mut feed = String::from(HEADER);
    for i in 1..=40 {
        let name = if i == 23 { "POISON".to_string() } else { format!("Tea {i}") };
        feed.push_str(&format!("NEW-{i},{name},{i},3\n"));
    }
    feed.push_str("OLD-1,x,12,5\nOLD-2,x,10,7\n");
    let settings = shop.settings(&feed, "[sync]\nchunk_size = 100\nchunk_target_ms = 0\n");

    let outcome = shop.sync(&settings).await;
    assert_eq!((outcome.counts.created, outcome.counts.updated, outcome.counts.invalid), (39, 2, 1), "{:?}", outcome.counts);
    let poison = rows_of(&shop.report(), "NEW-23");
    assert_eq!(poison.len(), 1, "{poison:?}");
    assert!(poison[0].starts_with("invalid,row,the database refused to write this row") && poison[0].contains("ERROR 1406 (22001)"), "{poison:?}");
    assert_eq!(shop.id_of("NEW-23").await, None);
    assert!(shop.id_of("NEW-22").await.is_some() && shop.id_of("NEW-24").await.is_some());
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("12"));
    assert_eq!(shop.one(ids[1], "_stock").await.as_deref(), Some("7"));
    let (state, chunks, invalid): (String, u64, u64) = shop.scalar("SELECT state, chunks_done, invalid FROM {p}woosync_runs ORDER BY id DESC LIMIT 1").await;
    assert_eq!((state.as_str(), invalid), ("done", 1));
    assert!(chunks > 1, "the refused chunk was committed in parts: {chunks} chunks");

    // The next run finds everything else unchanged and the row still refused; nothing doubles.
    let again = shop.sync(&settings).await;
    assert_eq!((again.counts.created, again.counts.updated, again.counts.unchanged, again.counts.invalid), (0, 0, 41, 1), "{:?}", again.counts);
    let products: u64 = shop.scalar("SELECT COUNT(*) FROM {p}posts WHERE post_type = 'product'").await;
    assert_eq!(products, 41);
    shop.drop_db().await;
}

async fn state_of(shop: &mut TestShop, run: u64) -> (String, String) {
    let (state, error): (String, Option<String>) = shop.scalar(&format!("SELECT state, error FROM {{p}}woosync_runs WHERE id = {run}")).await;
    (state, error.unwrap_or_default())
}

#[tokio::test]
async fn a_run_that_fails_again_on_the_same_data_error_is_abandoned_and_a_person_can_abandon_or_start_fresh() {
    let mut shop = TestShop::new().await;
    woosync::journal::ensure_tables(&mut shop.conn, "wp_").await.unwrap();
    // Refuses every checkpoint: no row of the feed is to blame.
    shop.conn
        .query_drop(
            "CREATE TRIGGER woosync_test_broken BEFORE INSERT ON wp_woosync_chunks FOR EACH ROW \
             SIGNAL SQLSTATE '22003' SET MESSAGE_TEXT = 'Out of range value for column products', MYSQL_ERRNO = 1264",
        )
        .await
        .unwrap();
    let settings = shop.settings(&format!("{HEADER}A-1,Tea,10,5\nA-2,Coffee,11,5\n"), "");
    let sync = |fresh: bool| {
        let settings = settings.clone();
        async move { run::sync(&settings, SyncOptions { dry_run: false, report: None, force: false, fresh }, &Shutdown::default(), &Quiet).await }
    };

    let first = sync(false).await.unwrap_err();
    assert_eq!(first.exit_code(), ExitCode::Database);
    assert!(first.to_string().contains("bookkeeping alone is refused too"), "{first}");
    assert_eq!(state_of(&mut shop, 1).await.0, "interrupted");

    // The next sync resumes run 1, meets the same error, abandons it and starts afresh (run 2,
    // which fails the same way while the trigger is there).
    let second = sync(false).await.unwrap_err();
    assert!(second.to_string().contains("run 2 stopped"), "{second}");
    let (state, why) = state_of(&mut shop, 1).await;
    assert_eq!(state, "abandoned");
    assert!(why.contains("failed again with the database error it had stopped on") && why.contains("ERROR 1264 (22003)"), "{why}");
    let frozen: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_input WHERE run_id = 1").await;
    assert_eq!(frozen, 0, "an abandoned run's frozen input goes");

    // A person gives up on run 2.
    let told = run::abandon(&settings, 2).await.unwrap();
    assert!(told.starts_with("run 2 abandoned"), "{told}");
    assert_eq!(state_of(&mut shop, 2).await, ("abandoned".to_string(), "abandoned by `woosync resume --abandon`".to_string()));
    let refused = run::abandon(&settings, 2).await.unwrap_err();
    assert_eq!(refused.exit_code(), ExitCode::ResumeRefused);
    assert!(refused.to_string().contains("run 2 is abandoned; only an unfinished run can be abandoned"), "{refused}");

    // Run 3 stops; the table is mended; `sync --fresh` abandons run 3 unresumed and syncs.
    sync(false).await.unwrap_err();
    shop.conn.query_drop("DROP TRIGGER woosync_test_broken").await.unwrap();
    let outcomes = sync(true).await.unwrap();
    assert_eq!(outcomes.len(), 1, "nothing was resumed");
    assert_eq!(outcomes[0].counts.created, 2);
    assert_eq!(state_of(&mut shop, 3).await, ("abandoned".to_string(), "`woosync sync --fresh` was asked for".to_string()));
    assert_eq!(state_of(&mut shop, 4).await.0, "done");
    assert!(run::abandon(&settings, 4).await.unwrap_err().to_string().contains("run 4 is done"));
    assert!(run::abandon(&settings, 99).await.unwrap_err().to_string().contains("there is no run 99"));
    shop.drop_db().await;
}
