//! An ERP's HTTP JSON API: pages of items, each item's fields found by JSON pointer.
//!
//! Paging by page number, by offset/limit, or by following a next-page URL (a JSON pointer in
//! the body, or the `Link: <...>; rel="next"` header), bounded by `max_pages` pages with items (a
//! link back to a page already read fails at once). Every response is bounded by
//! `max_response_mb` as it is decoded, gzip included. Faults: connection
//! errors, timeouts and 5xx are retried with exponential backoff; 429 waits for `Retry-After`
//! (or МойСклад's `X-Lognex-Retry-After`), and a response that used up the rate limit
//! (`X-RateLimit-Remaining: 0`) rests until `X-Lognex-Reset`;
//! any other 4xx fails at once with the status and the start of the body; malformed JSON names
//! the page and the byte. When the retries are spent the source fails, so nothing is written.
//! Secrets (headers, basic auth, the URL's query) never appear in messages.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LINK, RETRY_AFTER};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::pointer::FieldPath;
use super::{Each, Field, Locate, Pages, RawFeed, RawRecord, FIELDS};
use crate::config::{hex, redact_url, HttpSource, Paging};
use crate::error::{Error, Result};

/// The longest `Retry-After` woosync waits; a server asking for more fails the run.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The longest backoff between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where JSON values are: `page 3, /data/products/4/prices/retail`.
struct Pointers {
    items: String,
    /// The path (relative to an item) of each field, `None` when not read.
    fields: [Option<FieldPath>; FIELDS],
    more_stock: Vec<FieldPath>,
    /// Card fields read by their own name without being configured: a value there that is not
    /// text (an ERP's own `description` object, say) is ignored rather than rejecting the row.
    implicit: [bool; FIELDS],
    /// `[source.attributes]`: each attribute's name and path.
    attributes: Vec<(String, FieldPath)>,
    /// `[source.meta]`: (entry, its key, path) for each path an entry reads.
    meta: Vec<(usize, &'static str, FieldPath)>,
}

impl Locate for Pointers {
    fn locate(&self, record: &RawRecord, field: Option<(Field, usize)>) -> String {
        let item = format!("page {}, {}/{}", record.page, self.items, record.index);
        let tail = match field {
            Some((Field::Stock, part)) if part > 0 => self.more_stock.get(part - 1),
            Some((f, _)) => self.fields[f as usize].as_ref(),
            None => None,
        };
        let tail = tail.map(|p| if p.as_str().starts_with('/') { p.as_str().to_string() } else { as_pointer(p.as_str()) });
        format!("{item}{}", tail.unwrap_or_default())
    }
}

/// A field name or pointer from the config as a JSON pointer: `article` → `/article`.
fn as_pointer(s: &str) -> String {
    if s.starts_with('/') {
        s.to_string()
    } else {
        format!("/{}", s.replace('~', "~0").replace('/', "~1"))
    }
}

/// The configured field paths, parsed (see [`FieldPath`] for the syntax).
fn pointers(src: &HttpSource) -> Result<Pointers> {
    let c = &src.columns;
    let parse = |f: Field, text: &str| FieldPath::parse(text).map_err(|why| Error::Config(format!("[source.columns] {}: {why}", f.name())));
    let mut fields: [Option<FieldPath>; FIELDS] = Default::default();
    for f in Field::ALL {
        if f == Field::ExternalId && c.external_id.is_none() {
            continue;
        }
        fields[f as usize] = Some(parse(f, &c.name_of(f))?);
    }
    let more_stock = c.stock_names().iter().skip(1).map(|s| parse(Field::Stock, s)).collect::<Result<_>>()?;
    let mut implicit = [false; FIELDS];
    for f in [Field::Description, Field::ShortDescription, Field::Gtin, Field::Category, Field::ParentSku, Field::Images] {
        implicit[f as usize] = c.configured(f).is_none();
    }
    let attributes = c
        .attributes
        .iter()
        .map(|(name, path)| FieldPath::parse(path).map(|p| (name.clone(), p)).map_err(|why| Error::Config(format!("[source.attributes] {name:?}: {why}"))))
        .collect::<Result<_>>()?;
    let mut meta = Vec::new();
    for (entry, m) in c.meta.iter().enumerate() {
        for path in &m.from {
            meta.push((entry, m.key, FieldPath::parse(path).map_err(|why| Error::Config(format!("[source.meta] {:?}: {why}", m.key)))?));
        }
    }
    Ok(Pointers { items: src.items.clone(), fields, more_stock, implicit, attributes, meta })
}

/// A JSON value as cell text: strings as they are, numbers as written, null as empty.
fn cell(v: &Value) -> std::result::Result<String, String> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Err(format!("found {b}; expected a string or a number")),
        Value::Array(_) => Err("found an array; expected a string or a number".into()),
        Value::Object(_) => Err("found an object; expected a string or a number".into()),
    }
}

