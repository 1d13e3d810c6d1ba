//! `woosync-bench`: makes a WooCommerce-shaped shop of N products in MariaDB (≈21 meta rows per
//! product, lookup rows, type/category/out-of-stock terms; 1 in 50 products variable with three
//! variations) and times the real `woosync` binary on it in the scenarios the targets name:
//! a run with nothing to do, 1% changed (steady state), 50% changed (full run), and 50,000 new
//! products. Prints wall time, changed products per second and peak RSS of each run.
//!
//! Usage: woosync-bench --url mysql://user:pass@127.0.0.1:3306 --products 200000
//! (`scripts/bench.sh` sets up the login and the buffer pool and calls this.)
//!
//! `--parse ROWS` times the sources instead: a ROWS-row CSV feed and a CommerceML `offers.xml`
//! with ROWS/5 offers are read, normalised and frozen into a run journal, each in a child
//! process whose wall time and peak RSS are reported.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use woosync::fixture::{self, Spec};

struct Args {
    url: String,
    products: usize,
    creates: usize,
    reuse: bool,
    demo: bool,
    parse: Option<usize>,
    parse_child: Option<PathBuf>,
    /// A Redis to hold the shop's object cache for the object-cache scenarios.
    redis: Option<String>,
    /// Only the whole-card scenarios (variable products, attributes) after the baseline.
    cards_only: bool,
    /// Only the marketplace feed scenarios after the baseline.
    feeds_only: bool,
    /// `--pictures N`: N pictures stored into an uploads folder (no database).
    pictures: Option<usize>,
    /// `--picture-sync N`: N new products with 3 pictures each, created by a sync.
    picture_sync: Option<usize>,
}

fn args() -> Args {
    let mut a = Args { url: String::new(), products: 200_000, creates: 50_000, reuse: false, demo: false, parse: None, parse_child: None, redis: None, cards_only: false, feeds_only: false, pictures: None, picture_sync: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--url" => a.url = it.next().expect("--url URL"),
            "--products" => a.products = it.next().and_then(|v| v.parse().ok()).expect("--products N"),
            "--creates" => a.creates = it.next().and_then(|v| v.parse().ok()).expect("--creates N"),
            "--reuse" => a.reuse = true,
            "--redis" => a.redis = Some(it.next().expect("--redis redis://127.0.0.1:6379")),
            "--demo" => a.demo = true,
            "--cards-only" => a.cards_only = true,
            "--feeds-only" => a.feeds_only = true,
            "--parse" => a.parse = Some(it.next().and_then(|v| v.parse().ok()).expect("--parse ROWS")),
            "--pictures" => a.pictures = Some(it.next().and_then(|v| v.parse().ok()).expect("--pictures N")),
            "--picture-sync" => a.picture_sync = Some(it.next().and_then(|v| v.parse().ok()).expect("--picture-sync N")),
            "--parse-child" => a.parse_child = Some(PathBuf::from(it.next().expect("--parse-child CONFIG"))),
            other => panic!("unknown argument {other}; usage: woosync-bench --url mysql://user:pass@host:3306 [--products N] [--creates N] [--reuse] [--redis URL]"),
        }
    }
    if a.url.is_empty() && a.parse_child.is_none() && a.pictures.is_none() {
        a.url = std::env::var("WOOSYNC_TEST_DATABASE_URL").expect("--url or WOOSYNC_TEST_DATABASE_URL");
    }
    a.url = a.url.trim_end_matches('/').to_string();
    a
}

/// What the bench believes each sellable SKU holds: price in cents and stock.
struct Item {
    sku: String,
    cents: u64,
    stock: i64,
    /// A category path (the category scenarios' new products only).
    category: Option<String>,
    /// The variable-product scenario: the parent's SKU (variations), and the three attributes'
    /// values (size, colour, material); a parent row has no price or stock of its own.
    card: Option<Box<Card>>,
}

struct Card {
    parent: Option<String>,
    values: [String; 3],
}

/// The `i`-th of 450 leaves of a three-level tree of 500 categories (5 roots × 9 × 10).
fn category_of(i: usize) -> String {
    let leaf = i % 450;
    let (root, sub) = (leaf / 90, leaf / 10);
    format!("Раздел {root} > Подраздел {root}.{sub} > Категория {root}.{sub}.{leaf}")
}

