//! Hostile files and APIs: a spreadsheet whose used range reaches Excel's last cell, a gzip
//! response that inflates to a gigabyte, a next-page link that points back, an API of exactly
//! `max_pages` pages. Each is refused (or read) quickly, with bounded memory, never a crash.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::TestShop;
use serde_json::json;
use woosync::run::{self, Quiet};
use woosync::widths::Widths;

fn xlsx_source() -> &'static str {
    "[source]\ntype = \"xlsx\"\npath = \"book.xlsx\"\n"
}

#[tokio::test]
async fn a_spreadsheet_reaching_excels_last_cell_is_refused_without_aborting() {
    let mut shop = TestShop::new().await;
    let path = shop.dir.path().join("book.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "sku").unwrap();
    sheet.write_string(0, 1, "stock").unwrap();
    sheet.write_string(1, 0, "A-1").unwrap();
    sheet.write_number(1, 1, 4.0).unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    book.save(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 10_000);

    // Through the binary: a crash or an abort would not be an exit code 3.
    let config = shop.config_source(xlsx_source(), "");
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("[book.xlsx]Sheet1: the sheet's used range A1:XFD1048576 spans 17,179,869,184 cells, far beyond any product list")
            && stderr.contains("a stray value at XFD1048576?"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let products: u64 = shop.scalar("SELECT COUNT(*) FROM {p}posts WHERE post_type = 'product'").await;
    assert_eq!(products, 0);

    // A stray cell far down a narrow sheet is harmless: the sheet streams, the row is read.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "sku").unwrap();
    sheet.write_string(0, 1, "stock").unwrap();
    sheet.write_string(1, 0, "A-1").unwrap();
    sheet.write_number(1, 1, 4.0).unwrap();
    sheet.write_string(1_048_575, 25, "x").unwrap();
    book.save(&path).unwrap();
    let settings = shop.settings_source(xlsx_source(), "");
    let feed = run::read_feed(&settings, &Widths::stock("wp_"), &Quiet).await.unwrap();
    assert_eq!((feed.items, feed.rejections.len()), (1, 0));
    shop.drop_db().await;
}

#[derive(Clone, Default)]
struct Api {
    calls: Arc<AtomicUsize>,
}

type Params = Query<std::collections::HashMap<String, String>>;

fn page_param(q: &Params) -> usize {
    q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1)
}

async fn handle(State(api): State<Api>, uri: axum::http::Uri, q: Params) -> Response {
    api.calls.fetch_add(1, Ordering::SeqCst);
    let body = |v: serde_json::Value| ([("content-type", "application/json")], v.to_string()).into_response();
    match uri.path() {
        "/bomb" => ([("content-type", "application/json"), ("content-encoding", "gzip")], bomb()).into_response(),
        "/login" => ([("content-type", "text/html; charset=utf-8")], "<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>").into_response(),
        "/loop" => body(json!({"items": [{"sku": "L-1", "stock": 1}], "next": "/loop?page=1"})),
        // Three pages with items, then an empty one.
        "/three" => {
            let page = page_param(&q);
            let items: Vec<_> = if page <= 3 { (1..=2).map(|i| json!({"sku": format!("P-{page}-{i}"), "stock": 1})).collect() } else { vec![] };
            body(json!({"items": items}))
        }
        _ => (axum::http::StatusCode::NOT_FOUND, "no route").into_response(),
    }
}

/// 256 MiB of JSON whitespace around one item, gzipped to about 250 KB.
fn bomb() -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(br#"{"items": [{"sku": "B-1", "stock": 1}]"#).unwrap();
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..256 {
            gz.write_all(&spaces).unwrap();
        }
        gz.write_all(b"}").unwrap();
        gz.finish().unwrap()
    })
    .clone()
}

async fn serve() -> (String, Api) {
    let api = Api::default();
    (common::listen(Router::new().route("/{*path}", get(handle)).with_state(api.clone())).await, api)
}