fn record(item: &Value, p: &Pointers, line: u64, page: u32, index: u32) -> RawRecord {
    let mut r = RawRecord { line, page, index, ..Default::default() };
    if !item.is_object() {
        r.reject(None, format!("{}; expected an object per item", cell(item).err().unwrap_or_else(|| format!("found {item}"))));
        return r;
    }
    for f in Field::ALL {
        if f == Field::Stock {
            continue;
        }
        let Some(path) = &p.fields[f as usize] else { continue };
        // A key the item lacks leaves the field alone; null or "" is an empty value.
        let Some(v) = path.find(item) else { continue };
        let text = match (f, v) {
            // Several categories may come as an array of paths.
            (Field::Images, Value::Array(urls)) => urls.iter().map(|u| u.as_str().map(str::to_string).ok_or_else(|| format!("found {u} in the array; expected picture URLs as strings"))).collect::<std::result::Result<Vec<_>, _>>().map(|v| v.join("|")),
            (Field::Category, Value::Array(paths)) => paths.iter().map(|p| p.as_str().map(str::to_string).ok_or_else(|| format!("found {p} in the array; expected category paths as strings"))).collect::<std::result::Result<Vec<_>, _>>().map(|v| v.join("|")),
            _ => cell(v),
        };
        match text {
            Ok(text) => r.set(f, text),
            Err(_) if p.implicit[f as usize] => {}
            Err(m) => r.reject(Some((f, 0)), m),
        }
    }
    // Stock: one pointer or several (summed). None present leaves the stock alone; otherwise
    // a missing one is an empty value.
    let stock: Vec<&FieldPath> = p.fields[Field::Stock as usize].iter().chain(p.more_stock.iter()).collect();
    if stock.iter().any(|path| path.find(item).is_some()) {
        for (part, path) in stock.iter().enumerate() {
            let text = match path.find(item).map(cell) {
                None => String::new(),
                Some(Ok(text)) => text,
                Some(Err(m)) => {
                    r.reject(Some((Field::Stock, part)), m);
                    String::new()
                }
            };
            if part == 0 {
                r.set(Field::Stock, text);
            } else {
                r.more_stock.push(text);
            }
        }
    }
    // An attribute may come as one value or as an array of values (a simple product in several colours).
    for (name, path) in &p.attributes {
        let Some(v) = path.find(item) else { continue };
        let text = match v {
            Value::Array(values) => values.iter().map(cell).collect::<std::result::Result<Vec<_>, _>>().map(|v| v.join("|")),
            _ => cell(v),
        };
        match text {
            Ok(text) => r.attributes.push((name.clone(), text)),
            Err(m) => r.reject(None, format!("attribute {name} at {}: {m}", path.as_str())),
        }
    }
    // A key the item lacks leaves the meta value alone (a stock's other paths count as 0).
    for (entry, key, path) in &p.meta {
        let Some(v) = path.find(item) else { continue };
        match cell(v) {
            Ok(text) => r.meta.push((*entry, text)),
            Err(m) => r.reject(None, format!("{key} at {}: {m}", path.as_str())),
        }
    }
    r
}

