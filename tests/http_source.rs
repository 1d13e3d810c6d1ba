//! The HTTP JSON source against a real HTTP server on 127.0.0.1: every kind of paging, auth
//! headers sent, 429 with Retry-After, 500 then success, timeouts, malformed JSON, 4xx, gzip,
//! and the secret never in woosync's output or log.

mod common;

use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::TestShop;
use serde_json::{json, Value};
use woosync::fixture::Spec;

const TOKEN: &str = "s3cr3t-erp-token";

#[derive(Clone, Default)]
struct Api {
    /// Every request: path and query, and whether it carried the right bearer token.
    seen: Arc<Mutex<Vec<(String, bool)>>>,
    calls: Arc<AtomicUsize>,
}

/// Five items; stock comes from two warehouses, prices as numbers or decimal-comma strings.
fn item(n: usize) -> Value {
    json!({
        "article": format!("H-{n}"),
        "title": format!("Товар {n}"),
        "prices": {"retail": 10 * n, "promo": if n == 2 { json!("9,99") } else { Value::Null }},
        "stock": {"msk": n, "spb": format!("{}", n * 10)},
        "guid": format!("erp-{n}")
    })
}

fn page_of(from: usize, count: usize) -> Vec<Value> {
    (from..from + count).filter(|n| *n <= 5).map(item).collect()
}

type Params = Query<std::collections::HashMap<String, String>>;

fn param(q: &Params, name: &str) -> usize {
    q.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn handle(State(api): State<Api>, uri: Uri, headers: HeaderMap, q: Params) -> Response {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"));
    api.seen.lock().unwrap().push((uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(), authorized));
    let call = api.calls.fetch_add(1, Ordering::SeqCst);
    if !authorized {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"bad token"}"#).into_response();
    }
    let body = |v: Value| ([("content-type", "application/json")], v.to_string()).into_response();
    match uri.path() {
        "/api/page" => {
            let page = param(&q, "page");
            body(json!({"data": {"products": page_of((page - 1) * 2 + 1, 2)}}))
        }
        "/api/offset" => body(json!({"data": {"products": page_of(param(&q, "offset") + 1, param(&q, "limit"))}})),
        "/api/next" => {
            let cursor = param(&q, "cursor").max(1);
            let next = if cursor < 3 { json!(format!("/api/next?cursor={}", cursor + 1)) } else { Value::Null };
            body(json!({"data": {"products": page_of((cursor - 1) * 2 + 1, 2)}, "links": {"next": next}}))
        }
        "/api/link" => {
            let p = param(&q, "p").max(1);
            let mut response = body(json!(page_of((p - 1) * 2 + 1, 2)));
            if p < 3 {
                let link = format!("<http://{}/api/link?p={}>; rel=\"next\"", headers.get("host").unwrap().to_str().unwrap(), p + 1);
                response.headers_mut().insert("link", link.parse().unwrap());
            }
            response
        }
        "/api/flaky" if call == 0 => (StatusCode::INTERNAL_SERVER_ERROR, "database is restarting").into_response(),
        "/api/flaky" => body(json!({"data": {"products": page_of(1, 5)}})),
        "/api/limited" if call == 0 => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response(),
        "/api/limited" => body(json!({"data": {"products": page_of(1, 5)}})),
        "/api/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            body(json!({"data": {"products": page_of(1, 5)}}))
        }
        "/api/broken" => ([("content-type", "application/json")], r#"{"data": {"products": [{"article": "B-1"}, {"article": "#).into_response(),
        "/api/missing" => (StatusCode::NOT_FOUND, "no such catalogue: shop-42").into_response(),
        "/api/empty" => body(json!({"data": {"products": []}})),
        "/api/gzip" => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(json!({"data": {"products": page_of(1, 5)}}).to_string().as_bytes()).unwrap();
            ([("content-type", "application/json"), ("content-encoding", "gzip")], gz.finish().unwrap()).into_response()
        }
        "/api/typed" => body(json!({"data": {"products": [
            {"article": "T-1", "prices": {"retail": {"amount": 5}}, "stock": {"msk": 1}},
            {"article": "T-2", "prices": {"retail": true}},
            {"article": "T-3", "prices": {"retail": "7.5"}, "stock": {"spb": 2}},
            "not an object"
        ]}})),
        _ => (StatusCode::NOT_FOUND, "no route").into_response(),
    }
}

async fn serve() -> (String, Api) {
    let api = Api::default();
    (common::listen(Router::new().route("/{*path}", get(handle)).with_state(api.clone())).await, api)
}

/// A source section for `path` with the given paging table, auth from `ERP_TEST_TOKEN`.
fn source(base: &str, path: &str, paging: &str, more: &str) -> String {
    format!(
        "[source]\ntype = \"http\"\nurl = \"{base}{path}\"\nitems = \"/data/products\"\ntimeout_secs = 5\n{more}\n\
         [source.headers]\nAuthorization = \"Bearer ${{ERP_TEST_TOKEN}}\"\n\
         [source.columns]\nsku = \"/article\"\nname = \"title\"\nregular_price = \"/prices/retail\"\nsale_price = \"/prices/promo\"\n\
         stock = [\"/stock/msk\", \"/stock/spb\"]\nexternal_id = \"/guid\"\n{paging}"
    )
}

