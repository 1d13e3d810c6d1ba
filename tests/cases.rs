//! The bad-input corpus: every directory in `tests/cases/` is a feed (CSV, HTTP pages or
//! CommerceML) with a `case.toml` saying what must happen: the exit code, the error or the report
//! rows, the values written and the products left untouched. Each case runs against a fresh shop
//! holding A-1 (10.00, stock 5), A-2 (20.00, 3) and A-3 (30.00, 0).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use common::TestShop;
use mysql_async::prelude::*;
use serde::Deserialize;
use woosync::fixture::Spec;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    source: String,
    file: String,
    exit_code: i32,
    #[serde(default)]
    extra: String,
    error: Option<String>,
    #[serde(default)]
    report: Vec<String>,
    #[serde(default)]
    untouched: Vec<String>,
    #[serde(default)]
    written: BTreeMap<String, BTreeMap<String, String>>,
}

/// Serves `page-N.json` of a case directory for `/feed?page=N` (an empty page when absent).
async fn serve(dir: PathBuf) -> String {
    async fn page(State(dir): State<PathBuf>, Query(q): Query<BTreeMap<String, String>>) -> Vec<u8> {
        let n = q.get("page").cloned().unwrap_or_else(|| "1".into());
        std::fs::read(dir.join(format!("page-{n}.json"))).unwrap_or_else(|_| br#"{"items": []}"#.to_vec())
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/feed", listener.local_addr().unwrap().port());
    let app = Router::new().route("/feed", get(page)).with_state(dir);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Everything the shop holds about a SKU's product (post fields and meta), for comparisons.
async fn product_rows(shop: &mut TestShop, sku: &str) -> Option<Vec<(String, String)>> {
    let id = shop.id_of(sku).await?;
    let mut rows: Vec<(String, String)> = shop
        .conn
        .exec("SELECT meta_key, COALESCE(meta_value, '') FROM wp_postmeta WHERE post_id = ? ORDER BY meta_id", (id,))
        .await
        .unwrap();
    let post: (String, String, String) =
        shop.conn.exec_first("SELECT post_title, post_status, CAST(post_modified AS CHAR) FROM wp_posts WHERE ID = ?", (id,)).await.unwrap().unwrap();
    rows.push(("post_title".into(), post.0));
    rows.push(("post_status".into(), post.1));
    rows.push(("post_modified".into(), post.2));
    // The lookup row as `lookup.<column>` (NULL as "NULL").
    let lookup: Option<(String, String, String, String)> = shop
        .conn
        .exec_first(
            "SELECT COALESCE(CAST(min_price AS CHAR), 'NULL'), COALESCE(CAST(max_price AS CHAR), 'NULL'), CAST(onsale AS CHAR), \
             COALESCE(CAST(stock_quantity AS CHAR), 'NULL') FROM wp_wc_product_meta_lookup WHERE product_id = ?",
            (id,),
        )
        .await
        .unwrap();
    if let Some((min, max, onsale, qty)) = lookup {
        rows.extend([("lookup.min_price".into(), min), ("lookup.max_price".into(), max), ("lookup.onsale".into(), onsale), ("lookup.stock_quantity".into(), qty)]);
    }
    Some(rows)
}

async fn run(name: &str, dir: &Path) -> Result<(), String> {
    let case: Case = toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap()).map_err(|e| format!("case.toml: {e}"))?;
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("A-1", "10.00", 5), Spec::simple("A-2", "20.00", 3), Spec::simple("A-3", "30.00", 0)]).await;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, shop.dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let (source, columns) = match case.extra.find("[source.columns]") {
        Some(at) => (case.extra[..at].to_string(), case.extra[at..].to_string()),
        None => (case.extra.clone(), String::new()),
    };
    let section = match case.source.as_str() {
        "http" => {
            let url = serve(dir.to_path_buf()).await;
            format!("[source]\ntype = \"http\"\nurl = \"{url}\"\nitems = \"/items\"\nretries = 0\n{source}\n[source.paging]\ntype = \"page\"\n{columns}")
        }
        kind => format!("[source]\ntype = \"{kind}\"\npath = \"{}\"\n{source}\n{columns}", case.file),
    };
    let settings = shop.settings_source(&section, "");
    let mut before = BTreeMap::new();
    for sku in ["A-1", "A-2", "A-3"].iter().map(|s| s.to_string()).chain(case.untouched.iter().cloned()) {
        before.insert(sku.clone(), product_rows(&mut shop, &sku).await);
    }
    let snapshot = shop.snapshot().await;
    let result = shop.try_sync(&settings, false).await;
    let code = match &result {
        Ok(_) => 0,
        Err(e) => e.exit_code() as i32,
    };
    if code != case.exit_code {
        return Err(format!("exit code {code}, expected {}: {result:?}\n{}", case.exit_code, shop.report()));
    }
    if let Some(expected) = &case.error {
        let message = result.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
        if !message.contains(expected.as_str()) {
            return Err(format!("error {message:?}\ndoes not contain {expected:?}"));
        }
    }
    if code != 0 && snapshot != shop.snapshot().await {
        return Err("a failed run changed the shop".into());
    }
    let report = shop.report();
    for line in &case.report {
        if !report.lines().any(|l| l == line) {
            return Err(format!("report lacks the row\n{line}\nreport:\n{report}"));
        }
    }
    for sku in &case.untouched {
        if product_rows(&mut shop, sku).await != before[sku] {
            return Err(format!("{sku} was changed"));
        }
    }
    for (sku, fields) in &case.written {
        let rows = product_rows(&mut shop, sku).await.ok_or_else(|| format!("no product with SKU {sku:?}\n{report}"))?;
        for (key, value) in fields {
            let found: Vec<&String> = rows.iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect();
            if found != [value] {
                return Err(format!("{sku} {key} = {found:?}, expected {value:?}\n{report}"));
            }
        }
    }
    let tables: i64 = shop.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'wp_posts'").await;
    if tables != 1 {
        return Err(format!("{name}: wp_posts is gone"));
    }
    shop.drop_db().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_case_is_reported_and_nothing_wrong_is_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut names: Vec<String> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus has {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        if let Err(why) = run(name, &root.join(name)).await {
            failures.push(format!("── {name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), names.len(), failures.join("\n"));
}