/// Paces requests to `max_requests_per_sec`, and past a rest the API asked for.
struct Pace {
    every: Option<Duration>,
    last: Option<Instant>,
    not_before: Option<Instant>,
}

impl Pace {
    async fn wait(&mut self) {
        let due = match (self.every, self.last) {
            (Some(every), Some(last)) => Some(last + every),
            _ => None,
        };
        let due = due.max(self.not_before.take());
        if let Some(due) = due {
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        self.last = Some(Instant::now());
    }

    /// No request before `d` from now.
    fn rest(&mut self, d: Duration) {
        self.not_before = Some(Instant::now() + d);
    }
}

pub async fn read(src: &HttpSource, pages: &Pages<'_>, each: &mut Each<'_>) -> Result<RawFeed> {
    let base = Url::parse(src.url.expose()).map_err(|e| Error::Config(format!("[source] url: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(src.timeout)
        .connect_timeout(src.timeout.min(Duration::from_secs(30)))
        .user_agent(concat!("woosync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Source(format!("cannot set up the HTTP client: {}", e.without_url())))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &src.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Config(format!("[source.headers] {name}: not a header name")))?;
        let mut value = HeaderValue::from_str(value.expose()).map_err(|_| Error::Config(format!("[source.headers] {name}: not a header value")))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let p = pointers(src)?;
    let mut pace = Pace { every: src.max_requests_per_sec.map(|r| Duration::from_secs_f64(1.0 / r)), last: None, not_before: None };
    let mut hasher = Sha256::new();
    let mut items_seen = 0u64;
    let mut next: Option<Url> = Some(base.clone());
    let mut page = 0u32;
    // Pages that held items; one more page may be fetched to find the empty one that ends the feed.
    let mut full_pages = 0u32;
    let too_many = || {
        Error::Source(format!(
            "{}: more than {} pages; stopping rather than syncing part of the catalogue (raise [source] max_pages if the feed is really this long)",
            src.label, src.max_pages
        ))
    };
    let mut fetched: std::collections::HashMap<String, u32> = Default::default();
    while let Some(url) = next.take() {
        page += 1;
        if page > src.max_pages.saturating_add(1) {
            return Err(too_many());
        }
        let url = match &src.paging {
            Paging::Page { param, first, size } => {
                let mut u = base.clone();
                with_params(&mut u, &[(param.as_str(), (first + page as u64 - 1).to_string())]);
                if let Some((name, n)) = size {
                    with_params(&mut u, &[(name.as_str(), n.to_string())]);
                }
                u
            }
            Paging::Offset { offset_param, limit_param, limit } => {
                let mut u = base.clone();
                with_params(&mut u, &[(offset_param.as_str(), items_seen.to_string()), (limit_param.as_str(), limit.to_string())]);
                u
            }
            Paging::None | Paging::Next { .. } => url,
        };
        if let Some(first) = fetched.insert(url.to_string(), page) {
            return Err(Error::Source(format!(
                "page {page}: the next-page link leads back to page {first} ({}); the API would be read forever",
                redact_url(&url)
            )));
        }
        pace.wait().await;
        let Fetched { body, link: link_next, content_type, rest } = fetch(&client, src, &headers, &url, page).await?;
        if let Some(rest) = rest {
            tracing::info!(page, wait_ms = rest.as_millis() as u64, "page {page}: the API's rate limit is used up; resting {} ms before the next request", rest.as_millis());
            pace.rest(rest);
        }
        hasher.update(&body);
        if looks_like_html(&body, &content_type) {
            return Err(Error::Source(format!(
                "page {page} ({}): the server answered with an HTML page (content type `{content_type}`) where JSON was expected: \
                 a login or error page? Check the URL and the credentials; the body starts {}",
                redact_url(&url),
                start_of(&body)
            )));
        }
        let json: Value = serde_json::from_slice(&body).map_err(|e| malformed(&body, &e, page, &url))?;
        drop(body);
        let list = if src.items.is_empty() { Some(&json) } else { json.pointer(&src.items) };
        let list = match list {
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(Error::Source(format!(
                    "page {page} ({}): `{}` is {}; expected the array of items ([source] items)",
                    redact_url(&url),
                    if src.items.is_empty() { "the body" } else { &src.items },
                    kind(other)
                )))
            }
            None => {
                return Err(Error::Source(format!(
                    "page {page} ({}): no `{}` in the response; expected the array of items there ([source] items); the body starts {}",
                    redact_url(&url),
                    src.items,
                    start_of(&serde_json::to_vec(&json).unwrap_or_default())
                )))
            }
        };
        tracing::debug!(page, items = list.len(), "fetched page {page}");
        if !list.is_empty() {
            full_pages += 1;
            if full_pages > src.max_pages {
                return Err(too_many());
            }
        }
        pages(page);
        for (index, item) in list.iter().enumerate() {
            items_seen += 1;
            let r = record(item, &p, items_seen, page, index as u32);
            each(&r, &p);
        }
        next = match &src.paging {
            Paging::None => None,
            Paging::Page { .. } | Paging::Offset { .. } => (!list.is_empty()).then(|| base.clone()),
            Paging::Next { pointer } => {
                let target = match pointer {
                    Some(ptr) => match json.pointer(ptr) {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) if s.trim().is_empty() => None,
                        Some(Value::String(s)) => Some(s.trim().to_string()),
                        Some(other) => {
                            return Err(Error::Source(format!(
                                "page {page}: the next-page pointer `{ptr}` holds {}; expected a URL or null",
                                kind(other)
                            )))
                        }
                    },
                    None => link_next,
                };
                match target {
                    None => None,
                    Some(t) => Some(follow(&url, &base, &t, page)?),
                }
            }
        };
    }
    if items_seen == 0 {
        return Err(Error::Source(format!("{}: the API returned no items; refusing to sync an empty feed", src.label)));
    }
    Ok(RawFeed { label: src.label.clone(), sha256: hex(&hasher.finalize()) })
}

fn with_params(u: &mut Url, params: &[(&str, String)]) {
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = u.query_pairs_mut();
    q.clear();
    for (k, v) in kept {
        q.append_pair(&k, &v);
    }
    for (k, v) in params {
        q.append_pair(k, v);
    }
}

/// The next page's URL, resolved against this one; it must stay on the configured origin so the
/// credentials are never sent elsewhere.
fn follow(current: &Url, base: &Url, target: &str, page: u32) -> Result<Url> {
    let next = current
        .join(target)
        .map_err(|e| Error::Source(format!("page {page}: the next-page link is not a URL ({e})")))?;
    if next.origin() != base.origin() {
        return Err(Error::Source(format!(
            "page {page}: the next-page link points to {}, another site than {}; refusing to send the credentials there",
            redact_url(&next),
            redact_url(base)
        )));
    }
    Ok(next)
}

/// An HTML page rather than JSON: said so by its content type, or starting with a tag.
fn looks_like_html(body: &[u8], content_type: &str) -> bool {
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &body[i..]).unwrap_or(&[]);
    content_type.to_ascii_lowercase().contains("html") || start.starts_with(b"<")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first 200 characters of a body, on one line.
/// "the body starts `...`", or "the body is empty".
fn body_said(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        "the body is empty".into()
    } else {
        format!("the body starts {}", start_of(body))
    }
}

fn start_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(800)]);
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect();
    format!("`{}`", one_line.trim())
}

