//! Live-shop politeness against a real MariaDB: chunks sized from their measured time, the stop
//! and pause files, a pause between chunks, and waiting while the server is busy.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::TestShop;
use mysql_async::prelude::*;
use woosync::config::Settings;
use woosync::run::{self, Observer, Progress, Shutdown, SyncOptions};
use woosync::fixture::Spec;

/// A shop of `n` simple products and a feed that changes the stock of every one.
async fn shop_and_feed(n: usize) -> (TestShop, String) {
    let mut shop = TestShop::new().await;
    let specs: Vec<Spec> = (0..n).map(|i| Spec::simple(&format!("P-{i:03}"), "10", 5)).collect();
    shop.insert(&specs).await;
    let mut feed = String::from("sku,stock\n");
    for i in 0..n {
        feed.push_str(&format!("P-{i:03},{}\n", 6 + i % 3));
    }
    (shop, feed)
}

const GUARD_OFF: &str = "[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n";

/// Chunk sizes in commit order.
async fn chunk_sizes(shop: &mut TestShop) -> Vec<i64> {
    shop.conn.query("SELECT products FROM wp_woosync_chunks ORDER BY run_id, chunk_no").await.unwrap()
}

async fn all_synced(shop: &mut TestShop, n: usize) -> bool {
    let done: i64 = shop
        .scalar(&format!("SELECT COUNT(*) FROM {{p}}postmeta WHERE meta_key = '_stock' AND meta_value IN ('6','7','8') AND post_id IN (SELECT post_id FROM {{p}}postmeta WHERE meta_key = '_sku' AND meta_value LIKE 'P-%') LIMIT {n}"))
        .await;
    done as usize == n
}

/// Does something when a chunk commits, and remembers the progress phases it saw.
struct Watch {
    on_chunk: Box<dyn Fn(u32) + Send + Sync>,
    phases: Mutex<Vec<&'static str>>,
}

impl Observer for Watch {
    fn progress(&self, p: Progress) {
        let mut phases = self.phases.lock().unwrap();
        if phases.last() != Some(&p.phase) {
            phases.push(p.phase);
        }
    }
    fn chunk_committed(&self, _run: u64, chunk_no: u32, _more: usize, _attempts: u32) {
        (self.on_chunk)(chunk_no)
    }
}

async fn sync_with(settings: &Settings, watch: &Watch) -> woosync::error::Result<Vec<run::Outcome>> {
    run::sync(settings, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), watch).await
}

#[tokio::test]
async fn chunks_shrink_towards_a_short_target_and_grow_towards_a_long_one() {
    let (mut shop, feed) = shop_and_feed(120).await;
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 48\nchunk_target_ms = 1\nchunk_min = 3\n{GUARD_OFF}"));
    shop.sync(&s).await;
    let sizes = chunk_sizes(&mut shop).await;
    assert_eq!(&sizes[..2], &[48, 24], "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[1] <= w[0]), "never growing past a 1 ms target: {sizes:?}");
    assert_eq!(sizes[sizes.len() - 2], 3, "down to chunk_min: {sizes:?}");
    assert!(all_synced(&mut shop, 120).await);
    shop.drop_db().await;

    let (mut shop, feed) = shop_and_feed(60).await;
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 2\nchunk_target_ms = 60000\nchunk_min = 1\nchunk_max = 16\n{GUARD_OFF}"));
    shop.sync(&s).await;
    assert_eq!(chunk_sizes(&mut shop).await, vec![2, 4, 8, 16, 16, 14], "doubling up to chunk_max");
    shop.drop_db().await;
}

#[tokio::test]
async fn the_stop_file_ends_the_run_after_the_current_chunk_and_resume_finishes_it() {
    let (mut shop, feed) = shop_and_feed(40).await;
    let stop: PathBuf = shop.dir.path().join("woosync.stop");
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\nstop_file = \"woosync.stop\"\n{GUARD_OFF}"));
    let file = stop.clone();
    let watch = Watch { on_chunk: Box::new(move |n| if n == 2 { std::fs::write(&file, "").unwrap() }), phases: Mutex::default() };
    let err = sync_with(&s, &watch).await.unwrap_err();
    assert_eq!(err.exit_code() as i32, 6, "{err}");
    assert!(err.to_string().contains("the stop file") && err.to_string().contains("after 2 chunks"), "{err}");
    assert_eq!(chunk_sizes(&mut shop).await, vec![10, 10]);
    assert!(!all_synced(&mut shop, 40).await);

    // While the file is there a new sync stops before writing anything.
    assert_eq!(shop.try_sync(&s, false).await.unwrap_err().exit_code() as i32, 6);
    assert_eq!(chunk_sizes(&mut shop).await, vec![10, 10]);
    std::fs::remove_file(&stop).unwrap();
    shop.sync(&s).await;
    assert!(all_synced(&mut shop, 40).await);
    let applied: i64 = shop.scalar("SELECT COALESCE(SUM(products), 0) FROM {p}woosync_chunks").await;
    assert_eq!(applied, 40, "every product written exactly once across the runs");
    shop.drop_db().await;
}

