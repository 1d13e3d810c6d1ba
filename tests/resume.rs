//! Chunks, checkpoints, resume, signals and the run lock, against a real MariaDB.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{without_clock, TestShop};
use mysql_async::prelude::*;
use woosync::run::{self, Observer, Quiet, Shutdown, SyncOptions};
use woosync::fixture::Spec;

fn seed() -> Vec<Spec> {
    let mut specs: Vec<Spec> = (0..30).map(|i| Spec::simple(&format!("K-{i:02}"), "10.00", 5)).collect();
    specs.push(Spec::variable("KV", vec![Spec::simple("KV-1", "7", 2), Spec::simple("KV-2", "8", 2)]));
    specs
}

fn feed() -> String {
    let mut f = String::from("sku,name,regular_price,sale_price,stock\n");
    for i in 0..30 {
        let stock = if i % 3 == 0 { 0 } else { i };
        f.push_str(&format!("K-{i:02},,{}.50,,{stock}\n", 10 + i));
    }
    for i in 0..8 {
        f.push_str(&format!("NEW-{i},Новинка {i},{i}9,,{i}\n"));
    }
    f.push_str("KV-1,,6,,0\nKV-2,,8,,0\n");
    f
}

/// Dies (panics) right after the given chunk commits: like a process killed between chunks.
struct CrashAfter(u32);
impl Observer for CrashAfter {
    fn chunk_committed(&self, _run: u64, chunk_no: u32, _left: usize, _attempts: u32) {
        if chunk_no == self.0 {
            panic!("simulated crash after chunk {chunk_no}");
        }
    }
}

struct StopAfter(u32, Shutdown);
impl Observer for StopAfter {
    fn chunk_committed(&self, _run: u64, chunk_no: u32, _left: usize, _attempts: u32) {
        if chunk_no == self.0 {
            self.1.request();
        }
    }
}

#[derive(Default)]
struct Seen(Mutex<Vec<u32>>);
impl Observer for Seen {
    fn chunk_committed(&self, _run: u64, chunk_no: u32, _left: usize, _attempts: u32) {
        self.0.lock().unwrap().push(chunk_no);
    }
}

#[tokio::test]
async fn a_run_killed_between_chunks_resumes_to_the_same_state_as_an_uninterrupted_run() {
    let mut reference = TestShop::new().await;
    reference.insert(&seed()).await;
    let s = reference.settings(&feed(), "[sync]\nchunk_size = 5\nchunk_target_ms = 0\n[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n");
    let out = reference.sync(&s).await;
    assert_eq!((out.counts.created, out.counts.updated), (8, 32));

    let mut shop = TestShop::new().await;
    shop.insert(&seed()).await;
    let settings = shop.settings(&feed(), "[sync]\nchunk_size = 5\nchunk_target_ms = 0\n[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n");
    let s2 = settings.clone();
    let crashed = tokio::spawn(async move {
        run::sync(&s2, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), &CrashAfter(3)).await
    })
    .await;
    assert!(crashed.is_err(), "the run died");
    let state: String = shop.scalar("SELECT state FROM {p}woosync_runs").await;
    assert_eq!(state, "running", "a killed run is left as it was");
    let chunks: i64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_chunks").await;
    assert_eq!(chunks, 3);

    // The feed changes after the crash: the resume still applies the frozen input.
    std::fs::write(shop.dir.path().join("feed.csv"), "sku,stock\nK-00,999\n").unwrap();
    let seen = Seen::default();
    let out = run::resume(&settings, None, None, &Shutdown::default(), &seen).await.unwrap();
    assert!(out.resumed);
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (8, 32, 0), "counts span both invocations");
    assert_eq!(seen.0.lock().unwrap().first(), Some(&4), "chunk numbers continue");

    common::assert_same(&without_clock(&reference.snapshot().await), &without_clock(&shop.snapshot().await), "resumed vs uninterrupted");
    let dup: i64 = shop.scalar("SELECT COUNT(*) FROM (SELECT meta_value FROM {p}postmeta WHERE meta_key = '_sku' GROUP BY meta_value HAVING COUNT(*) > 1) d").await;
    assert_eq!(dup, 0, "nothing was applied twice");
    let (state, created): (String, i64) = shop.scalar("SELECT state, created FROM {p}woosync_runs").await;
    assert_eq!((state.as_str(), created), ("done", 8));
    let frozen: i64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_input").await;
    assert_eq!(frozen, 0, "a finished run's frozen input is dropped");
    reference.drop_db().await;
    shop.drop_db().await;
}