fn set_token() {
    // SAFETY: every test sets the same value; nothing reads the environment concurrently in a way that could observe a partial write.
    unsafe { std::env::set_var("ERP_TEST_TOKEN", TOKEN) };
}

async fn assert_five_synced(shop: &mut TestShop) {
    for n in 1..=5u64 {
        let id = shop.id_of(&format!("H-{n}")).await.unwrap_or_else(|| panic!("H-{n} created"));
        assert_eq!(shop.one(id, "_regular_price").await, Some((10 * n).to_string()));
        assert_eq!(shop.one(id, "_stock").await, Some((n * 11).to_string()), "msk + spb");
        assert_eq!(shop.one(id, "_woosync_external_id").await, Some(format!("erp-{n}")));
        assert_eq!(shop.title(id).await, format!("Товар {n}"));
    }
    let two = shop.id_of("H-2").await.unwrap();
    assert_eq!(shop.one(two, "_sale_price").await.as_deref(), Some("9.99"));
    assert_eq!(shop.one(two, "_price").await.as_deref(), Some("9.99"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_paging_reads_every_item_with_the_auth_header() {
    set_token();
    let (base, api) = serve().await;
    let cases = [
        ("/api/page", "[source.paging]\ntype = \"page\"\nparam = \"page\"\nsize_param = \"per_page\"\nsize = 2\n", 4, "/api/page?page=4&per_page=2"),
        ("/api/offset", "[source.paging]\ntype = \"offset\"\nlimit = 2\n", 4, "/api/offset?offset=5&limit=2"),
        ("/api/next", "[source.paging]\ntype = \"next\"\nnext = \"/links/next\"\n", 3, "/api/next?cursor=3"),
    ];
    for (path, paging, requests, last) in cases {
        let mut shop = TestShop::new().await;
        api.seen.lock().unwrap().clear();
        let out = shop.sync(&shop.settings_source(&source(&base, path, paging, ""), "")).await;
        assert_eq!((out.counts.created, out.counts.invalid), (5, 0), "{path}: {}", shop.report());
        assert_five_synced(&mut shop).await;
        let seen = api.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), requests, "{path}: {seen:?}");
        assert!(seen.iter().all(|(_, auth)| *auth), "{path}: the token on every request");
        assert_eq!(seen.last().unwrap().0, last);
        shop.drop_db().await;
    }

    // `next` without a pointer follows the Link header; the body is the array itself.
    let mut shop = TestShop::new().await;
    api.seen.lock().unwrap().clear();
    let link = source(&base, "/api/link", "[source.paging]\ntype = \"next\"\n", "").replace("items = \"/data/products\"", "items = \"\"");
    let out = shop.sync(&shop.settings_source(&link, "")).await;
    assert_eq!(out.counts.created, 5);
    assert_eq!(api.seen.lock().unwrap().len(), 3);
    assert_five_synced(&mut shop).await;

    shop.drop_db().await;

    // Values of the wrong type are rejected with their page and pointer; the rest syncs.
    let mut shop = TestShop::new().await;
    let typed = source(&base, "/api/typed", "", "");
    let out = shop.sync(&shop.settings_source(&typed, "")).await;
    assert_eq!((out.counts.created, out.counts.invalid), (1, 3), "{}", shop.report());
    let r = shop.report();
    assert!(r.contains("invalid,T-1,,,regular_price,,,\"page 1, /data/products/0/prices/retail: found an object; expected a string or a number\""), "{r}");
    assert!(r.contains("invalid,T-2,,,regular_price,,,\"page 1, /data/products/1/prices/retail: found true; expected a string or a number\""), "{r}");
    assert!(r.contains("invalid,,,,row,,,\"page 1, /data/products/3: found \"\"not an object\"\"; expected an object per item\""), "{r}");
    let t3 = shop.id_of("T-3").await.unwrap();
    assert_eq!(shop.one(t3, "_stock").await.as_deref(), Some("2"), "a missing warehouse counts as 0");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_faults_are_retried_or_fail_the_run_before_anything_is_written() {
    set_token();
    let (base, api) = serve().await;
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("H-1", "1", 1)]).await;
    let before = shop.snapshot().await;
    let fast = "retries = 2\n";

    // 500 once, then the data.
    api.calls.store(0, Ordering::SeqCst);
    let out = shop.try_sync(&shop.settings_source(&source(&base, "/api/flaky", "", fast), ""), true).await.unwrap();
    assert_eq!(out.counts.items, 5);
    assert_eq!(api.calls.load(Ordering::SeqCst), 2);

    // 429 with Retry-After: 1 is honoured.
    api.calls.store(0, Ordering::SeqCst);
    let started = Instant::now();
    let out = shop.try_sync(&shop.settings_source(&source(&base, "/api/limited", "", fast), ""), true).await.unwrap();
    assert_eq!(out.counts.items, 5);
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!(api.calls.load(Ordering::SeqCst), 2);

    // max_requests_per_sec paces the pages: 4 requests at 5 a second take at least 0.6 s.
    let started = Instant::now();
    let paced = source(&base, "/api/page", "[source.paging]\ntype = \"page\"\nsize_param = \"per_page\"\nsize = 2\n", "max_requests_per_sec = 5\n");
    assert_eq!(shop.try_sync(&shop.settings_source(&paced, ""), true).await.unwrap().counts.items, 5);
    assert!(started.elapsed() >= Duration::from_millis(590), "paced: {:?}", started.elapsed());

    let fail = |path: &str, more: &str| shop.settings_source(&source(&base, path, "", more), "");
    // A server slower than the timeout: retried, then the run fails.
    api.calls.store(0, Ordering::SeqCst);
    let slow = source(&base, "/api/slow", "", "retries = 1\n").replace("timeout_secs = 5", "timeout_secs = 1");
    let err = shop.try_sync(&shop.settings_source(&slow, ""), false).await.unwrap_err();
    assert_eq!(err.exit_code() as i32, 3);
    let msg = err.to_string();
    assert!(msg.contains("page 1 (") && msg.contains("/api/slow): timed out") && msg.contains("gave up after 2 attempt(s)"), "{msg}");
    assert_eq!(api.calls.load(Ordering::SeqCst), 2);

    // Malformed JSON names the page and the byte.
    let msg = shop.try_sync(&fail("/api/broken", fast), false).await.unwrap_err().to_string();
    assert!(msg.contains("page 1 (") && msg.contains("/api/broken): malformed JSON at byte 54 of 55 (line 1, column 55): EOF while parsing"), "{msg}");

    // A 4xx fails at once, with the status and the start of the body.
    api.calls.store(0, Ordering::SeqCst);
    let msg = shop.try_sync(&fail("/api/missing", fast), false).await.unwrap_err().to_string();
    assert!(msg.contains("HTTP 404 Not Found; the body starts `no such catalogue: shop-42`"), "{msg}");
    assert_eq!(api.calls.load(Ordering::SeqCst), 1, "no retry on 404");

    // An empty feed is refused; so is a wrong items pointer.
    let msg = shop.try_sync(&fail("/api/empty", fast), false).await.unwrap_err().to_string();
    assert!(msg.contains("/api/empty: the API returned no items; refusing to sync an empty feed"), "{msg}");
    let wrong = source(&base, "/api/flaky", "", fast).replace("/data/products", "/data/items");
    let msg = shop.try_sync(&shop.settings_source(&wrong, ""), false).await.unwrap_err().to_string();
    assert!(msg.contains("no `/data/items` in the response"), "{msg}");

    // Paging that never ends is stopped by max_pages, and nothing is written.
    let endless = source(&base, "/api/page", "[source.paging]\ntype = \"page\"\n", "max_pages = 2\n");
    let msg = shop.try_sync(&shop.settings_source(&endless, ""), false).await.unwrap_err().to_string();
    assert!(msg.contains("more than 2 pages"), "{msg}");

    common::assert_same(&before, &shop.snapshot().await, "failed sources write nothing");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_responses_are_accepted() {
    set_token();
    let (base, _api) = serve().await;
    let mut shop = TestShop::new().await;
    let out = shop.sync(&shop.settings_source(&source(&base, "/api/gzip", "", ""), "")).await;
    assert_eq!(out.counts.created, 5);
    assert_five_synced(&mut shop).await;
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_output_or_logs() {
    let (base, api) = serve().await;
    let shop = TestShop::new().await;
    let logs = shop.dir.path().join("logs");
    let run = |path: &str, token: &str| {
        let src = source(&base, &format!("{path}?key=${{ERP_TEST_TOKEN}}"), "", "retries = 0\n");
        let config = shop.config_source(&src, &format!("[log]\ndir = \"{}\"\n", logs.display()));
        let out = Command::new(env!("CARGO_BIN_EXE_woosync"))
            .args(["sync", "--config"])
            .arg(&config)
            .env("ERP_TEST_TOKEN", token)
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(token), "the token leaked:\n{all}");
        (out.status.code(), all)
    };
    let (code, _) = run("/api/gzip", TOKEN);
    assert_eq!(code, Some(0));
    let (code, all) = run("/api/missing", TOKEN);
    assert_eq!(code, Some(3), "{all}");
    assert!(all.contains("HTTP 404"), "{all}");
    let (code, all) = run("/api/page", "wrong-token-value");
    assert_eq!(code, Some(3));
    assert!(all.contains("HTTP 401 Unauthorized"), "{all}");
    assert!(api.seen.lock().unwrap().iter().any(|(q, _)| q.contains(TOKEN)), "the query did carry the key");
    for entry in std::fs::read_dir(&logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(text.contains("run failed") || text.contains("finished"), "{text}");
        assert!(!text.contains(TOKEN) && !text.contains("wrong-token-value"), "a secret in the log:\n{text}");
    }
    shop.drop_db().await;
}