#[tokio::test]
async fn the_pause_file_holds_writes_until_it_is_removed() {
    let (mut shop, feed) = shop_and_feed(30).await;
    let pause = shop.dir.path().join("woosync.pause");
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\npause_file = \"woosync.pause\"\n{GUARD_OFF}"));
    let file = pause.clone();
    let removed = std::sync::Arc::new(AtomicBool::new(false));
    let flag = removed.clone();
    let watch = Watch {
        on_chunk: Box::new(move |n| {
            if n == 1 {
                std::fs::write(&file, "").unwrap();
                let (file, flag) = (file.clone(), flag.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(1500));
                    flag.store(true, Ordering::SeqCst);
                    std::fs::remove_file(&file).unwrap();
                });
            } else {
                assert!(flag.load(Ordering::SeqCst), "chunk {n} was written while the pause file was there");
            }
        }),
        phases: Mutex::default(),
    };
    let started = Instant::now();
    sync_with(&s, &watch).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1400), "{:?}", started.elapsed());
    assert!(watch.phases.lock().unwrap().contains(&run::PAUSED), "{:?}", watch.phases.lock().unwrap());
    assert!(all_synced(&mut shop, 30).await);
    assert!(removed.load(Ordering::SeqCst));
    shop.drop_db().await;
}

#[tokio::test]
async fn a_pause_between_chunks_spaces_them_out() {
    let (mut shop, feed) = shop_and_feed(40).await;
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\npause_between_chunks_ms = 300\n{GUARD_OFF}"));
    let started = Instant::now();
    shop.sync(&s).await;
    assert!(started.elapsed() >= Duration::from_millis(900), "three pauses between four chunks: {:?}", started.elapsed());
    assert_eq!(chunk_sizes(&mut shop).await, vec![10, 10, 10, 10]);
    shop.drop_db().await;
}

#[tokio::test]
async fn writes_wait_while_the_server_runs_more_threads_than_allowed() {
    let (mut shop, feed) = shop_and_feed(20).await;
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\nmax_threads_running = 2\n{GUARD_OFF}"));
    // Three other sessions keep the server busy for two seconds.
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(&shop.url).unwrap()).await.unwrap();
        busy.push(tokio::spawn(async move {
            let _: Option<i64> = conn.query_first("SELECT SLEEP(2)").await.unwrap();
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let watch = Watch { on_chunk: Box::new(|_| {}), phases: Mutex::default() };
    let started = Instant::now();
    sync_with(&s, &watch).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1200), "{:?}", started.elapsed());
    assert!(watch.phases.lock().unwrap().contains(&run::WAITING_FOR_SERVER), "{:?}", watch.phases.lock().unwrap());
    for b in busy {
        b.await.unwrap();
    }
    assert!(all_synced(&mut shop, 20).await);
    shop.drop_db().await;
}

/// Chunk attempts as the writer reports them.
struct Attempts(Mutex<Vec<(u32, u32)>>);

impl Observer for Attempts {
    fn chunk_committed(&self, _run: u64, chunk_no: u32, _more: usize, attempts: u32) {
        self.0.lock().unwrap().push((chunk_no, attempts));
    }
}