#[tokio::test]
async fn a_stop_request_finishes_the_chunk_and_the_next_sync_resumes_first() {
    let mut shop = TestShop::new().await;
    shop.insert(&seed()).await;
    let settings = shop.settings(&feed(), "[sync]\nchunk_size = 5\nchunk_target_ms = 0\n[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n");
    let shutdown = Shutdown::default();
    let err = run::sync(&settings, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &shutdown, &StopAfter(2, shutdown.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code() as i32, 6);
    assert!(err.to_string().contains("woosync resume --config"), "{err}");
    let (state, chunks): (String, i64) = shop.scalar("SELECT state, chunks_done FROM {p}woosync_runs").await;
    assert_eq!((state.as_str(), chunks), ("interrupted", 2));

    let outcomes = run::sync(&settings, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), &Quiet).await.unwrap();
    assert_eq!(outcomes.len(), 2, "the interrupted run is resumed, then a fresh run");
    assert!(outcomes[0].resumed);
    assert_eq!(outcomes[1].counts.updated + outcomes[1].counts.created, 0, "the fresh run finds nothing left to do");
    let states: Vec<String> = shop.conn.query("SELECT state FROM wp_woosync_runs ORDER BY id").await.unwrap();
    assert_eq!(states, ["done", "done"]);
    shop.drop_db().await;
}

#[tokio::test]
async fn old_interrupted_runs_are_abandoned_and_changed_configs_refused() {
    let mut shop = TestShop::new().await;
    shop.insert(&seed()).await;
    let settings = shop.settings(&feed(), "[sync]\nchunk_size = 5\nchunk_target_ms = 0\n[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n");
    let shutdown = Shutdown::default();
    let _ = run::sync(&settings, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &shutdown, &StopAfter(1, shutdown.clone())).await;

    let changed = shop.settings(&feed(), "[sync]\nchunk_size = 5\nchunk_target_ms = 0\nnew_product_status = \"private\"\n[guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n");
    let err = run::resume(&changed, None, None, &Shutdown::default(), &Quiet).await.unwrap_err();
    assert_eq!(err.exit_code() as i32, 7);
    assert!(err.to_string().contains("config changed"), "{err}");

    shop.conn.query_drop("UPDATE wp_woosync_runs SET started_at = started_at - INTERVAL 2 HOUR").await.unwrap();
    let outcomes = run::sync(&settings, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), &Quiet).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    let states: Vec<String> = shop.conn.query("SELECT state FROM wp_woosync_runs ORDER BY id").await.unwrap();
    assert_eq!(states, ["abandoned", "done"]);
    let err = run::resume(&settings, None, None, &Shutdown::default(), &Quiet).await.unwrap_err();
    assert!(err.to_string().contains("no interrupted run"), "{err}");
    shop.drop_db().await;
}

#[derive(Default)]
struct Attempts(Mutex<Vec<u32>>);
impl Observer for Attempts {
    fn chunk_committed(&self, _run: u64, _chunk_no: u32, _left: usize, attempts: u32) {
        self.0.lock().unwrap().push(attempts);
    }
}

#[tokio::test]
async fn lock_wait_timeouts_roll_the_chunk_back_and_retry_it() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("LW-1", "10", 5)]).await;
    let settings = shop.settings("sku,stock\nLW-1,3\n", "[sync]\nlock_wait_timeout_secs = 1\n");
    // Another transaction holds the product's rows for 2.5 s: woosync's statements time out
    // after 1 s, the chunk is rolled back and retried with backoff until the rows are free.
    let mut blocker = mysql_async::Conn::new(mysql_async::Opts::from_url(&shop.url).unwrap()).await.unwrap();
    blocker.query_drop("START TRANSACTION").await.unwrap();
    blocker.exec_drop("SELECT * FROM wp_postmeta WHERE post_id = ? FOR UPDATE", (ids[0],)).await.unwrap();
    blocker.exec_drop("SELECT * FROM wp_posts WHERE ID = ? FOR UPDATE", (ids[0],)).await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        blocker.query_drop("COMMIT").await.unwrap();
    });
    let attempts = Attempts::default();
    run::sync(&settings, SyncOptions { dry_run: false, report: None, force: false, fresh: false }, &Shutdown::default(), &attempts).await.expect("succeeds after retrying");
    release.await.unwrap();
    let attempts = attempts.0.lock().unwrap().clone();
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0] >= 2, "the chunk was retried: {attempts:?}");
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("3"));
    let chunks: i64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_chunks").await;
    assert_eq!(chunks, 1, "one checkpoint: the rolled-back attempts left none");
    shop.drop_db().await;
}

fn woosync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_woosync"))
}

