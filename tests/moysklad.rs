//! The shipped `config/source-moysklad.toml` against an imitation of МойСклад's JSON API 1.2 on
//! 127.0.0.1, built from its documentation: `/entity/assortment` pages of `rows` linked by
//! `meta.nextHref`, products, variants (no article of their own), services (no stock) and
//! bundles, prices in kopecks in `salePrices[]` by price type, a Bearer token, gzip required
//! (415 without it, no body), and its rate limit of 45 requests per 3-second window with the
//! headers it documents (`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-Lognex-Retry-TimeInterval`,
//! `X-Lognex-Reset`, and on 429 `X-Lognex-Retry-After`, all in milliseconds).

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::TestShop;
use serde_json::{json, Value};
use woosync::fixture::Spec;

const TOKEN: &str = "ms-token-5f1e0c";
const WINDOW: Duration = Duration::from_secs(3);
const LIMIT: usize = 45;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    status: u16,
    gzip: bool,
    bearer: bool,
}

#[derive(Clone)]
struct Api {
    base: Arc<Mutex<String>>,
    rows: Arc<Vec<Value>>,
    /// Requests counted against the account's limit in the current window (other integrations
    /// of the same account included).
    window: Arc<Mutex<VecDeque<Instant>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn price(kopecks: f64, kind: &str) -> Value {
    let id = if kind == "Цена продажи" { "c1f0-sale" } else { "c1f0-opt" };
    json!({
        "value": kopecks,
        "currency": {"meta": {"href": "https://api.moysklad.ru/api/remap/1.2/entity/currency/rub", "type": "currency"}},
        "priceType": {"meta": {"type": "pricetype"}, "id": id, "name": kind, "externalCode": format!("ext-{id}")}
    })
}

fn meta(kind: &str, id: &str) -> Value {
    json!({"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/{kind}/{id}"), "type": kind, "mediaType": "application/json"})
}