fn malformed(body: &[u8], e: &serde_json::Error, page: u32, url: &Url) -> Error {
    // serde_json reports a line and column (1-based, in bytes); turn them into a byte offset.
    let mut offset = 0usize;
    for (n, line) in body.split(|&b| b == b'\n').enumerate() {
        if n + 1 == e.line() {
            offset += e.column().saturating_sub(1).min(line.len());
            break;
        }
        offset += line.len() + 1;
    }
    let offset = offset.min(body.len());
    Error::Source(format!(
        "page {page} ({}): malformed JSON at byte {offset} of {} (line {}, column {}): {e}",
        redact_url(url),
        body.len(),
        e.line(),
        e.column()
    ))
}

/// One fetched page: its body, the `Link: rel="next"` target and the content type, if any, and
/// how long the API asks to rest before the next request (its rate limit is used up).
struct Fetched {
    body: Vec<u8>,
    link: Option<String>,
    content_type: String,
    rest: Option<Duration>,
}

/// One page, with retries.
async fn fetch(client: &reqwest::Client, src: &HttpSource, headers: &HeaderMap, url: &Url, page: u32) -> Result<Fetched> {
    let shown = redact_url(url);
    let attempts = src.retries + 1;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let method = if src.method == "POST" { reqwest::Method::POST } else { reqwest::Method::GET };
        let mut request = client.request(method, url.clone()).headers(headers.clone()).header("Accept", "application/json");
        if let Some((user, password)) = &src.basic_auth {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let backoff = (src.retry_base * 2u32.saturating_pow(attempt - 1)).min(MAX_BACKOFF);
        let failure = match request.send().await {
            Err(e) => describe(&e),
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    let link = response.headers().get_all(LINK).iter().filter_map(|v| v.to_str().ok()).find_map(next_link);
                    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let rest = exhausted(response.headers());
                    match bounded_body(response, src.max_response_bytes).await {
                        Ok(body) => return Ok(Fetched { body, link, content_type, rest }),
                        Err(None) => {
                            return Err(Error::Source(format!(
                                "page {page} ({shown}): the response is larger than {} MiB once decoded ([source] max_response_mb); \
                                 ask the API for smaller pages, or raise max_response_mb if a page is really this large",
                                src.max_response_bytes >> 20
                            )))
                        }
                        Err(Some(e)) => format!("reading the body failed: {}", describe(&e)),
                    }
                } else if status.as_u16() == 429 {
                    let wait = retry_after(response.headers()).unwrap_or(backoff);
                    if wait > MAX_RETRY_AFTER {
                        return Err(Error::Source(format!(
                            "page {page} ({shown}): HTTP 429 Too Many Requests asks to wait {} s, more than woosync waits ({} s); try a later run or lower max_requests_per_sec",
                            wait.as_secs(),
                            MAX_RETRY_AFTER.as_secs()
                        )));
                    }
                    if attempt < attempts {
                        tracing::warn!(page, wait_ms = wait.as_millis() as u64, "page {page}: HTTP 429, waiting {} ms as the API asks", wait.as_millis());
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    "HTTP 429 Too Many Requests".to_string()
                } else if status.is_server_error() {
                    let body = response.bytes().await.map(|b| start_of(&b)).unwrap_or_default();
                    format!("HTTP {status}: {body}")
                } else {
                    let body = response.bytes().await.map(|b| body_said(&b)).unwrap_or_default();
                    let hint = if status.as_u16() == 415 {
                        " (an API that insists on compressed responses, МойСклад among them, answers 415 to a request that does not \
                         accept gzip: woosync always asks for gzip, so leave Accept-Encoding out of [source.headers])"
                    } else {
                        ""
                    };
                    return Err(Error::Source(format!("page {page} ({shown}): HTTP {status}; {body}{hint}")));
                }
            }
        };
        if attempt >= attempts {
            return Err(Error::Source(format!(
                "page {page} ({shown}): {failure}; gave up after {attempts} attempt(s); nothing was written"
            )));
        }
        tracing::warn!(page, attempt, "page {page}: {failure}; retrying in {} ms", backoff.as_millis());
        tokio::time::sleep(backoff).await;
    }
}