#[tokio::test]
async fn a_connection_killed_mid_chunk_is_reconnected_and_the_chunk_applied_once() {
    let (mut reference, feed) = shop_and_feed(30).await;
    let s = reference.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\n{GUARD_OFF}"));
    reference.sync(&s).await;
    let expected = common::without_clock(&reference.snapshot().await);
    reference.drop_db().await;

    let (mut shop, feed) = shop_and_feed(30).await;
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\nlock_wait_timeout_secs = 30\n{GUARD_OFF}"));
    // Another session holds a row of a product in the second chunk, so that chunk waits...
    let mut holder = mysql_async::Conn::new(mysql_async::Opts::from_url(&shop.url).unwrap()).await.unwrap();
    holder.query_drop("BEGIN").await.unwrap();
    let _: Vec<u64> = holder
        .query("SELECT meta_id FROM wp_postmeta WHERE post_id = (SELECT post_id FROM wp_postmeta WHERE meta_key = '_sku' AND meta_value = 'P-015') FOR UPDATE")
        .await
        .unwrap();
    let holder_id = holder.id();
    let url = shop.url.clone();
    let db = shop.db.clone();
    // ...and while it waits (on its locking read of the chunk's rows, or on a write), its connection is killed from a third session; then the row is let go.
    let killer = tokio::spawn(async move {
        let mut admin = mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap()).await.unwrap();
        for _ in 0..200 {
            let waiting: Option<u64> = admin
                .exec_first(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> ? AND ID <> CONNECTION_ID() \
                     AND (INFO LIKE 'UPDATE%postmeta%' OR INFO LIKE 'SELECT%postmeta%FOR UPDATE') AND TIME >= 1",
                    (&db, holder_id),
                )
                .await
                .unwrap();
            if let Some(id) = waiting {
                admin.query_drop(format!("KILL CONNECTION {id}")).await.unwrap();
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    let attempts = Attempts(Mutex::default());
    let release = tokio::spawn(async move {
        let killed = killer.await.unwrap();
        holder.query_drop("ROLLBACK").await.unwrap();
        killed
    });
    run::sync(&s, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), &attempts).await.unwrap();
    assert!(release.await.unwrap(), "the chunk's connection was found and killed");
    let seen = attempts.0.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![1, 2, 3], "{seen:?}");
    assert!(seen[1].1 >= 2, "chunk 2 was applied again on a new connection: {seen:?}");
    assert_eq!(chunk_sizes(&mut shop).await, vec![10, 10, 10], "each chunk committed once");
    common::assert_same(&expected, &common::without_clock(&shop.snapshot().await), "killed connection vs uninterrupted run");
    shop.drop_db().await;
}

/// Says when the run holds before a chunk because of the pause file.
struct PausedFlag(std::sync::Arc<AtomicBool>);

impl Observer for PausedFlag {
    fn progress(&self, p: Progress) {
        if p.phase == run::PAUSED {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

#[tokio::test]
async fn a_run_whose_every_connection_is_killed_reconnects_and_finishes() {
    let mut shop = TestShop::new().await;
    // Long names close frozen blocks early (about nine rows a block), so the planner's reader
    // still has blocks to read from the journal when its connection is killed.
    let name = "N".repeat(60_000);
    let mut feed = String::from("sku,name,regular_price,stock\n");
    for i in 0..300 {
        feed.push_str(&format!("K-{i:03},{name},{},{}\n", 10 + i, i % 7));
    }
    let pause = shop.dir.path().join("woosync.pause");
    std::fs::write(&pause, "").unwrap();
    let s = shop.settings(&feed, &format!("[sync]\nchunk_size = 10\nchunk_target_ms = 0\npause_file = \"woosync.pause\"\n{GUARD_OFF}"));
    let paused = std::sync::Arc::new(AtomicBool::new(false));
    let observer = PausedFlag(paused.clone());
    let sync = tokio::spawn(async move { run::sync(&s, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), &observer).await });

    let started = Instant::now();
    while !paused.load(Ordering::SeqCst) {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never paused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every connection of the run: its own, the run lock's and the planner's reader.
    let ids: Vec<u64> = shop
        .conn
        .exec("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", (shop.db.clone(),))
        .await
        .unwrap();
    assert!(ids.len() >= 3, "the run's connections: {ids:?}");
    for id in &ids {
        shop.conn.query_drop(format!("KILL CONNECTION {id}")).await.unwrap();
    }
    std::fs::remove_file(&pause).unwrap();

    let outcomes = sync.await.unwrap().expect("the run reconnects and finishes");
    assert_eq!(outcomes.last().unwrap().counts.created, 300);
    let products: u64 = shop.scalar("SELECT COUNT(*) FROM {p}posts WHERE post_type = 'product'").await;
    assert_eq!(products, 300, "every product once");
    let applied: i64 = shop.scalar("SELECT COALESCE(SUM(products), 0) FROM {p}woosync_chunks").await;
    assert_eq!(applied, 300);
    shop.drop_db().await;
}