#[tokio::test]
async fn a_second_concurrent_run_exits_with_the_lock_code() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("LK", "10", 5)]).await;
    let config = shop.config("sku,stock\nLK,1\n", "");
    let name = run::lock_name(&shop.db, "wp_");
    let got: Option<i64> = shop.conn.exec_first("SELECT GET_LOCK(?, 0)", (&name,)).await.unwrap();
    assert_eq!(got, Some(1));
    let out = woosync().args(["sync", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another woosync run is writing to this shop"), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("woosync:")).count(), 1);
    let _: Option<i64> = shop.conn.exec_first("SELECT RELEASE_LOCK(?)", (&name,)).await.unwrap();
    let out = woosync().args(["sync", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    shop.drop_db().await;
}

#[tokio::test]
async fn the_cli_prints_a_summary_and_status_and_never_the_password() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("CLI-1", "10", 5)]).await;
    let config = shop.config("sku,stock\nCLI-1,2\nCLI-2,1\n", "");
    // The URL comes from the environment only; the file has a wrong one.
    let text = std::fs::read_to_string(&config).unwrap().replace(&shop.url, "mysql://nobody:wrong@127.0.0.1:1/none");
    std::fs::write(&config, text).unwrap();
    let report = shop.dir.path().join("r.csv");
    let out = woosync()
        .args(["sync", "--dry-run", "--report"])
        .arg(&report)
        .env("WOOSYNC_CONFIG", &config)
        .env("WOOSYNC_DATABASE_URL", &shop.url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("dry run (nothing written)") && stdout.contains("would be created 1, would be updated 1"), "{stdout}");
    assert!(std::fs::read_to_string(&report).unwrap().starts_with("action,sku,product_id,post_type,field,old,new,message\n"));

    let out = woosync().args(["sync"]).env("WOOSYNC_CONFIG", &config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out2 = woosync().args(["status"]).env("WOOSYNC_CONFIG", &config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    let status = String::from_utf8_lossy(&out2.stdout);
    assert!(status.contains("done") && status.contains("started (UTC)"), "{status}");
    for o in [&out, &out2] {
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(!all.contains("woosync_test@") && !all.contains(":woosync_test"), "{all}");
    }

    // A wrong password is reported without the password.
    let bad = shop.url.replace("woosync_test@", "s3cr3t-pw@");
    let out = woosync().args(["sync"]).env("WOOSYNC_CONFIG", &config).env("WOOSYNC_DATABASE_URL", &bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(!stderr.contains("s3cr3t-pw"), "{stderr}");
    shop.drop_db().await;
    let _ = Arc::new(());
}

#[tokio::test]
async fn sigterm_finishes_the_chunk_exits_6_and_resume_completes() {
    let mut shop = TestShop::new().await;
    let specs: Vec<Spec> = (0..1500).map(|i| Spec::simple(&format!("SIG-{i:04}"), "10", 5)).collect();
    shop.insert(&specs).await;
    let mut feed = String::from("sku,stock\n");
    for i in 0..1500 {
        feed.push_str(&format!("SIG-{i:04},{}\n", i % 7));
    }
    let config = shop.config(&feed, "[sync]\nchunk_size = 1\nchunk_target_ms = 0\n");
    let child = woosync().args(["sync", "--config"]).arg(&config).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Wait until at least one chunk has committed, then send SIGTERM.
    for _ in 0..200 {
        let n: i64 = shop.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'wp_woosync_chunks'").await;
        if n > 0 {
            let done: i64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_chunks").await;
            if done > 0 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("woosync resume --config"), "{stderr}");
    let (state, chunks): (String, i64) = shop.scalar("SELECT state, chunks_done FROM {p}woosync_runs").await;
    assert_eq!(state, "interrupted");
    assert!(chunks > 0 && chunks < 1500, "{chunks}");
    let committed: i64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_chunks").await;
    assert_eq!(committed, chunks, "every committed chunk has its checkpoint");

    let out = woosync().args(["resume", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let wrong: i64 = shop
        .scalar("SELECT COUNT(*) FROM {p}postmeta m JOIN {p}postmeta s ON s.post_id = m.post_id AND s.meta_key = '_sku' WHERE m.meta_key = '_stock' AND CAST(m.meta_value AS SIGNED) <> CAST(SUBSTRING(s.meta_value, 5) AS SIGNED) % 7")
        .await;
    assert_eq!(wrong, 0, "every product has the feed's stock after the resume");
    shop.drop_db().await;
}

#[tokio::test]
async fn json_summaries_for_sync_and_status() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("J-1", "10", 5)]).await;
    let config = shop.config("sku,stock\nJ-1,2\nJ-2,1\n", "");
    let out = woosync().args(["sync", "--json", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["outcome"], "done");
    assert_eq!(v["counts"]["created"], 1);
    assert_eq!(v["counts"]["updated"], 1);
    assert_eq!(v["counts"]["rows"], 2);
    assert!(v["source"].as_str().unwrap().ends_with("feed.csv"));
    assert!(v["run_id"].as_u64().is_some());

    // A failing run: the JSON names the error and the exit code; the journal counts the streak.
    std::fs::write(shop.dir.path().join("feed.csv"), "article\nJ-1\n").unwrap();
    for _ in 0..2 {
        let out = woosync().args(["sync", "--json", "--config"]).arg(&config).output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((v["outcome"].as_str(), v["exit_code"].as_i64()), (Some("failed"), Some(3)));
        assert!(v["error"].as_str().unwrap().contains("no SKU column"));
    }
    let out = woosync().args(["status", "--json", "--config"]).arg(&config).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["consecutive_failures"], 2);
    assert_eq!(v["waiting_for_resume"], serde_json::Value::Null);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!((runs[0]["state"].as_str(), runs[2]["state"].as_str()), (Some("failed"), Some("done")));
    assert_eq!(runs[2]["created"], 1);
    shop.drop_db().await;
}

#[tokio::test]
async fn check_lists_every_preflight_check_and_writes_nothing() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("C-1", "10", 5)]).await;
    let before = shop.snapshot().await;
    let config = shop.config("sku,stock\nC-1,2\n,3\n", "");
    let out = woosync().args(["check", "--config"]).arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for name in ["config", "source", "database", "privileges", "woocommerce", "lock", "journal"] {
        assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains(name)), "{name} missing in:\n{stdout}");
    }
    assert!(stdout.contains("1 rows to sync, 1 rejected; first rejected: feed.csv:3:1 (sku)"), "{stdout}");
    assert!(stdout.contains("WooCommerce 9.9.5"), "{stdout}");
    common::assert_same(&before, &shop.snapshot().await, "check writes nothing");
    let tables: i64 = shop.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '%woosync%'").await;
    assert_eq!(tables, 0);

    // A broken feed and a held lock are reported with their own lines and exit codes.
    std::fs::write(shop.dir.path().join("feed.csv"), "article\nC-1\n").unwrap();
    let name = run::lock_name(&shop.db, "wp_");
    let _: Option<i64> = shop.conn.exec_first("SELECT GET_LOCK(?, 0)", (&name,)).await.unwrap();
    let out = woosync().args(["check", "--config"]).arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("FAIL") && l.contains("source") && l.contains("no SKU column")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("FAIL") && l.contains("lock")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains("woocommerce")), "{stdout}");
    shop.drop_db().await;
}