fn price(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    if a.demo {
        return demo_shop(&a.url).await;
    }
    if let Some(config) = &a.parse_child {
        return parse_child(config).await;
    }
    if let Some(n) = a.pictures {
        return pictures_bench(n);
    }
    if let Some(rows) = a.parse {
        return parse_bench(&a.url, rows).await;
    }
    if let Some(n) = a.picture_sync {
        return picture_sync_bench(&a.url, n).await;
    }
    let db = format!("woosync_bench_{}", a.products);
    let mut admin = Conn::new(Opts::from_url(&a.url).unwrap()).await.expect("connect");
    let pool: u64 = admin.query_first("SELECT @@innodb_buffer_pool_size").await.unwrap().unwrap();
    let version: String = admin.query_first("SELECT VERSION()").await.unwrap().unwrap();
    let url = format!("{}/{db}", a.url);

    let mut items = build_items(a.products);
    let exists: Option<u64> = admin
        .exec_first("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'wp_posts'", (&db,))
        .await
        .unwrap();
    if !(a.reuse && exists == Some(1)) {
        fresh_database(&mut admin, &db).await;
        let mut conn = Conn::new(Opts::from_url(&url).unwrap()).await.unwrap();
        let t = Instant::now();
        fixture::provision(&mut conn, "wp_").await.unwrap();
        generate(&mut conn, a.products).await;
        let rows: u64 = conn.query_first("SELECT COUNT(*) FROM wp_postmeta").await.unwrap().unwrap();
        eprintln!("generated {} products ({} meta rows) in {:.1}s", a.products, rows, t.elapsed().as_secs_f64());
    } else {
        eprintln!("reusing {db}; re-syncing it to the baseline first");
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap().with_file_name("woosync");

    println!(
        "woosync benchmark: {} products ({} feed SKUs incl. variations), MariaDB {version}, innodb_buffer_pool_size {} MiB",
        a.products,
        items.len(),
        pool >> 20
    );
    println!("| scenario | feed rows | changed | wall s | changed/s | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|");

    // Baseline: the feed says what the shop holds (a reused shop is brought back to it).
    let plain = Scenario { exe: &exe, dir: &dir, url: &url, extra: String::new() };
    plain.run("baseline (feed = shop)", &items, &[], 0).await;
    if a.cards_only {
        return whole_cards(&plain, items, a.creates).await;
    }
    if a.feeds_only {
        return feeds(&plain, &mut items).await;
    }
    plain.run("nothing changed", &items, &[], 0).await;
    let n = items.len();
    let changed = change(&mut items, n / 100, 1);
    plain.run("steady state: 1% changed", &items, &[], changed).await;
    let changed = change(&mut items, n / 2, 2);
    plain.run("full: 50% price+stock changed", &items, &[], changed).await;
    if let Some(redis) = &a.redis {
        object_cache(&plain, redis, &mut items).await;
    }
    let new: Vec<Item> = (0..a.creates).map(|i| Item { sku: format!("NEW-{i:07}"), cents: 1000 + i as u64, stock: (i % 20) as i64, category: None, card: None }).collect();
    plain.run(&format!("create {} new products", a.creates), &items, &new, a.creates).await;
    // Product cards: new products in a three-level tree of 500 categories (created by the run),
    // then the steady state with categories kept in step and nothing to change.
    let mut items: Vec<Item> = items.into_iter().chain(new).collect();
    let carded: Vec<Item> = (0..a.creates).map(|i| Item { sku: format!("CARD-{i:07}"), cents: 2000 + i as u64, stock: (i % 20) as i64, category: Some(category_of(i)), card: None }).collect();
    plain.run(&format!("create {} new products in 500 new categories", a.creates), &items, &carded, a.creates).await;
    items.extend(carded);
    // The same shop and feed rows three ways, alternated three times (the machine is noisy).
    let bare: Vec<Item> = items.iter().map(|it| Item { category: None, sku: it.sku.clone(), card: None, ..*it }).collect();
    let content = Scenario { extra: "[sync]\nupdate_content = [\"categories\"]\n".into(), ..plain.clone() };
    for _ in 0..3 {
        plain.run("nothing changed (no category column)", &bare, &[], 0).await;
        plain.run("nothing changed (category column, no update_content)", &items, &[], 0).await;
        content.run("nothing changed, update_content = [\"categories\"]", &items, &[], 0).await;
    }
    whole_cards(&plain, items, a.creates).await;
}

/// Whole cards: 40,000 simple products and 10,000 variable ones with 4 sizes each (90,000
/// posts) in the 500-category tree, with three global attributes (size varies; colour and
/// material go on the parent); then the steady state.
async fn whole_cards(plain: &Scenario<'_>, mut items: Vec<Item>, creates: usize) {
    let cards = card_items(creates);
    let posts = cards.len();
    let carded = Scenario { extra: CARD_CONFIG.into(), ..plain.clone() };
    carded.run(&format!("create {creates} products ({} variable × 4 sizes): {posts} feed rows, 3 attributes", creates / 5), &items, &cards, posts).await;
    items.extend(cards);
    // The steady state with and without the card fields kept in step (the first run with them
    // gives every product the feed's name: it converges before the timed ones).
    let fields = "update_content = [\"categories\", \"attributes\", \"name\", \"description\", \"short_description\", \"gtin\"]\n";
    let content = Scenario { extra: format!("{CARD_CONFIG}{fields}"), ..plain.clone() };
    content.run("converge: names kept in step (first run)", &items, &[], 0).await;
    for _ in 0..3 {
        carded.run("nothing changed (cards with attributes and variations)", &items, &[], 0).await;
        content.run("nothing changed, update_content = all six card fields", &items, &[], 0).await;
    }
}

const CARD_CONFIG: &str = "[source.columns]\ncategory = \"category\"\n\
                           [source.attributes]\n\"Размер\" = \"size\"\n\"Цвет\" = \"colour\"\n\"Материал\" = \"material\"\n\
                           [sync]\nattribute_slugs = { \"Размер\" = \"razmer\", \"Цвет\" = \"cvet\", \"Материал\" = \"material\" }\n";

/// `creates` products: a fifth of them variable, each a parent row and 4 variation rows.
fn card_items(creates: usize) -> Vec<Item> {
    const SIZES: [&str; 4] = ["42", "44", "46", "48"];
    const COLOURS: [&str; 6] = ["Белый", "Чёрный", "Красный", "Синий", "Зелёный", "Серый"];
    const MATERIALS: [&str; 4] = ["Хлопок", "Лён", "Шерсть", "Полиэстер"];
    let mut out = Vec::new();
    for i in 0..creates {
        let values = |size: &str| [size.to_string(), COLOURS[i % 6].to_string(), MATERIALS[i % 4].to_string()];
        let category = Some(category_of(i));
        if i % 5 == 4 {
            let parent = format!("VAR-{i:07}");
            out.push(Item { sku: parent.clone(), cents: 0, stock: 0, category, card: Some(Box::new(Card { parent: None, values: values("") })) });
            for (v, size) in SIZES.iter().enumerate() {
                let card = Card { parent: Some(parent.clone()), values: values(size) };
                out.push(Item { sku: format!("{parent}-{size}"), cents: 3000 + v as u64 * 100, stock: (v % 3) as i64, category: None, card: Some(Box::new(card)) });
            }
        } else {
            out.push(Item { sku: format!("SIMPLE-{i:07}"), cents: 2500, stock: (i % 20) as i64, category, card: Some(Box::new(Card { parent: None, values: values("S") })) });
        }
    }
    out
}

/// The same runs with and without the shop's object cache in Redis, which holds every
/// product's `post_meta` and `posts` entries (as a warm Redis Object Cache does) before each.
async fn object_cache(plain: &Scenario<'_>, redis: &str, items: &mut [Item]) {
    const PREFIX: &str = "woosync_bench:";
    let mut db = Conn::new(Opts::from_url(plain.url).unwrap()).await.unwrap();
    let ids: Vec<u64> = db.query("SELECT ID FROM wp_posts WHERE post_type IN ('product', 'product_variation')").await.unwrap();
    let mut cache = redis::Client::open(redis).unwrap().get_multiplexed_async_connection().await.expect("connect to --redis");
    let cached = Scenario { extra: format!("[object_cache]\ntype = \"redis\"\nurl = \"{redis}\"\nprefix = \"{PREFIX}\"\n"), ..*plain };
    let n = items.len();
    for (share, round) in [(100, 3), (2, 5)] {
        for (scenario, with_cache) in [(plain, false), (&cached, true)] {
            seed(&mut cache, PREFIX, &ids).await;
            let changed = change(items, n / share, round + with_cache as u64);
            let name = format!("{}% changed, {}", 100 / share, if with_cache { "object cache on" } else { "no object cache" });
            scenario.run(&name, items, &[], changed).await;
        }
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{PREFIX}*")).query_async(&mut cache).await.unwrap();
    for batch in keys.chunks(10_000) {
        redis::cmd("DEL").arg(batch).query_async::<()>(&mut cache).await.unwrap();
    }
}

/// Every product's `post_meta` and `posts` entries, as WordPress caches them.
async fn seed(cache: &mut redis::aio::MultiplexedConnection, prefix: &str, ids: &[u64]) {
    for batch in ids.chunks(5_000) {
        let mut pipe = redis::pipe();
        for id in batch {
            pipe.cmd("SET").arg(format!("{prefix}wp:post_meta:{id}")).arg("a:3:{s:4:\"_sku\";a:1:{i:0;s:11:\"SKU-0000001\";}s:6:\"_price\";a:1:{i:0;s:5:\"10.00\";}s:6:\"_stock\";a:1:{i:0;s:1:\"5\";}}").ignore();
            pipe.cmd("SET").arg(format!("{prefix}wp:posts:{id}")).arg("O:7:\"WP_Post\":2:{s:2:\"ID\";i:1;s:11:\"post_status\";s:7:\"publish\";}").ignore();
        }
        pipe.query_async::<()>(cache).await.unwrap();
    }
}

fn build_items(products: usize) -> Vec<Item> {
    let mut items = Vec::new();
    for i in 0..products {
        if i % 50 == 49 {
            for v in 0..3 {
                items.push(Item { sku: format!("SKU-{i:07}-{v}"), cents: 1500 + v * 100, stock: 5, category: None, card: None });
            }
        } else {
            items.push(Item { sku: format!("SKU-{i:07}"), cents: 1000 + (i as u64 % 9000), stock: (i % 40) as i64, category: None, card: None });
        }
    }
    items
}

async fn generate(conn: &mut Conn, products: usize) {
    let mut next_id = 100u64;
    let mut batch: Vec<Spec> = Vec::new();
    for i in 0..products {
        let spec = if i % 50 == 49 {
            Spec::variable(&format!("SKU-{i:07}"), (0..3).map(|v| Spec::simple(&format!("SKU-{i:07}-{v}"), &price(1500 + v * 100), 5)).collect())
        } else {
            Spec::simple(&format!("SKU-{i:07}"), &price(1000 + (i as u64 % 9000)), (i % 40) as i64)
        };
        batch.push(spec);
        if batch.len() == 2000 || i + 1 == products {
            let ids = fixture::insert_bulk(conn, "wp_", &batch, next_id).await.unwrap();
            next_id = ids.last().unwrap() + 1;
            batch.clear();
        }
    }
    fixture::recount(conn, "wp_").await.unwrap();
}

/// Changes price and stock of `count` items spread over the catalogue; returns how many changed.
fn change(items: &mut [Item], count: usize, round: u64) -> usize {
    let step = (items.len() / count.max(1)).max(1);
    let mut changed = 0;
    for item in items.iter_mut().step_by(step).take(count) {
        item.cents += 100 * round;
        item.stock = (item.stock + 7) % 50;
        changed += 1;
    }
    changed
}

/// Where a scenario runs: the binary, its directory, the shop, and config to add.
#[derive(Clone)]
struct Scenario<'a> {
    exe: &'a Path,
    dir: &'a tempfile::TempDir,
    url: &'a str,
    extra: String,
}

impl Scenario<'_> {
async fn run(&self, name: &str, items: &[Item], new: &[Item], changed: usize) {
    let (exe, dir, url) = (self.exe, self.dir, self.url);
    let feed = dir.path().join("feed.csv");
    let mut text = String::with_capacity(items.len() * 32);
    let categories = items.iter().chain(new).any(|it| it.category.is_some());
    let cards = items.iter().chain(new).any(|it| it.card.is_some());
    text.push_str(match (categories, cards) {
        (_, true) => "sku,name,regular_price,stock,category,parent_sku,size,colour,material\n",
        (true, false) => "sku,name,regular_price,stock,category\n",
        _ => "sku,name,regular_price,stock\n",
    });
    for it in items.iter().chain(new) {
        match &it.card {
            // A variable parent's row: no price or stock of its own.
            Some(c) if c.parent.is_none() && it.sku.starts_with("VAR-") => text.push_str(&format!("{},Bench {},,", it.sku, it.sku)),
            _ => text.push_str(&format!("{},Bench {},{},{}", it.sku, it.sku, price(it.cents), it.stock)),
        }
        if categories || cards {
            text.push(',');
            text.push_str(it.category.as_deref().unwrap_or(""));
        }
        if cards {
            match &it.card {
                Some(c) => text.push_str(&format!(",{},{},{},{}", c.parent.as_deref().unwrap_or(""), c.values[0], c.values[1], c.values[2])),
                None => text.push_str(",,,,"),
            }
        }
        text.push('\n');
    }
    std::fs::write(&feed, text).unwrap();
    let config: PathBuf = dir.path().join("bench.toml");
    let columns = if categories && !self.extra.contains("[source.columns]") { "[source.columns]\ncategory = \"category\"\n" } else { "" };
    std::fs::write(&config, format!("[database]\ntable_prefix = \"wp_\"\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n{columns}{}", self.extra)).unwrap();
    let started = Instant::now();
    let child = Command::new(exe)
        .args(["sync", "--config"])
        .arg(&config)
        .env("WOOSYNC_DATABASE_URL", url)
        .env("WOOSYNC_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run woosync");
    let (status, rss_kib) = wait_with_rusage(child.id() as i32);
    let wall = started.elapsed().as_secs_f64();
    assert!(status == 0, "woosync exited with {status} in scenario {name}");
    let rate = if changed > 0 { format!("{:.0}", changed as f64 / wall) } else { "-".into() };
    println!("| {name} | {} | {changed} | {wall:.2} | {rate} | {:.0} |", items.len() + new.len(), rss_kib as f64 / 1024.0);
}
}

