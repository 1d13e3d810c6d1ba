//! The shop's Redis object cache against a real Redis (`WOOSYNC_TEST_REDIS_URL`, a key prefix of
//! each test's own; nothing is ever flushed): seeded with what WordPress caches for the shop's
//! products, a run deletes exactly the changed products' entries, moves the shop-wide versions
//! and lists, and leaves every other entry; a dry run leaves Redis as it was.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use common::TestShop;
use mysql_async::prelude::Queryable;
use redis::AsyncCommands;
use woosync::fixture::Spec;

static PREFIXES: AtomicU32 = AtomicU32::new(0);

fn redis_url() -> String {
    std::env::var("WOOSYNC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.expect("a Redis at WOOSYNC_TEST_REDIS_URL")
}

/// A `WP_REDIS_PREFIX` no other test uses.
fn prefix() -> String {
    format!("woosync_t_{}_{}:", std::process::id(), PREFIXES.fetch_add(1, Ordering::SeqCst))
}

/// Every key under `prefix` with its value and whether it has a TTL.
async fn dump(r: &mut redis::aio::MultiplexedConnection, prefix: &str) -> BTreeMap<String, (String, bool)> {
    let keys: Vec<String> = r.keys(format!("{prefix}*")).await.unwrap();
    let mut out = BTreeMap::new();
    for k in keys {
        let v: String = r.get(&k).await.unwrap();
        let ttl: i64 = r.ttl(&k).await.unwrap();
        out.insert(k, (v, ttl > 0));
    }
    out
}

async fn forget(r: &mut redis::aio::MultiplexedConnection, prefix: &str) {
    let keys: Vec<String> = r.keys(format!("{prefix}*")).await.unwrap();
    if !keys.is_empty() {
        let _: () = r.del(keys).await.unwrap();
    }
}

fn cache_config(prefix: &str) -> String {
    format!("[object_cache]\ntype = \"redis\"\nurl = \"{}\"\nprefix = \"{prefix}\"\n", redis_url())
}

#[tokio::test]
async fn a_run_invalidates_what_it_changed_and_nothing_else() {
    let mut shop = TestShop::new().await;
    let ids = shop
        .insert(&[
            Spec::simple("A-1", "10", 5),
            Spec::simple("A-2", "10", 5),
            Spec::variable("V", vec![Spec::simple("V-1", "10", 5), Spec::simple("V-2", "10", 5)]),
        ])
        .await;
    let (a1, a2) = (ids[0], ids[1]);
    let (v, v1, v2) = (shop.id_of("V").await.unwrap(), shop.id_of("V-1").await.unwrap(), shop.id_of("V-2").await.unwrap());
    let p = prefix();
    let mut r = redis().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut seed: Vec<(String, String)> = Vec::new();
    for id in [a1, a2, v, v1, v2] {
        seed.push((format!("{p}wp:post_meta:{id}"), "a:1:{s:5:\"_sku\";a:1:{i:0;s:3:\"old\";}}".into()));
        seed.push((format!("{p}wp:posts:{id}"), "O:8:\"stdClass\":0:{}".into()));
        seed.push((format!("{p}wp:product_visibility_relationships:{id}"), "a:0:{}".into()));
    }
    seed.extend([
        (format!("{p}wp:posts:last_changed"), "0.10000000 100".to_string()),
        (format!("{p}wp:terms:last_changed"), "0.10000000 100".to_string()),
        (format!("{p}wp:transient:product-transient-version"), "100".to_string()),
        (format!("{p}wp:transient:product_query-transient-version"), (now + 1000).to_string()),
        (format!("{p}wp:transient:wc_products_onsale"), "a:0:{}".to_string()),
        (format!("{p}wp:transient:wc_var_prices_{v}"), "{}".to_string()),
        (format!("{p}wp:transient:wc_var_prices_999999"), "{}".to_string()),
        (format!("{p}wp:options:alloptions"), "a:0:{}".to_string()),
        (format!("{p}other:post_meta:{a1}"), "another site's".to_string()),
    ]);
    for (k, val) in &seed {
        let _: () = r.set(k, val).await.unwrap();
    }
    let feed = "sku,regular_price,stock\nA-1,12,5\nA-2,10,5\nV-1,12,5\nV-2,10,5\n";
    let settings = shop.settings(feed, &cache_config(&p));

    // A dry run leaves Redis byte for byte as it was.
    let before = dump(&mut r, &p).await;
    shop.try_sync(&settings, true).await.unwrap();
    assert_eq!(dump(&mut r, &p).await, before);

    let outcome = shop.sync(&settings).await;
    assert_eq!(outcome.counts.updated, 2, "{:?}", outcome.counts);
    let after = dump(&mut r, &p).await;
    for id in [a1, v1, v] {
        for group in ["post_meta", "posts", "product_visibility_relationships"] {
            assert!(!after.contains_key(&format!("{p}wp:{group}:{id}")), "{group}:{id} was deleted: {after:?}");
        }
    }
    for id in [a2, v2] {
        for group in ["post_meta", "posts", "product_visibility_relationships"] {
            assert!(after.contains_key(&format!("{p}wp:{group}:{id}")), "{group}:{id} of an unchanged product survives");
        }
    }
    assert!(!after.contains_key(&format!("{p}wp:transient:wc_products_onsale")));
    assert!(!after.contains_key(&format!("{p}wp:transient:wc_var_prices_{v}")), "the re-synced parent's price ranges");
    for kept in [format!("{p}wp:transient:wc_var_prices_999999"), format!("{p}wp:options:alloptions"), format!("{p}other:post_meta:{a1}")] {
        assert_eq!(after.get(&kept), before.get(&kept), "{kept} is untouched");
    }
    for key in ["posts:last_changed", "terms:last_changed"] {
        let value = &after[&format!("{p}wp:{key}")].0;
        let (usec, secs) = value.split_once(' ').unwrap();
        assert!(usec.starts_with("0.") && usec.len() == 10 && secs.parse::<u64>().unwrap() >= now, "{key} = {value}");
    }
    let version = |name: &str| after[&format!("{p}wp:transient:{name}-transient-version")].0.parse::<u64>().unwrap();
    assert!(version("product") >= now, "an old version moves to now");
    assert!(version("product_query") > now + 1000, "a version never goes back, nor stays: {}", version("product_query"));
    assert!(version("filter_data") >= now, "a missing version is set");

    // A run that changes nothing writes nothing to Redis either.
    let quiet = dump(&mut r, &p).await;
    shop.sync(&settings).await;
    assert_eq!(dump(&mut r, &p).await, quiet);
    forget(&mut r, &p).await;
    shop.drop_db().await;
}

#[tokio::test]
async fn a_cache_that_refuses_the_login_stops_the_run_before_it_writes_and_never_shows_the_password() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5)]).await;
    let url = redis_url().replace("redis://", "redis://:${WOOSYNC_TEST_CACHE_PASSWORD}@");
    let config = shop.config("sku,regular_price\nA-1,12\n", &format!("[object_cache]\ntype = \"redis\"\nurl = \"{url}\"\n"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync"))
        .args(["sync", "--config"])
        .arg(&config)
        .env("WOOSYNC_TEST_CACHE_PASSWORD", "s3cret-cache-pw")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    assert!(stderr.contains("cannot reach the object cache at redis://127.0.0.1:6379"), "{stderr}");
    assert!(!stderr.contains("s3cret-cache-pw") && !stdout.contains("s3cret-cache-pw"), "{stderr}");
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("10"), "nothing was written");
    shop.drop_db().await;
}