#[tokio::test]
async fn the_log_file_has_the_summary_line_and_no_secret() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("LG-1", "10", 5)]).await;
    let logs = shop.dir.path().join("logs");
    let config = shop.config("sku,stock\nLG-1,2\nLG-1,3\n,4\n", &format!("[log]\ndir = \"{}\"\nkeep_days = 3\n", logs.display()));
    let out = woosync().args(["sync", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let read_logs = || -> String {
        std::fs::read_dir(&logs).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect::<Vec<_>>().join("")
    };
    let text = read_logs();
    let summary = text.lines().find(|l| l.contains("run 1 done")).unwrap_or_else(|| panic!("no summary in:\n{text}"));
    for field in ["started=", "finished=", "duration_secs=", "source=", "rows=3", "created=0", "updated=0", "conflict=2", "invalid=1"] {
        assert!(summary.contains(field), "{field} missing: {summary}");
    }
    assert!(text.contains("conflict LG-1: line 2: SKU appears 2 times"), "{text}");
    assert!(!text.contains("woosync_test@") && !text.contains(":woosync_test"), "the password leaked:\n{text}");

    // JSON lines, and a failure is logged too.
    let config = shop.config("article\nLG-1\n", &format!("[log]\ndir = \"{}\"\nformat = \"json\"\n", logs.display()));
    let out = woosync().args(["sync", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = read_logs();
    let failure = text.lines().filter(|l| l.starts_with('{')).find(|l| l.contains("run failed")).unwrap_or_else(|| panic!("{text}"));
    let v: serde_json::Value = serde_json::from_str(failure).unwrap();
    assert_eq!(v["level"], "ERROR");
    assert_eq!(v["fields"]["exit_code"], 3);
    shop.drop_db().await;
}