/// Makes the shop's products feed-shaped (once): a 3-level tree of 500 categories with every
/// product in a leaf, a 600-byte HTML description each, 10,000 pictures as featured images and
/// permalinks under `/%postname%/`.
async fn feed_shaped(url: &str) {
    let mut conn = Conn::new(Opts::from_url(url).unwrap()).await.unwrap();
    let done: Option<String> = conn.query_first("SELECT option_value FROM wp_options WHERE option_name = 'woosync_bench_feeds'").await.unwrap();
    if done.as_deref() == Some("2") {
        return;
    }
    let t = Instant::now();
    // Version 1 of the shape had the categories and descriptions, and 10,000 pictures shared.
    if done.is_none() {
        let mut tt = Vec::new();
        for i in 0..500u64 {
            let (name, parent) = match i {
                0..=9 => (format!("Раздел {i}"), 0),
                10..=99 => (format!("Группа {i}"), tt[(i as usize - 10) % 10]),
                _ => (format!("Вид {i} & Ко"), tt[10 + (i as usize - 100) % 90]),
            };
            conn.exec_drop("INSERT INTO wp_terms (name, slug, term_group) VALUES (?, ?, 0)", (name.replace('&', "&amp;"), format!("cat-{i}"))).await.unwrap();
            let term = conn.last_insert_id().unwrap();
            let parent_term: u64 = if parent == 0 { 0 } else { conn.exec_first("SELECT term_id FROM wp_term_taxonomy WHERE term_taxonomy_id = ?", (parent,)).await.unwrap().unwrap() };
            conn.exec_drop("INSERT INTO wp_term_taxonomy (term_id, taxonomy, description, parent, count) VALUES (?, 'product_cat', '', ?, 0)", (term, parent_term)).await.unwrap();
            tt.push(conn.last_insert_id().unwrap());
        }
        let first_leaf = tt[100];
        conn.query_drop(format!(
            "INSERT IGNORE INTO wp_term_relationships (object_id, term_taxonomy_id, term_order) SELECT ID, {first_leaf} + ID % 400, 0 FROM wp_posts WHERE post_type = 'product'"
        ))
        .await
        .unwrap();
        conn.query_drop(
            "UPDATE wp_posts SET post_content = CONCAT('<p>', REPEAT('Описание товара: ткань, размер, уход. ', 10), '</p><ul><li>Состав: хлопок</li></ul>') WHERE post_type = 'product'",
        )
        .await
        .unwrap();
    }
    // A picture of its own for every product: an attachment post and its file, as many as the
    // product IDs' span (variations' IDs among them get one no product shows).
    let (lo, hi): (u64, u64) = conn.query_first("SELECT MIN(ID), MAX(ID) FROM wp_posts WHERE post_type = 'product'").await.unwrap().unwrap();
    let first: u64 = conn.query_first::<u64, _>("SELECT MAX(ID) FROM wp_posts").await.unwrap().unwrap() + 1;
    let all: Vec<u64> = (0..=hi - lo).collect();
    for chunk in all.chunks(5000) {
        let posts: Vec<String> = chunk
            .iter()
            .map(|i| format!("({}, 1, '2026-01-01 10:00:00', '2026-01-01 07:00:00', '', 'pic-{i}', '', 'inherit', 'open', 'closed', 'pic-{i}', '', '', '2026-01-01 10:00:00', '2026-01-01 07:00:00', '', 0, '', 0, 'attachment', 'image/jpeg')", first + i))
            .collect();
        conn.query_drop(format!("INSERT INTO wp_posts (ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type) VALUES {}", posts.join(","))).await.unwrap();
        let meta: Vec<String> = chunk.iter().map(|i| format!("({}, '_wp_attached_file', '2026/01/product-picture-{i}.jpg')", first + i)).collect();
        conn.query_drop(format!("INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES {}", meta.join(","))).await.unwrap();
    }
    conn.query_drop(format!("UPDATE wp_postmeta SET meta_value = {first} + post_id - {lo} WHERE meta_key = '_thumbnail_id'")).await.unwrap();
    conn.query_drop("INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('permalink_structure', '/%postname%/', 'on') ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)").await.unwrap();
    conn.query_drop("INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('woosync_bench_feeds', '2', 'off') ON DUPLICATE KEY UPDATE option_value = '2'").await.unwrap();
    eprintln!("made the shop feed-shaped in {:.1}s", t.elapsed().as_secs_f64());
}