/// A response's body as it is decoded (gzip inflated on the way), never more than `limit`
/// bytes of it: `Err(None)` past the limit, `Err(Some(_))` when the transfer fails.
async fn bounded_body(mut response: reqwest::Response, limit: u64) -> std::result::Result<Vec<u8>, Option<reqwest::Error>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Some)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error without its URL (which may hold a secret).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_decode() {
        "cannot decode the response"
    } else if e.is_redirect() {
        "redirected where it may not go"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() { what.to_string() } else { format!("{what} ({detail})") }
}

/// How long a 429 asks to wait: `Retry-After` (seconds or an HTTP date), else МойСклад's
/// `X-Lognex-Retry-After` (milliseconds until its limit resets).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let Some(v) = headers.get(RETRY_AFTER) else { return millis(headers, "x-lognex-retry-after") };
    let v = v.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// A header holding milliseconds.
fn millis(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let v = headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v / 1000.0))
}

/// After a successful response that used up the rate limit (`X-RateLimit-Remaining: 0`), how
/// long until it resets: МойСклад's `X-Lognex-Reset`, else its `X-Lognex-Retry-TimeInterval`
/// (both milliseconds). Waiting it out spares the API a request it would refuse with 429.
fn exhausted(headers: &HeaderMap) -> Option<Duration> {
    let remaining = headers.get("x-ratelimit-remaining")?.to_str().ok()?.trim().parse::<i64>().ok()?;
    if remaining > 0 {
        return None;
    }
    millis(headers, "x-lognex-reset").filter(|d| !d.is_zero()).or_else(|| millis(headers, "x-lognex-retry-timeinterval")).map(|d| d.min(MAX_RETRY_AFTER))
}