/// The assortment as the legacy endpoint lists it (with stock).
fn assortment() -> Vec<Value> {
    vec![
        json!({"meta": meta("product", "p-2045"), "id": "0b7e2045-36e7-11e7-8a7f-40d0000000d7", "name": "Ламинат Дуб серый 8 мм",
               "code": "00017", "article": "2045", "pathName": "Ламинат", "archived": false,
               "salePrices": [price(129000.0, "Цена продажи"), price(110000.0, "Оптовая цена")],
               "buyPrice": {"value": 90000.0}, "stock": 30.5, "reserve": 2.0, "inTransit": 0.0, "quantity": 28.5}),
        json!({"meta": meta("product", "p-2046"), "id": "0b7e2046-36e7-11e7-8a7f-40d0000000d7", "name": "Ламинат Ясень 8 мм",
               "code": "00018", "article": "2046", "salePrices": [price(115050.0, "Цена продажи")], "stock": 12.0}),
        json!({"meta": meta("variant", "v-xl"), "id": "9a1d0001-36e7-11e7-8a7f-40d0000000e1", "name": "Футболка (XL, красный)",
               "code": "T-100-XL", "characteristics": [{"name": "Размер", "value": "XL"}, {"name": "Цвет", "value": "красный"}],
               "product": {"meta": meta("product", "p-t100")}, "salePrices": [price(99000.0, "Цена продажи")], "stock": 4.0}),
        json!({"meta": meta("service", "s-1"), "id": "5e770001-36e7-11e7-8a7f-40d0000000f0", "name": "Укладка ламината, м²",
               "code": "S-LAY", "salePrices": [price(45000.0, "Цена продажи")]}),
        json!({"meta": meta("bundle", "b-1"), "id": "b0d10001-36e7-11e7-8a7f-40d0000000a1", "name": "Комплект: ламинат + подложка",
               "code": "00090", "article": "KIT-2045", "salePrices": [price(139900.0, "Цена продажи")],
               "components": {"meta": {"href": "https://api.moysklad.ru/api/remap/1.2/entity/bundle/b-1/components", "size": 2}}}),
        json!({"meta": meta("product", "p-opt"), "id": "0b7e3000-36e7-11e7-8a7f-40d0000000d7", "name": "Подложка (только опт)",
               "code": "00031", "article": "U-3", "salePrices": [price(5000.0, "Оптовая цена")], "stock": 100.0}),
        json!({"meta": meta("product", "p-bare"), "id": "0b7e3001-36e7-11e7-8a7f-40d0000000d7", "name": "Без кода",
               "salePrices": [price(100.0, "Цена продажи")], "stock": 1.0}),
    ]
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

async fn assortment_page(State(api): State<Api>, headers: HeaderMap, q: Query<HashMap<String, String>>) -> Response {
    let now = Instant::now();
    let gzip = headers.get("accept-encoding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|e| e.trim() == "gzip"));
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"));
    let record = |status: StatusCode| api.seen.lock().unwrap().push(Seen { at: now, status: status.as_u16(), gzip, bearer });
    // Gzip is mandatory: without it, 415 and no body.
    if !gzip {
        record(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let (used, reset) = {
        let mut window = api.window.lock().unwrap();
        while window.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            window.pop_front();
        }
        let reset = window.front().map(|t| WINDOW.saturating_sub(now.duration_since(*t))).unwrap_or_default();
        if window.len() >= LIMIT {
            (None, reset)
        } else {
            window.push_back(now);
            let reset = window.front().map(|t| WINDOW.saturating_sub(now.duration_since(*t))).unwrap_or_default();
            (Some(window.len()), reset)
        }
    };
    let limits = |remaining: usize| {
        [
            ("x-ratelimit-limit", LIMIT.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-lognex-retry-timeinterval", millis(WINDOW)),
            ("x-lognex-reset", millis(reset)),
        ]
    };
    let Some(used) = used else {
        record(StatusCode::TOO_MANY_REQUESTS);
        let body = json!({"errors": [{"error": "Превышено ограничение на количество запросов в единицу времени", "code": 1049}]});
        let mut response = (StatusCode::TOO_MANY_REQUESTS, limits(0), body.to_string()).into_response();
        response.headers_mut().insert("x-lognex-retry-after", millis(reset).parse().unwrap());
        return response;
    };
    if !bearer {
        record(StatusCode::UNAUTHORIZED);
        let body = json!({"errors": [{"error": "Ошибка аутентификации: Неправильный пароль или имя пользователя или ключ авторизации", "code": 1056}]});
        return (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    }
    record(StatusCode::OK);
    let get = |k: &str, default: usize| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (offset, limit) = (get("offset", 0), get("limit", 1000).clamp(1, 1000));
    let base = api.base.lock().unwrap().clone();
    let href = |o: usize| format!("{base}/api/remap/1.2/entity/assortment?limit={limit}&offset={o}");
    let mut page_meta = json!({"href": href(offset), "type": "assortment", "mediaType": "application/json",
                               "size": api.rows.len(), "limit": limit, "offset": offset});
    if offset + limit < api.rows.len() {
        page_meta["nextHref"] = json!(href(offset + limit));
    }
    let rows: Vec<&Value> = api.rows.iter().skip(offset).take(limit).collect();
    let body = json!({"context": {"employee": {"meta": meta("employee", "e-1")}}, "meta": page_meta, "rows": rows});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.to_string().as_bytes()).unwrap();
    let mut response = ([("content-type", "application/json;charset=utf-8"), ("content-encoding", "gzip")], gz.finish().unwrap()).into_response();
    for (name, value) in limits(LIMIT - used) {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

async fn serve(rows: Vec<Value>) -> Api {
    let api = Api {
        base: Arc::default(),
        rows: Arc::new(rows),
        window: Arc::default(),
        seen: Arc::default(),
    };
    let app = Router::new().route("/api/remap/1.2/entity/assortment", get(assortment_page)).with_state(api.clone());
    *api.base.lock().unwrap() = common::listen(app).await;
    api
}

/// The shipped config's `[source]` and the rest, aimed at the imitation, `edit` applied.
fn shipped(api: &Api, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/source-moysklad.toml")).unwrap();
    let source = &text[text.find("[source]").unwrap()..];
    let base = api.base.lock().unwrap().clone();
    edit(source.replace("https://api.moysklad.ru", &base).replace("${MOYSKLAD_TOKEN}", TOKEN))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_config_syncs_moysklads_assortment() {
    let mut shop = TestShop::new().await;
    let ids = shop
        .insert(&[
            Spec::simple("2045", "1200.00", 1),
            Spec::variable("T-100", vec![Spec::simple("T-100-L", "950.00", 2), Spec::simple("T-100-XL", "950.00", 0)]),
        ])
        .await;
    let (laminate, xl) = (ids[0], ids[3]);
    let api = serve(assortment()).await;
    // Three items a page: three pages, linked by meta.nextHref.
    let source = shipped(&api, |s| s.replace("limit=1000", "limit=3"));
    let out = shop.sync(&shop.settings_source(&source, "")).await;
    let report = shop.report();
    assert_eq!((out.counts.items, out.counts.updated, out.counts.created, out.counts.invalid), (7, 2, 4, 1), "{:?}\n{report}", out.counts);

    // A product: article → SKU, kopecks → roubles, 30.5 m² → 30, id → external ID.
    assert_eq!(shop.one(laminate, "_regular_price").await.as_deref(), Some("1290.00"));
    assert_eq!(shop.one(laminate, "_price").await.as_deref(), Some("1290.00"));
    assert_eq!(shop.one(laminate, "_stock").await.as_deref(), Some("30"));
    assert_eq!(shop.one(laminate, "_woosync_external_id").await.as_deref(), Some("0b7e2045-36e7-11e7-8a7f-40d0000000d7"));
    assert!(report.contains("warning,2045,,,_stock,,,\"item 1: stock 30.5 is not a whole number; 30 written"), "{report}");
    // A variant: no article, its code is the variation's SKU; the parent follows.
    assert_eq!(shop.one(xl, "_regular_price").await.as_deref(), Some("990.00"));
    assert_eq!(shop.one(xl, "_stock").await.as_deref(), Some("4"));
    assert_eq!(shop.one(xl, "_stock_status").await.as_deref(), Some("instock"));
    assert_eq!(shop.meta(ids[1], "_price").await, [Some("950.00".to_string()), Some("990.00".to_string())]);
    // New items are drafts; a service has no stock to manage; a bundle without stock neither.
    let service = shop.id_of("S-LAY").await.expect("a service is created under its code");
    assert_eq!(shop.one(service, "_regular_price").await.as_deref(), Some("450.00"));
    assert_eq!(shop.one(service, "_manage_stock").await.as_deref(), Some("no"));
    let kit = shop.id_of("KIT-2045").await.expect("a bundle under its article");
    assert_eq!(shop.one(kit, "_regular_price").await.as_deref(), Some("1399.00"));
    assert_eq!(shop.one(kit, "_manage_stock").await.as_deref(), Some("no"));
    let ash = shop.id_of("2046").await.unwrap();
    assert_eq!(shop.one(ash, "_regular_price").await.as_deref(), Some("1150.50"));
    let status: String = shop.scalar(&format!("SELECT post_status FROM {{p}}posts WHERE ID = {ash}")).await;
    assert_eq!(status, "draft");
    // Only a wholesale price: created without a price, its lookup as WooCommerce writes it.
    let wholesale = shop.id_of("U-3").await.unwrap();
    assert!(shop.meta(wholesale, "_regular_price").await.is_empty());
    assert_eq!(shop.lookup(wholesale).await.map(|l| (l.0, l.1)), Some((Some("0.0000".into()), Some("0.0000".into()))));
    // Neither article nor code: named, not written.
    assert!(report.contains("invalid,,,,sku,,,\"page 3, /rows/0/article || /code: empty SKU"), "{report}");

    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "three pages, no retries: {seen:?}");
    assert!(seen.iter().all(|s| s.gzip && s.bearer && s.status == 200), "{seen:?}");
    let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(300)), "paced at 3 a second: {gaps:?}");

    // Nothing changed in МойСклад: nothing is written.
    let again = shop.sync(&shop.settings_source(&source, "")).await;
    assert_eq!((again.counts.created, again.counts.updated), (0, 0), "{}", shop.report());
    shop.drop_db().await;
}

/// Every 3-second window holds at most `LIMIT` accepted requests.
fn under_the_limit(seen: &[Seen]) -> bool {
    let ok: Vec<Instant> = seen.iter().filter(|s| s.status == 200).map(|s| s.at).collect();
    ok.iter().enumerate().all(|(i, t)| ok[i..].iter().take_while(|u| u.duration_since(*t) < WINDOW).count() <= LIMIT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moysklads_rate_limit_is_kept_and_its_429_waited_out() {
    let shop = TestShop::new().await;
    // 60 items a page each, without woosync's own pacing: the limit headers must do it.
    let rows: Vec<Value> = (1..=60)
        .map(|n| json!({"meta": meta("product", &format!("p-{n}")), "id": format!("id-{n}"), "name": format!("Товар {n}"),
                        "article": format!("R-{n}"), "salePrices": [price(n as f64 * 100.0, "Цена продажи")], "stock": n}))
        .collect();
    let api = serve(rows).await;
    let unpaced = |s: String| s.replace("limit=1000", "limit=1").replace("max_requests_per_sec = 3", "");
    let source = shipped(&api, unpaced);
    let out = shop.try_sync(&shop.settings_source(&source, ""), true).await.unwrap();
    assert_eq!(out.counts.created, 60, "{:?}", out.counts);
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|s| s.status == 429).count(), 0, "X-RateLimit-Remaining: 0 made it rest before a refusal");
    assert!(under_the_limit(&seen), "at most {LIMIT} requests in any 3 s");
    assert!(seen.last().unwrap().at - seen[0].at >= WINDOW, "the 46th request waited for the window");

    // Another integration of the same account used the window up: the first request is refused
    // with X-Lognex-Retry-After, and woosync waits that long (not its own backoff) before asking again.
    api.seen.lock().unwrap().clear();
    let started = Instant::now();
    {
        let mut window = api.window.lock().unwrap();
        window.clear();
        window.extend(std::iter::repeat_n(started - Duration::from_millis(1500), LIMIT));
    }
    let few = shipped(&api, |s| s.replace("limit=1000", "limit=30").replace("max_requests_per_sec = 3", ""));
    let out = shop.try_sync(&shop.settings_source(&few, ""), true).await.unwrap();
    assert_eq!(out.counts.created, 60);
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|s| s.status).collect::<Vec<_>>(), [429, 200, 200], "{seen:?}");
    let waited = seen[1].at - seen[0].at;
    assert!(waited >= Duration::from_millis(1400) && waited < Duration::from_millis(3000), "waited {waited:?} as X-Lognex-Retry-After asked (~1.5 s)");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_gzip_is_refused_and_the_message_says_why() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("2045", "1200.00", 1)]).await;
    let api = serve(assortment()).await;
    let before = shop.snapshot().await;
    let identity = shipped(&api, |s| s.replace("[source.headers]\n", "[source.headers]\nAccept-Encoding = \"identity\"\n"));
    let err = shop.try_sync(&shop.settings_source(&identity, ""), false).await.unwrap_err().to_string();
    assert!(err.contains("HTTP 415 Unsupported Media Type"), "{err}");
    assert!(err.contains("answers 415 to a request that does not accept gzip: woosync always asks for gzip, so leave Accept-Encoding out of [source.headers]"), "{err}");
    assert!(!err.contains(TOKEN));
    assert_eq!(before, shop.snapshot().await, "a refused source writes nothing");
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|s| (s.status, s.gzip)).collect::<Vec<_>>(), [(415, false)], "a 4xx is not retried");
    shop.drop_db().await;
}