/// The error reading a feed ends in (it must end in one).
async fn read_error(settings: &woosync::config::Settings) -> String {
    match run::read_feed(settings, &Widths::stock("wp_"), &Quiet).await {
        Ok(feed) => panic!("the feed was read: {} rows", feed.items),
        Err(e) => e.to_string(),
    }
}

fn http(base: &str, path: &str, more: &str) -> String {
    format!("[source]\ntype = \"http\"\nurl = \"{base}{path}\"\nitems = \"/items\"\ntimeout_secs = 20\nretries = 0\n{more}\n[source.columns]\nsku = \"sku\"\nstock = \"stock\"\n")
}

#[tokio::test]
async fn a_response_is_bounded_as_it_is_decoded() {
    let shop = TestShop::new().await;
    let (base, api) = serve().await;
    let settings = shop.settings_source(&http(&base, "/bomb", "max_response_mb = 16"), "");
    let compressed = bomb().len();
    assert!(compressed < 1 << 20, "{compressed} bytes");
    let started = Instant::now();
    let err = read_error(&settings).await;
    assert!(err.contains("page 1 (") && err.contains("the response is larger than 16 MiB once decoded ([source] max_response_mb)"), "{err}");
    assert_eq!(api.calls.load(Ordering::SeqCst), 1, "a response too large is not fetched again");
    eprintln!("refused a {compressed}-byte gzip bomb in {:?}", started.elapsed());
    shop.drop_db().await;
}

#[tokio::test]
async fn a_next_link_back_to_a_page_already_read_fails_at_once() {
    let shop = TestShop::new().await;
    let (base, api) = serve().await;
    let settings = shop.settings_source(&http(&base, "/loop?page=1", "[source.paging]\ntype = \"next\"\nnext = \"/next\""), "");
    let err = read_error(&settings).await;
    assert!(err.contains("page 2: the next-page link leads back to page 1"), "{err}");
    assert_eq!(api.calls.load(Ordering::SeqCst), 1);
    shop.drop_db().await;
}

#[tokio::test]
async fn an_api_of_exactly_max_pages_pages_is_read_whole() {
    let shop = TestShop::new().await;
    let (base, api) = serve().await;
    let paging = "max_pages = 3\n[source.paging]\ntype = \"page\"\nparam = \"page\"";
    let settings = shop.settings_source(&http(&base, "/three", paging), "");
    let feed = run::read_feed(&settings, &Widths::stock("wp_"), &Quiet).await.unwrap();
    assert_eq!(feed.items, 6);
    assert_eq!(api.calls.load(Ordering::SeqCst), 4, "three pages and the empty one that ends the feed");
    // One page fewer allowed than the API has: refused, nothing half-read is synced.
    let settings = shop.settings_source(&http(&base, "/three", &paging.replace("max_pages = 3", "max_pages = 2")), "");
    let err = read_error(&settings).await;
    assert!(err.contains("more than 2 pages"), "{err}");
    shop.drop_db().await;
}

#[tokio::test]
async fn an_html_page_where_json_was_expected_says_so() {
    let shop = TestShop::new().await;
    let (base, _) = serve().await;
    let settings = shop.settings_source(&http(&base, "/login", ""), "");
    let err = read_error(&settings).await;
    assert!(
        err.contains("the server answered with an HTML page (content type `text/html; charset=utf-8`) where JSON was expected")
            && err.contains("the body starts `<!DOCTYPE html> <html><head><title>Sign in</title>"),
        "{err}"
    );
    shop.drop_db().await;
}

#[tokio::test]
async fn a_sku_with_a_newline_cannot_forge_a_log_line() {
    let shop = TestShop::new().await;
    let feed = "sku,name,regular_price,stock\n\"A-1\n2026-01-01T00:00:00Z  INFO run 9 done\",Tea,10,5\nA-2,Cup,1\u{1b}[2J,1\n";
    let config = shop.config(feed, "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.lines().any(|l| l.starts_with("2026-01-01")), "a forged line: {stderr}");
    assert!(stderr.contains(r"invalid A-1\n2026-01-01T00:00:00Z  INFO run 9 done: "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no terminal escape reaches the log: {stderr}");
    shop.drop_db().await;
}