/// A Redis of this test's own on a free port, to be stopped mid-run.
struct OwnRedis(std::process::Child, String);

impl OwnRedis {
    /// On a free port, or on `port` again.
    async fn start(port: Option<u16>) -> OwnRedis {
        let port = port.unwrap_or_else(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test-redis.sh installs it)");
        let url = format!("redis://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(client) = redis::Client::open(url.as_str()) {
                if client.get_multiplexed_async_connection().await.is_ok() {
                    return OwnRedis(child, url);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {port} did not answer");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stops the run's Redis once the first chunk has committed.
struct KillAfterFirst(std::sync::Mutex<Option<OwnRedis>>);

impl woosync::run::Observer for KillAfterFirst {
    fn progress(&self, _: woosync::run::Progress) {}
    fn chunk_committed(&self, _run: u64, chunk_no: u32, _more: usize, _attempts: u32) {
        if chunk_no == 1 {
            drop(self.0.lock().unwrap().take());
        }
    }
}

#[tokio::test]
async fn a_cache_that_goes_away_mid_run_leaves_the_database_written_and_the_run_says_so() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5), Spec::simple("A-2", "10", 5), Spec::simple("A-3", "10", 5)]).await;
    let own = OwnRedis::start(None).await;
    let url = own.1.clone();
    let extra = format!("[sync]\nchunk_size = 1\nchunk_target_ms = 0\n[guard]\nmax_price_change_percent = 100\n[object_cache]\ntype = \"redis\"\nurl = \"{}\"\n", own.1);
    let settings = shop.settings("sku,regular_price\nA-1,12\nA-2,12\nA-3,12\n", &extra);
    let observer = KillAfterFirst(std::sync::Mutex::new(Some(own)));
    let started = std::time::Instant::now();
    let options = woosync::run::SyncOptions { dry_run: false, report: None, force: false, fresh: false };
    let err = woosync::run::sync(&settings, options, &woosync::run::Shutdown::default(), &observer).await.unwrap_err();
    assert_eq!(err.exit_code(), woosync::error::ExitCode::Cache, "{err}");
    assert!(err.to_string().contains("the shop's database is updated, but its object cache at redis://127.0.0.1:"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "a dead cache is not waited on chunk after chunk: {:?}", started.elapsed());
    for &id in &ids {
        assert_eq!(shop.one(id, "_regular_price").await.as_deref(), Some("12"), "every chunk was written");
    }
    let state: String = shop.scalar("SELECT state FROM {p}woosync_runs ORDER BY id DESC LIMIT 1").await;
    assert_eq!(state, "done");
    let owed: Vec<(u32, String)> = shop.conn.query("SELECT chunk_no, products FROM wp_woosync_cache_owed ORDER BY chunk_no").await.unwrap();
    // Chunk 1's invalidation was in flight when the cache went: it may or may not have landed.
    let owed_chunks: Vec<u32> = owed.iter().map(|(c, _)| *c).collect();
    assert!(owed_chunks.ends_with(&[2, 3]) && owed.len() <= 3, "the chunks the cache missed are owed it: {owed:?}");
    let paid_first = owed.len() == 2;
    assert!(owed.iter().all(|(c, products)| products == &ids[*c as usize - 1].to_string()), "{owed:?}");

    // The cache is back (empty, as a restarted Redis is, but the shop has cached the products
    // again meanwhile): `woosync resume` has no run to resume, and pays what is owed first.
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let back = OwnRedis::start(Some(port)).await;
    let mut r = redis::Client::open(back.1.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for id in &ids {
        let _: () = r.set(format!("wp:post_meta:{id}"), "a:0:{}").await.unwrap();
    }
    let err = woosync::run::resume(&settings, None, None, &woosync::run::Shutdown::default(), &woosync::run::Quiet).await.unwrap_err();
    assert_eq!(err.exit_code(), woosync::error::ExitCode::ResumeRefused, "{err}");
    let left: Vec<String> = r.keys("wp:post_meta:*").await.unwrap();
    let expected: Vec<String> = if paid_first { vec![format!("wp:post_meta:{}", ids[0])] } else { Vec::new() };
    assert_eq!(left, expected, "the owed products' entries went, a paid one's stayed");
    let owed: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_cache_owed").await;
    assert_eq!(owed, 0, "nothing is owed any more");
    drop(back);
    shop.drop_db().await;
}

#[tokio::test]
async fn check_counts_the_sites_keys_and_fails_when_the_prefix_finds_none() {
    let shop = TestShop::new().await;
    let p = prefix();
    let mut r = redis().await;
    let _: () = r.set(format!("{p}wp:post_meta:1"), "a:0:{}").await.unwrap();
    let _: () = r.set(format!("{p}wp:options:alloptions"), "a:0:{}").await.unwrap();
    let right = shop.settings("sku,stock\nA-1,1\n", &cache_config(&p));
    let checks = woosync::check::run(&right).await;
    let cache = checks.iter().find(|c| c.name == "cache").unwrap();
    assert!(cache.ok && cache.detail.contains("2 keys match"), "{}", cache.line());

    let wrong = shop.settings("sku,stock\nA-1,1\n", &cache_config("no-such-prefix:"));
    let checks = woosync::check::run(&wrong).await;
    let cache = checks.iter().find(|c| c.name == "cache").unwrap();
    assert!(!cache.ok && cache.detail.contains("set [object_cache] prefix and database as WP_REDIS_PREFIX"), "{}", cache.line());
    assert_eq!(woosync::check::exit_code(&checks), woosync::error::ExitCode::Cache);
    forget(&mut r, &p).await;
    shop.drop_db().await;
}

#[tokio::test]
async fn flush_mode_with_a_prefix_deletes_that_prefix_only() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("A-1", "10", 5)]).await;
    let (mine, other) = (prefix(), prefix());
    let mut r = redis().await;
    for p in [&mine, &other] {
        let _: () = r.set(format!("{p}wp:post_meta:1"), "a:0:{}").await.unwrap();
        let _: () = r.set(format!("{p}custom-layout-key"), "x").await.unwrap();
    }
    let settings = shop.settings("sku,regular_price\nA-1,12\n", &format!("{}mode = \"flush\"\n", cache_config(&mine)));
    shop.sync(&settings).await;
    assert!(dump(&mut r, &mine).await.is_empty(), "every key under the prefix went");
    assert_eq!(dump(&mut r, &other).await.len(), 2, "another prefix is untouched");
    forget(&mut r, &other).await;
    shop.drop_db().await;
}