/// The target of `rel="next"` in a `Link` header value.
fn next_link(value: &str) -> Option<String> {
    for part in value.split(',') {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=").map(|r| r.trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))).unwrap_or(false)
        });
        if is_next {
            return Some(target.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let v = r#"<https://erp/api?page=1>; rel="prev", <https://erp/api?page=3>; rel="next""#;
        assert_eq!(next_link(v).as_deref(), Some("https://erp/api?page=3"));
        assert_eq!(next_link(r#"<https://erp/api?page=1>; rel="prev""#), None);
    }

    #[test]
    fn pointers_from_names_and_values_as_text() {
        assert_eq!(as_pointer("article"), "/article");
        assert_eq!(as_pointer("/prices/retail"), "/prices/retail");
        assert_eq!(as_pointer("a/b"), "/a~1b");
        assert_eq!(cell(&serde_json::json!(12.5)).unwrap(), "12.5");
        assert_eq!(cell(&serde_json::json!(123)).unwrap(), "123");
        assert_eq!(cell(&serde_json::json!(null)).unwrap(), "");
        assert!(cell(&serde_json::json!({"a": 1})).unwrap_err().contains("object"));
    }

    #[test]
    fn an_unconfigured_card_field_that_is_not_text_is_ignored() {
        let src = crate::config::HttpSource {
            url: crate::config::Secret("http://127.0.0.1/api".into()),
            label: String::new(),
            method: "GET".into(),
            headers: vec![],
            basic_auth: None,
            timeout: Duration::from_secs(1),
            retries: 0,
            retry_base: Duration::from_millis(1),
            items: String::new(),
            paging: Paging::None,
            max_pages: 1,
            max_requests_per_sec: None,
            max_response_bytes: 1 << 20,
            columns: crate::config::Columns::default(),
        };
        let item = serde_json::json!({"sku": "A-1", "description": {"ru": "текст"}, "gtin": "4600000000017"});
        let r = record(&item, &pointers(&src).unwrap(), 1, 1, 0);
        assert_eq!((r.problem.as_ref(), r.get(Field::Description), r.get(Field::Gtin)), (None, None, Some("4600000000017")));
        let configured = crate::config::HttpSource {
            columns: crate::config::Columns { description: Some("/description".into()), ..Default::default() },
            ..src
        };
        let r = record(&item, &pointers(&configured).unwrap(), 1, 1, 0);
        assert!(r.problem.unwrap().message.contains("found an object"), "a configured field is held to its type");
        // Categories: one path as a string, or several as an array of strings.
        let cats = crate::config::HttpSource { columns: crate::config::Columns { category: Some("/categories".into()), ..Default::default() }, ..configured };
        let p = pointers(&cats).unwrap();
        let r = record(&serde_json::json!({"sku": "A", "categories": ["Одежда > Боди", "Распродажа"]}), &p, 1, 1, 0);
        assert_eq!(r.get(Field::Category), Some("Одежда > Боди|Распродажа"));
        let r = record(&serde_json::json!({"sku": "A", "categories": "Одежда"}), &p, 1, 1, 0);
        assert_eq!(r.get(Field::Category), Some("Одежда"));
        let r = record(&serde_json::json!({"sku": "A", "categories": [{"id": 5}]}), &p, 1, 1, 0);
        assert!(r.problem.unwrap().message.contains("expected category paths as strings"));
        // Attributes: a value or an array of values; a missing key leaves the attribute alone.
        let attrs = crate::config::Columns { attributes: vec![("Размер".into(), "/props/size".into()), ("Цвет".into(), "colour".into())], ..Default::default() };
        let p = pointers(&crate::config::HttpSource { columns: attrs, ..cats.clone() }).unwrap();
        let r = record(&serde_json::json!({"sku": "A", "props": {"size": 42}, "colour": ["Белый", "Синий"]}), &p, 1, 1, 0);
        assert_eq!(r.attributes, [("Размер".to_string(), "42".to_string()), ("Цвет".into(), "Белый|Синий".into())]);
        let r = record(&serde_json::json!({"sku": "A", "colour": {"ru": "Белый"}}), &p, 1, 1, 0);
        assert!(r.attributes.is_empty());
        assert!(r.problem.unwrap().message.contains("attribute Цвет at colour: found an object"));
        // [source.meta]: each pointer of an entry (a stock's several are summed later); a
        // missing key leaves it alone.
        use crate::config::{MetaField, MetaKind};
        let meta = vec![
            MetaField { key: "_woosync_stock_ozon", kind: MetaKind::Stock, from: vec!["/stocks/ozon".into(), "/stocks/kgt".into()] },
            MetaField { key: "_woosync_yandex_code", kind: MetaKind::Text, from: vec!["code".into()] },
        ];
        let p = pointers(&crate::config::HttpSource { columns: crate::config::Columns { meta, ..Default::default() }, ..cats }).unwrap();
        let r = record(&serde_json::json!({"sku": "A", "stocks": {"ozon": 3, "kgt": "2"}, "code": "ЦБ-1"}), &p, 1, 1, 0);
        assert_eq!(r.meta, [(0, "3".to_string()), (0, "2".to_string()), (1, "ЦБ-1".to_string())]);
        let r = record(&serde_json::json!({"sku": "A", "stocks": {"ozon": [1]}}), &p, 1, 1, 0);
        assert!(r.problem.unwrap().message.contains("_woosync_stock_ozon at /stocks/ozon: found an array"));
    }

    #[test]
    fn malformed_json_names_the_byte() {
        let body = b"{\"items\": [\n {\"sku\": 1},\n {\"sku\": }\n]}";
        let e = serde_json::from_slice::<Value>(body).unwrap_err();
        let msg = malformed(body, &e, 2, &Url::parse("http://127.0.0.1/api?token=secret").unwrap()).to_string();
        assert!(msg.contains("page 2 (http://127.0.0.1/api): malformed JSON at byte 34 of 38 (line 3, column 10)"), "{msg}");
        assert!(!msg.contains("secret"));
    }

    #[test]
    fn html_is_told_apart_from_json() {
        assert!(looks_like_html(b"<!DOCTYPE html><title>Login</title>", "application/json"));
        assert!(looks_like_html(b"  \n<html>", ""));
        assert!(looks_like_html(b"{}", "text/html; charset=utf-8"));
        assert!(!looks_like_html(b" {\"items\": []}", "application/json"));
    }

    #[test]
    fn next_links_stay_on_the_origin() {
        let base = Url::parse("http://127.0.0.1:8080/api").unwrap();
        assert_eq!(follow(&base, &base, "/api?cursor=x", 1).unwrap().as_str(), "http://127.0.0.1:8080/api?cursor=x");
        assert!(follow(&base, &base, "http://127.0.0.2:8080/api", 1).is_err());
    }
}
