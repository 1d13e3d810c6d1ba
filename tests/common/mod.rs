//! Test harness: a fresh, throw-away WooCommerce database per test on the MariaDB server named by
//! `WOOSYNC_TEST_DATABASE_URL` (a server URL without a database; `scripts/test-db.sh` prints one).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, Row, Value};
use woosync::config::Settings;
use woosync::run::{self, Outcome, Quiet, Shutdown, SyncOptions};
use woosync::fixture;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Serves `app` on a free port of 127.0.0.1 for the rest of the test; returns `http://127.0.0.1:PORT`.
pub async fn listen(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

pub fn server_url() -> String {
    std::env::var("WOOSYNC_TEST_DATABASE_URL")
        .expect("WOOSYNC_TEST_DATABASE_URL must name a MariaDB server (run: bash scripts/test-db.sh)")
        .trim_end_matches('/')
        .to_string()
}

pub struct TestShop {
    pub db: String,
    pub url: String,
    pub conn: Conn,
    pub dir: tempfile::TempDir,
    pub prefix: String,
}

impl TestShop {
    pub async fn new() -> TestShop {
        Self::with_prefix("wp_").await
    }

    pub async fn with_prefix(prefix: &str) -> TestShop {
        let db = format!("woosync_t_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        let mut admin = Conn::new(Opts::from_url(&server_url()).unwrap()).await.expect("connect to the test server");
        admin.query_drop(format!("DROP DATABASE IF EXISTS `{db}`")).await.unwrap();
        admin.query_drop(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")).await.unwrap();
        admin.disconnect().await.unwrap();
        let url = format!("{}/{db}", server_url());
        let mut conn = Conn::new(Opts::from_url(&url).unwrap()).await.unwrap();
        fixture::provision(&mut conn, prefix).await.unwrap();
        TestShop { db, url, conn, dir: tempfile::tempdir().unwrap(), prefix: prefix.to_string() }
    }

    /// Writes the feed and a config pointing at it; returns the config path.
    pub fn config(&self, feed: &str, extra: &str) -> PathBuf {
        self.config_bytes(feed.as_bytes(), extra)
    }

    pub fn config_bytes(&self, feed: &[u8], extra: &str) -> PathBuf {
        std::fs::write(self.dir.path().join("feed.csv"), feed).unwrap();
        let path = self.dir.path().join("woosync.toml");
        let text = format!(
            "[database]\nurl = \"{}\"\ntable_prefix = \"{}\"\n\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n{extra}\n",
            self.url, self.prefix
        );
        // `extra` may open [sync]; keep [source.*] tables before it by convention of the callers.
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A config with its own `[source]` section (and `[source.*]` tables) followed by `extra`.
    pub fn config_source(&self, source: &str, extra: &str) -> PathBuf {
        let path = self.dir.path().join("woosync.toml");
        let text = format!("[database]\nurl = \"{}\"\ntable_prefix = \"{}\"\n\n{source}\n{extra}\n", self.url, self.prefix);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn settings_source(&self, source: &str, extra: &str) -> Settings {
        Settings::load_with(&self.config_source(source, extra), None).unwrap()
    }

    /// The product (or variation) holding a SKU, if one does.
    pub async fn id_of(&mut self, sku: &str) -> Option<u64> {
        self.conn
            .exec_first(format!("SELECT post_id FROM `{}postmeta` WHERE meta_key = '_sku' AND meta_value = ?", self.prefix), (sku,))
            .await
            .unwrap()
    }

    pub async fn lookup_sku(&mut self, id: u64) -> Option<String> {
        self.conn
            .exec_first(format!("SELECT sku FROM `{}wc_product_meta_lookup` WHERE product_id = ?", self.prefix), (id,))
            .await
            .unwrap()
    }

    pub async fn title(&mut self, id: u64) -> String {
        self.conn.exec_first(format!("SELECT post_title FROM `{}posts` WHERE ID = ?", self.prefix), (id,)).await.unwrap().unwrap()
    }

    pub fn settings(&self, feed: &str, extra: &str) -> Settings {
        Settings::load_with(&self.config(feed, extra), None).unwrap()
    }

    pub fn report_path(&self) -> PathBuf {
        self.dir.path().join("report.csv")
    }

    pub fn report(&self) -> String {
        std::fs::read_to_string(self.report_path()).unwrap_or_default()
    }

    pub async fn sync(&self, settings: &Settings) -> Outcome {
        self.try_sync(settings, false).await.expect("sync")
    }

    pub async fn try_sync(&self, settings: &Settings, dry_run: bool) -> woosync::error::Result<Outcome> {
        let report = self.report_path();
        run::sync(settings, SyncOptions { dry_run, report: Some(&report), force: false, fresh: false }, &Shutdown::default(), &Quiet)
            .await
            .map(|mut v| v.pop().unwrap())
    }

    pub async fn insert(&mut self, specs: &[fixture::Spec]) -> Vec<u64> {
        fixture::insert(&mut self.conn, &self.prefix, specs).await.unwrap()
    }

    pub async fn meta(&mut self, id: u64, key: &str) -> Vec<Option<String>> {
        self.conn
            .exec(format!("SELECT meta_value FROM `{}postmeta` WHERE post_id = ? AND meta_key = ? ORDER BY meta_id", self.prefix), (id, key))
            .await
            .unwrap()
    }

    pub async fn one(&mut self, id: u64, key: &str) -> Option<String> {
        let v = self.meta(id, key).await;
        assert!(v.len() <= 1, "{key} of {id} has {} rows", v.len());
        v.into_iter().next().flatten()
    }

    pub async fn lookup(&mut self, id: u64) -> Option<(Option<String>, Option<String>, i64, Option<f64>, String)> {
        self.conn
            .exec_first(
                format!(
                    "SELECT CAST(min_price AS CHAR), CAST(max_price AS CHAR), onsale, stock_quantity, stock_status FROM `{}wc_product_meta_lookup` WHERE product_id = ?",
                    self.prefix
                ),
                (id,),
            )
            .await
            .unwrap()
    }

    pub async fn has_term(&mut self, id: u64, tt: u64) -> bool {
        let n: Option<u64> = self
            .conn
            .exec_first(format!("SELECT COUNT(*) FROM `{}term_relationships` WHERE object_id = ? AND term_taxonomy_id = ?", self.prefix), (id, tt))
            .await
            .unwrap();
        n.unwrap_or(0) > 0
    }

    pub async fn term_count(&mut self, tt: u64) -> i64 {
        self.conn
            .exec_first(format!("SELECT count FROM `{}term_taxonomy` WHERE term_taxonomy_id = ?", self.prefix), (tt,))
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn scalar<T: mysql_async::prelude::FromRow + Send + 'static>(&mut self, sql: &str) -> T {
        self.conn.query_first(sql.replace("{p}", &self.prefix)).await.unwrap().unwrap()
    }

    /// Every row of every WooCommerce table, in key order, as text: two equal snapshots mean
    /// byte-identical tables.
    pub async fn snapshot(&mut self) -> String {
        snapshot_of(&mut self.conn, &self.prefix).await
    }

    /// Runs `settings` again and checks it wrote nothing: no product created or updated,
    /// `unchanged` rows, and the shop's rows as they were (clock columns aside).
    #[allow(dead_code)]
    pub async fn second_run_writes_nothing(&mut self, settings: &Settings, unchanged: usize) {
        let before = self.snapshot().await;
        let out = self.sync(settings).await;
        assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (0, 0, unchanged), "{}", self.report());
        assert_same(&without_clock(&before), &without_clock(&self.snapshot().await), "a second run");
    }

    pub async fn drop_db(mut self) {
        let _ = self.conn.query_drop(format!("DROP DATABASE `{}`", self.db)).await;
    }
}

pub const WC_TABLES: [&str; 8] =
    ["posts", "postmeta", "options", "terms", "term_taxonomy", "term_relationships", "termmeta", "wc_product_meta_lookup"];

pub async fn snapshot_of(conn: &mut Conn, prefix: &str) -> String {
    let mut out = String::new();
    for t in WC_TABLES {
        out.push_str(&format!("## {t}\n"));
        let rows: Vec<Row> = conn.query(format!("SELECT * FROM `{prefix}{t}` ORDER BY 1, 2")).await.unwrap();
        for row in rows {
            let vals: Vec<String> = row.unwrap().into_iter().map(|v: Value| v.as_sql(false)).collect();
            out.push_str(&vals.join("|"));
            out.push('\n');
        }
    }
    out
}

/// Snapshot without the columns that hold "now" (post dates, version transients), so two runs at
/// different moments can be compared.
pub fn without_clock(snapshot: &str) -> String {
    snapshot
        .lines()
        .map(|l| {
            let mut l = l.to_string();
            for pat in ["-transient-version'|"] {
                if let Some(i) = l.find(pat) {
                    l.truncate(i + pat.len());
                }
            }
            // posts rows: blank post_date(_gmt) and post_modified(_gmt).
            let parts: Vec<&str> = l.split('|').collect();
            if parts.len() == 23 {
                let mut p: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                for i in [2, 3, 14, 15] {
                    p[i] = "-".into();
                }
                return p.join("|");
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts two snapshots are equal, naming the first line that differs (not the whole dump).
pub fn assert_same(expected: &str, actual: &str, what: &str) {
    if expected == actual {
        return;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied().unwrap_or("<end>"), a.get(i).copied().unwrap_or("<end>"));
        if x != y {
            panic!("{what}: first difference at line {}:\n  expected: {x}\n  actual:   {y}", i + 1);
        }
    }
}

/// The shop as WooCommerce sees it, keyed by SKU rather than by IDs and without clock values.
pub async fn logical(conn: &mut Conn) -> String {
    let queries = [
        "SELECT CONCAT_WS('|', s.meta_value, p.post_type, p.post_status, p.post_title, \
                REPLACE(p.guid, CONCAT('p=', p.ID), 'p=#'), COALESCE(ps.meta_value, ''), p.comment_status, p.post_author) \
         FROM wp_posts p JOIN wp_postmeta s ON s.post_id = p.ID AND s.meta_key = '_sku' \
         LEFT JOIN wp_postmeta ps ON ps.post_id = p.post_parent AND ps.meta_key = '_sku' ORDER BY 1",
        "SELECT CONCAT_WS('|', s.meta_value, m.meta_key, COALESCE(m.meta_value, 'NULL')) FROM wp_postmeta m \
         JOIN wp_postmeta s ON s.post_id = m.post_id AND s.meta_key = '_sku' ORDER BY 1",
        "SELECT CONCAT_WS('|', l.sku, COALESCE(l.min_price, 'NULL'), COALESCE(l.max_price, 'NULL'), l.onsale, \
                COALESCE(l.stock_quantity, 'NULL'), l.stock_status, l.tax_status, l.total_sales) \
         FROM wp_wc_product_meta_lookup l ORDER BY 1",
        "SELECT CONCAT_WS('|', s.meta_value, r.term_taxonomy_id) FROM wp_term_relationships r \
         JOIN wp_postmeta s ON s.post_id = r.object_id AND s.meta_key = '_sku' ORDER BY 1",
        "SELECT CONCAT_WS('|', term_taxonomy_id, taxonomy, count) FROM wp_term_taxonomy ORDER BY term_taxonomy_id",
        "SELECT CONCAT_WS('|', option_name, option_value) FROM wp_options \
         WHERE option_name NOT LIKE '%transient-version' ORDER BY option_name",
        "SELECT CONCAT('posts without a SKU: ', COUNT(*)) FROM wp_posts p WHERE p.post_type IN ('product','product_variation') \
         AND NOT EXISTS (SELECT 1 FROM wp_postmeta s WHERE s.post_id = p.ID AND s.meta_key = '_sku')",
    ];
    let mut out = String::new();
    for q in queries {
        let rows: Vec<String> = conn.query(q).await.unwrap();
        out.push_str(&rows.join("\n"));
        out.push_str("\n##\n");
    }
    out
}

/// Copies every table of the template database into a fresh one on the same server; returns
/// its name and URL.
pub async fn copy_of(server: &str, template: &str, admin: &mut Conn, name: &str) -> (String, String) {
    let db = format!("woosync_t_{}_{name}", std::process::id());
    admin.query_drop(format!("DROP DATABASE IF EXISTS `{db}`")).await.unwrap();
    admin.query_drop(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")).await.unwrap();
    let tables: Vec<String> = admin
        .exec("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", (template,))
        .await
        .unwrap();
    for t in tables {
        admin.query_drop(format!("CREATE TABLE `{db}`.`{t}` LIKE `{template}`.`{t}`")).await.unwrap();
        admin.query_drop(format!("INSERT INTO `{db}`.`{t}` SELECT * FROM `{template}`.`{t}`")).await.unwrap();
    }
    let url = format!("{server}/{db}");
    (db, url)
}

/// Products written by the latest run that finished, over all its chunks.
pub async fn written_by_last_run(conn: &mut Conn) -> (i64, i64) {
    conn.query_first(
        "SELECT COALESCE(SUM(c.products), 0), COUNT(*) FROM wp_woosync_chunks c \
         WHERE c.run_id = (SELECT MAX(id) FROM wp_woosync_runs WHERE state = 'done' AND chunks_done > 0)",
    )
    .await
    .unwrap()
    .unwrap()
}