#[tokio::test]
async fn a_crash_between_a_chunks_commit_and_its_invalidation_is_made_good_by_the_next_run() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5)]).await;
    let p = prefix();
    let mut r = redis().await;
    let key = format!("{p}wp:post_meta:{}", ids[0]);
    let _: () = r.set(&key, "a:0:{}").await.unwrap();
    let config = shop.config("sku,regular_price\nA-1,12\n", &cache_config(&p));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync"))
        .args(["sync", "--config"])
        .arg(&config)
        .env("WOOSYNC_CRASH_AT", "chunk-1-committed")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "killed at the crash point: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("12"), "the chunk committed");
    let _: String = r.get(&key).await.expect("the crash left the entry in the cache");
    let owed: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_cache_owed").await;
    assert_eq!(owed, 1);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let gone: bool = r.exists(&key).await.unwrap();
    assert!(!gone, "the next run paid the debt");
    let owed: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_cache_owed").await;
    assert_eq!(owed, 0);
    forget(&mut r, &p).await;
    shop.drop_db().await;
}

#[tokio::test]
async fn doctor_samples_the_cache_against_the_database() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5), Spec::simple("A-2", "10", 5), Spec::simple("A-3", "10", 5)]).await;
    let p = prefix();
    let mut r = redis().await;
    let entry = |price: &str| {
        let meta: std::collections::HashMap<String, Vec<String>> = [("_sku", "x"), ("_price", price), ("_regular_price", "10"), ("_stock", "5"), ("_stock_status", "instock")]
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect();
        php_serde::to_vec(&meta).unwrap()
    };
    let _: () = r.set(format!("{p}wp:post_meta:{}", ids[0]), entry("10")).await.unwrap();
    let _: () = r.set(format!("{p}wp:post_meta:{}", ids[1]), entry("9")).await.unwrap();
    let settings = shop.settings("sku,stock\nA-1,5\n", &cache_config(&p));
    let sample = woosync::run::cache_sample(&settings, 100).await.unwrap();
    assert_eq!((sample.sampled, sample.cached), (3, 2));
    assert_eq!(sample.stale.len(), 1, "{:?}", sample.stale);
    assert_eq!((sample.stale[0].id, sample.stale[0].key, sample.stale[0].cached.as_str(), sample.stale[0].stored.as_str()), (ids[1], "_price", "9", "10"));
    forget(&mut r, &p).await;
    shop.drop_db().await;
}