/// The marketplace feeds: one Yandex feed of the whole shop, then three feeds (Yandex, Ozon
/// split by a filter, Megamarket) in one run; then a steady-state sync with and without
/// `[feeds] after_sync` writing the Yandex feed (alternated three times: the machine is noisy).
async fn feeds(plain: &Scenario<'_>, items: &mut [Item]) {
    feed_shaped(plain.url).await;
    let one = "[feeds]\nmin_offers_percent = 0\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n";
    let three = format!(
        "{one}[[feeds.file]]\nname = \"ozon\"\nformat = \"ozon\"\npath = \"ozon.xml\"\nwarehouse = \"Склад\"\nexclude_categories = [\"cat-0\"]\n\
         [[feeds.file]]\nname = \"mm\"\nformat = \"megamarket\"\npath = \"mm.xml\"\nwarehouse = \"1\"\nshipment_days = 1\n"
    );
    for (name, extra) in [("feed: one Yandex feed", one.to_string()), ("feed: Yandex + Ozon + Megamarket in one run", three.clone()), ("feed: one Yandex feed", one.to_string())] {
        let config = plain.dir.path().join("feeds.toml");
        std::fs::write(&config, format!("[database]\ntable_prefix = \"wp_\"\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n{extra}")).unwrap();
        let started = Instant::now();
        let child = Command::new(plain.exe).args(["feed", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", plain.url).env("WOOSYNC_LOG", "warn").stdout(std::process::Stdio::null()).spawn().unwrap();
        let (status, rss_kib) = wait_with_rusage(child.id() as i32);
        let wall = started.elapsed().as_secs_f64();
        assert!(status == 0, "woosync feed exited with {status}");
        let bytes = std::fs::metadata(plain.dir.path().join("ym.xml")).map(|m| m.len()).unwrap_or(0);
        println!("| {name} (ym.xml {:.0} MB) | {} | - | {wall:.2} | - | {:.0} |", bytes as f64 / 1e6, items.len(), rss_kib as f64 / 1024.0);
    }
    let with = Scenario { extra: one.replace("[feeds]\n", "[feeds]\nafter_sync = true\n"), ..plain.clone() };
    let n = items.len();
    for round in 0..3 {
        let changed = change(items, n / 100, 10 + round * 2);
        plain.run("steady state: 1% changed", items, &[], changed).await;
        let changed = change(items, n / 100, 11 + round * 2);
        with.run("steady state: 1% changed, after_sync feed", items, &[], changed).await;
    }
}

/// `--pictures N`: N different 1600x1200 JPEG photos (about 250 KB each) stored as WordPress
/// stores uploads — the file, the nine registered sizes resized and encoded — by two threads
/// into a temporary uploads folder. Prints pictures per second and the peak RSS.
fn pictures_bench(n: usize) {
    use woosync::media::store::store;
    let sizes = woosync::woo::media::registered_sizes(&std::collections::HashMap::new());
    let uploads = tempfile::tempdir().unwrap();
    let inputs: Vec<Vec<u8>> = (0..8).map(photo).collect();
    println!("woosync picture store: {n} pictures of 1600x1200 ({} KB each), {} sizes, 2 threads", inputs[0].len() / 1024, sizes.len());
    let folder = woosync::media::store::Folder::new(uploads.path(), "2026/12");
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                store(&inputs[i % inputs.len()], &format!("Товар {i}.jpg"), &folder, &sizes).unwrap();
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let files = std::fs::read_dir(uploads.path().join("2026/12")).unwrap().count();
    println!("| pictures | files | wall s | pictures/s | peak RSS MiB |\n|---:|---:|---:|---:|---:|\n| {n} | {files} | {wall:.2} | {:.1} | {:.0} |", n as f64 / wall, usage.ru_maxrss as f64 / 1024.0);
}

/// A photo-like 1600x1200 JPEG (about 250 KB): gradients and noise, so JPEG cannot make it
/// trivially small.
fn photo(seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761);
    let img = image::RgbImage::from_fn(1600, 1200, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let noise = (x & 31) as u8;
        image::Rgb([((px / 7) as u8).wrapping_add(noise), ((py / 5) as u8).wrapping_add(noise / 2), (((px + py) / 11) as u8) ^ noise])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
    out
}

/// `photo` made a picture of its own: a JPEG comment segment after the start marker, so its
/// bytes (and hash) differ while it decodes to the same pixels.
fn unique_photo(base: &[u8], n: usize) -> Vec<u8> {
    let text = format!("woosync bench picture {n}");
    let mut out = Vec::with_capacity(base.len() + text.len() + 4);
    out.extend_from_slice(&base[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&base[2..]);
    out
}

/// `--picture-sync N`: a fresh shop; N new products, each naming three different 1600x1200 JPEG
/// photos beside the feed (a 1C export's `import_files`), created by one `woosync sync` with
/// `[wordpress]` (every picture stored at every registered size on both cores, its attachment
/// entered); then the same feed again with `update_content = ["images"]` (nothing to read).
async fn picture_sync_bench(server: &str, n: usize) {
    let db = "woosync_bench_pictures";
    let mut admin = Conn::new(Opts::from_url(server).unwrap()).await.expect("connect");
    fresh_database(&mut admin, db).await;
    let url = format!("{server}/{db}");
    let mut conn = Conn::new(Opts::from_url(&url).unwrap()).await.unwrap();
    fixture::provision(&mut conn, "wp_").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pics, uploads) = (dir.path().join("import_files"), dir.path().join("uploads"));
    std::fs::create_dir_all(&pics).unwrap();
    std::fs::create_dir_all(&uploads).unwrap();
    let bases: Vec<Vec<u8>> = (0..8).map(photo).collect();
    let mut feed = String::from("sku,name,regular_price,stock,images\n");
    let mut input_bytes = 0usize;
    for i in 0..n {
        let mut names = Vec::new();
        for k in 0..3 {
            let at = i * 3 + k;
            let bytes = unique_photo(&bases[at % bases.len()], at);
            input_bytes += bytes.len();
            let name = format!("import_files/p{i:05}-{k}.jpg");
            std::fs::write(dir.path().join(&name), bytes).unwrap();
            names.push(name);
        }
        feed.push_str(&format!("PIC-{i:05},Bench picture product {i},{},{},{}\n", price(1000 + i as u64), i % 20, names.join("|")));
    }
    std::fs::write(dir.path().join("feed.csv"), feed).unwrap();
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\ntable_prefix = \"wp_\"\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n[wordpress]\nuploads_dir = \"{}\"\nuploads_url = \"https://bench.example/wp-content/uploads\"\n[sync]\nupdate_content = [\"images\"]\n",
            uploads.display()
        ),
    )
    .unwrap();
    let version: String = admin.query_first("SELECT VERSION()").await.unwrap().unwrap();
    println!(
        "woosync picture sync: {n} new products x 3 pictures (1600x1200 JPEG, {} MB in all), MariaDB {version}, 2 cores",
        input_bytes >> 20
    );
    println!("| scenario | products | pictures | files made | wall s | pictures/s | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().unwrap().with_file_name("woosync");
    for (name, pictures) in [("create with pictures", n * 3), ("the same feed again (update_content = [\"images\"])", 0)] {
        let started = Instant::now();
        let child = Command::new(&exe)
            .args(["sync", "--config"])
            .arg(&config)
            .env("WOOSYNC_DATABASE_URL", &url)
            .env("WOOSYNC_LOG", std::env::var("WOOSYNC_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run woosync");
        let (status, rss_kib) = wait_with_rusage(child.id() as i32);
        let wall = started.elapsed().as_secs_f64();
        assert!(status == 0, "woosync exited with {status} in scenario {name}");
        let files = count_files(&uploads);
        let rate = if pictures > 0 { format!("{:.1}", pictures as f64 / wall) } else { "-".into() };
        println!("| {name} | {n} | {pictures} | {files} | {wall:.2} | {rate} | {:.0} |", rss_kib as f64 / 1024.0);
    }
    let runs: Vec<(String, u64, u64, u64)> = conn.query("SELECT state, created, updated, unchanged FROM wp_woosync_runs ORDER BY id").await.unwrap();
    println!("runs (state, created, updated, unchanged): {runs:?}");
    let attachments: u64 = conn.query_first("SELECT COUNT(*) FROM wp_posts WHERE post_type = 'attachment'").await.unwrap().unwrap();
    let with_gallery: u64 = conn.query_first("SELECT COUNT(*) FROM wp_postmeta WHERE meta_key = '_product_image_gallery' AND meta_value LIKE '%,%'").await.unwrap().unwrap();
    assert_eq!((attachments, with_gallery), ((n * 3) as u64, n as u64), "every picture entered once, every product with a two-picture gallery");
    let _ = conn.disconnect().await;
    admin.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// Files under a folder, all levels.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()).unwrap_or(0)
}

/// Drops the bench database `db` if it is there and makes it again, empty, in the shop's charset.
async fn fresh_database(admin: &mut Conn, db: &str) {
    admin.query_drop(format!("DROP DATABASE IF EXISTS `{db}`")).await.unwrap();
    admin.query_drop(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")).await.unwrap();
}

/// Waits for the child and returns its exit code and peak resident set size (KiB).
fn wait_with_rusage(pid: i32) -> (i32, i64) {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    (code, usage.ru_maxrss)
}

/// `--parse ROWS`: source throughput. Writes the feeds, then runs a child per source.
async fn parse_bench(server: &str, rows: usize) {
    let db = "woosync_bench_parse";
    let mut admin = Conn::new(Opts::from_url(server).unwrap()).await.expect("connect");
    fresh_database(&mut admin, db).await;
    let url = format!("{server}/{db}");
    let dir = tempfile::tempdir().unwrap();

    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.path().join("feed.csv")).unwrap());
    writeln!(csv, "sku;name;regular_price;sale_price;stock").unwrap();
    for i in 0..rows {
        let sale = if i % 10 == 0 { price(900 + (i as u64 % 9000) - 100).replace('.', ",") } else { String::new() };
        writeln!(csv, "SKU-{i:07};Товар номер {i};{};{sale};{}", price(1000 + (i as u64 % 9000)).replace('.', ","), i % 40).unwrap();
    }
    csv.into_inner().unwrap().sync_all().unwrap();

    let offers = rows / 5;
    let mut xml = std::io::BufWriter::new(std::fs::File::create(dir.path().join("offers.xml")).unwrap());
    writeln!(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\">\n<ПакетПредложений СодержитТолькоИзменения=\"false\">").unwrap();
    writeln!(xml, "<ТипыЦен><ТипЦены><Ид>p-retail</Ид><Наименование>Розничная</Наименование></ТипЦены><ТипЦены><Ид>p-promo</Ид><Наименование>Акция</Наименование></ТипЦены></ТипыЦен>").unwrap();
    writeln!(xml, "<Склады><Склад><Ид>w-1</Ид><Наименование>Москва</Наименование></Склад><Склад><Ид>w-2</Ид><Наименование>СПб</Наименование></Склад></Склады>\n<Предложения>").unwrap();
    for i in 0..offers {
        writeln!(
            xml,
            "<Предложение>\n <Ид>{i:08x}-5e2c-11ee-8c99-0242ac120002</Ид>\n <Артикул>SKU-{i:07}</Артикул>\n <Наименование>Товар номер {i}</Наименование>\n \
             <БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\">шт</БазоваяЕдиница>\n <Цены>\n  <Цена><Представление>{p} руб. за шт</Представление><ИдТипаЦены>p-retail</ИдТипаЦены><ЦенаЗаЕдиницу>{p}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена>\n \
             <Цена><ИдТипаЦены>p-promo</ИдТипаЦены><ЦенаЗаЕдиницу>{s}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>\n </Цены>\n <Количество>{q}</Количество>\n \
             <Склад ИдСклада=\"w-1\" КоличествоНаСкладе=\"{a}\"/>\n <Склад ИдСклада=\"w-2\" КоличествоНаСкладе=\"{b}\"/>\n</Предложение>",
            p = price(2000 + (i as u64 % 9000)),
            s = price(1000 + (i as u64 % 900)),
            q = i % 40,
            a = i % 30,
            b = i % 10
        )
        .unwrap();
    }
    writeln!(xml, "</Предложения>\n</ПакетПредложений>\n</КоммерческаяИнформация>").unwrap();
    xml.into_inner().unwrap().sync_all().unwrap();

    let sources = [
        ("CSV (`;`, decimal commas)", "feed.csv", rows, "[source]\ntype = \"csv\"\npath = \"feed.csv\"\n"),
        (
            "CommerceML offers.xml (2 price types, 2 warehouses)",
            "offers.xml",
            offers,
            "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\n[source.columns]\nregular_price = \"Розничная\"\nsale_price = \"Акция\"\nstock = [\"Москва\", \"СПб\"]\n",
        ),
    ];
    let me = std::env::current_exe().unwrap();
    println!("| source | rows | file MiB | read + normalise + freeze s | process wall s | rows/s | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, file, n, section) in sources {
        // Let the server finish flushing the previous run's writes, so runs do not overlap.
        std::thread::sleep(std::time::Duration::from_secs(5));
        let config = dir.path().join("parse.toml");
        std::fs::write(&config, format!("[database]\ntable_prefix = \"wp_\"\n{section}")).unwrap();
        let size = std::fs::metadata(dir.path().join(file)).unwrap().len();
        let started = Instant::now();
        let child = Command::new(&me)
            .arg("--parse-child")
            .arg(&config)
            .env("WOOSYNC_DATABASE_URL", &url)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run the parse child");
        let pid = child.id() as i32;
        let mut out = child.stdout.expect("stdout");
        let (status, rss_kib) = wait_with_rusage(pid);
        let wall = started.elapsed().as_secs_f64();
        let mut line = String::new();
        std::io::Read::read_to_string(&mut out, &mut line).unwrap();
        assert!(status == 0, "the parse child failed on {name}");
        let f: Vec<f64> = line.split_whitespace().map(|v| v.parse().unwrap()).collect();
        assert_eq!(f[0] as usize, n, "{name}: every row read");
        println!(
            "| {name} | {n} | {:.0} | {:.2} | {wall:.2} | {:.0} | {:.0} |",
            size as f64 / 1048576.0,
            f[1],
            n as f64 / wall,
            rss_kib as f64 / 1024.0
        );
    }
    admin.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// The child of `--parse`: read, normalise and freeze one feed (frozen while it is read);
/// prints `rows seconds 0`.
async fn parse_child(config: &Path) {
    let settings = woosync::config::Settings::load(config).expect("config");
    let mut conn = Conn::new(Opts::from_url(settings.database_url.expose()).unwrap()).await.expect("connect");
    woosync::journal::ensure_tables(&mut conn, "wp_").await.unwrap();
    let run = woosync::journal::start_run(&mut conn, "wp_", &settings).await.unwrap();
    let t = Instant::now();
    let feed = woosync::run::read_and_freeze(&settings, &woosync::widths::Widths::stock("wp_"), &woosync::run::Quiet, Some((&mut conn, "wp_", run))).await.expect("read the feed");
    let read = t.elapsed().as_secs_f64();
    let frozen = 0.0;
    assert!(feed.rejections.is_empty(), "{:?}", feed.rejections.first());
    println!("{} {read} {frozen}", feed.items + feed.rejections.len());
}

/// `--demo`: (re)creates the `woosync_demo` database with a dozen products for `scripts/demo.sh`.
async fn demo_shop(server: &str) {
    let mut admin = Conn::new(Opts::from_url(server).unwrap()).await.expect("connect");
    admin.query_drop("DROP DATABASE IF EXISTS woosync_demo").await.unwrap();
    admin.query_drop("CREATE DATABASE woosync_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci").await.unwrap();
    let mut conn = Conn::new(Opts::from_url(&format!("{server}/woosync_demo")).unwrap()).await.unwrap();
    fixture::provision(&mut conn, "wp_").await.unwrap();
    let mut specs: Vec<Spec> = (1..=8).map(|i| Spec::simple(&format!("DEMO-{i:03}"), &format!("{}.00", i * 100), i as i64)).collect();
    specs[1] = specs[1].clone().sale("150.00");
    specs[7] = specs[7].clone().status("draft");
    specs.push(Spec::variable("DEMO-V", ["S", "M", "L"].iter().map(|s| Spec::simple(&format!("DEMO-V-{s}"), "990.00", 3)).collect()));
    fixture::insert(&mut conn, "wp_", &specs).await.unwrap();
    eprintln!("demo shop woosync_demo: 8 simple products, 1 variable product with 3 variations");
}