#[tokio::test]
async fn doctor_fix_invalidates_what_it_repairs() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5), Spec::simple("A-2", "10", 5)]).await;
    shop.conn.query_drop(format!("UPDATE wp_postmeta SET meta_value = '99' WHERE post_id = {} AND meta_key = '_price'", ids[0])).await.unwrap();
    let p = prefix();
    let mut r = redis().await;
    for id in &ids {
        let _: () = r.set(format!("{p}wp:post_meta:{id}"), "a:0:{}").await.unwrap();
    }
    let settings = shop.settings("sku,stock\nA-1,5\n", &cache_config(&p));
    woosync::run::doctor(&settings, true, None, &woosync::run::Shutdown::default(), &woosync::run::Quiet).await.unwrap();
    assert_eq!(shop.one(ids[0], "_price").await.as_deref(), Some("10"), "repaired");
    let repaired: bool = r.exists(format!("{p}wp:post_meta:{}", ids[0])).await.unwrap();
    let untouched: bool = r.exists(format!("{p}wp:post_meta:{}", ids[1])).await.unwrap();
    assert!(!repaired && untouched, "the repaired product's entry went, the sound one's stayed");
    forget(&mut r, &p).await;
    shop.drop_db().await;
}

#[tokio::test]
async fn categories_drop_their_terms_the_moved_products_relationships_and_the_tree_option() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5), Spec::simple("A-2", "10", 5)]).await;
    let (a1, a2) = (ids[0], ids[1]);
    let p = prefix();
    let mut r = redis().await;
    let seed: Vec<(String, String)> = vec![
        (format!("{p}wp:options:alloptions"), "a:1:{s:20:\"product_cat_children\";s:6:\"a:0:{}\";}".into()),
        (format!("{p}wp:terms:15"), "O:7:\"WP_Term\":0:{}".into()),
        (format!("{p}wp:term_meta:15"), "a:0:{}".into()),
        (format!("{p}wp:product_cat_relationships:{a1}"), "a:1:{i:0;i:15;}".into()),
        (format!("{p}wp:product_cat_relationships:{a2}"), "a:1:{i:0;i:15;}".into()),
        (format!("{p}wp:terms:last_changed"), "0.10000000 100".into()),
    ];
    for (k, v) in &seed {
        let _: () = r.set(k, v).await.unwrap();
    }
    let feed = "sku,name,regular_price,stock,category\nA-1,A,10,5,Одежда > Боди\nA-2,B,10,5,\n";
    let s = shop.settings(feed, &format!("[source.columns]\ncategory = \"category\"\n[sync]\nupdate_content = [\"categories\"]\n{}", cache_config(&p)));
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.updated, 1, "{}", shop.report());
    let after = dump(&mut r, &p).await;
    let gone = |k: &str| !after.contains_key(&format!("{p}wp:{k}"));
    assert!(gone("options:alloptions"), "the new tree's option is autoloaded: {after:?}");
    assert!(gone(&format!("product_cat_relationships:{a1}")), "the moved product's categories");
    assert!(gone("terms:15") && gone("term_meta:15"), "Uncategorized's count and count meta moved");
    assert!(!gone(&format!("product_cat_relationships:{a2}")), "an unchanged product's entry stays: {after:?}");
    assert_ne!(after[&format!("{p}wp:terms:last_changed")].0, "0.10000000 100");
    forget(&mut r, &p).await;
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_attribute_drops_the_attribute_list_and_the_autoloaded_options() {
    let shop = TestShop::new().await;
    let p = prefix();
    let mut r = redis().await;
    let seed: Vec<(String, String)> = vec![
        (format!("{p}wp:options:alloptions"), "a:1:{s:4:\"cron\";s:6:\"a:0:{}\";}".into()),
        (format!("{p}wp:transient:wc_attribute_taxonomies"), "a:0:{}".into()),
        (format!("{p}wp:woocommerce-attributes:wc_woocommerce-attributes_cache_prefix"), "0.1 100".into()),
        (format!("{p}wp:terms:last_changed"), "0.10000000 100".into()),
    ];
    for (k, v) in &seed {
        let _: () = r.set(k, v).await.unwrap();
    }
    let feed = "sku,name,regular_price,stock,Размер\nA-1,A,10,5,42\n";
    let s = shop.settings(feed, &format!("[source.attributes]\n\"Размер\" = \"Размер\"\n{}", cache_config(&p)));
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.created, 1, "{}", shop.report());
    let after = dump(&mut r, &p).await;
    let gone = |k: &str| !after.contains_key(&format!("{p}wp:{k}"));
    assert!(gone("transient:wc_attribute_taxonomies"), "WooCommerce registers pa_* from it: {after:?}");
    assert!(gone("woocommerce-attributes:wc_woocommerce-attributes_cache_prefix"), "the attribute cache group is orphaned");
    assert!(gone("options:alloptions"), "cron (the rewrite flush) is autoloaded");
    assert_ne!(after[&format!("{p}wp:terms:last_changed")].0, "0.10000000 100");

    // A second run creates nothing and leaves a re-filled list alone.
    let _: () = r.set(format!("{p}wp:transient:wc_attribute_taxonomies"), "a:1:{}").await.unwrap();
    shop.sync(&s).await;
    assert!(dump(&mut r, &p).await.contains_key(&format!("{p}wp:transient:wc_attribute_taxonomies")));
    forget(&mut r, &p).await;
    shop.drop_db().await;
}
