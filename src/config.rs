//! Config file + environment → one validated [`Settings`] value, before any I/O on the shop.
//!
//! Unknown keys are rejected with the key's name. The database URL may come from
//! `WOOSYNC_DATABASE_URL` so the password need not live in the file; it is kept in a
//! [`Secret`] whose `Debug`/`Display` never show it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database: DatabaseSection,
    source: SourceSection,
    #[serde(default)]
    sync: SyncSection,
    #[serde(default)]
    guard: GuardSection,
    log: Option<LogSection>,
    alerts: Option<AlertsSection>,
    hooks: Option<HooksSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HooksSection {
    after_success: Option<String>,
    on_failure: Option<String>,
    #[serde(default = "default_hook_timeout")]
    timeout_secs: u64,
}

fn default_hook_timeout() -> u64 {
    300
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsSection {
    state_file: Option<PathBuf>,
    telegram: Option<TelegramSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramSection {
    bot_token: Option<String>,
    chat_id: String,
    #[serde(default = "default_after_failures")]
    after_failures: u32,
    #[serde(default = "default_api_base")]
    api_base: String,
}

fn default_after_failures() -> u32 {
    3
}
fn default_api_base() -> String {
    "https://api.telegram.org".into()
}

/// `[alerts]`: where the failure streak is kept and where to send alerts.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub state_file: PathBuf,
    pub after_failures: u32,
    pub telegram: crate::alert::telegram::Telegram,
}

/// Replaces every `${NAME}` in a value with the environment variable NAME (secrets need not
/// live in the config file). An unset or empty variable is an error naming the key.
fn from_env(value: &str, key: &str) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::Config(format!("{key}: `${{` without a closing `}}`; expected ${{VARIABLE}}")))?;
        let name = &after[..end];
        let v = std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Config(format!("{key} refers to the environment variable {name}, which is not set")))?;
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    dir: PathBuf,
    #[serde(default = "default_keep_days")]
    keep_days: usize,
    #[serde(default = "default_log_format")]
    format: String,
}

fn default_keep_days() -> usize {
    14
}
fn default_log_format() -> String {
    "text".into()
}

/// `[log]`: a log file in `dir`, one per day, the last `keep_days` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub dir: PathBuf,
    pub keep_days: usize,
    pub json: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuardSection {
    #[serde(default = "default_min_items")]
    min_items_percent: f64,
    #[serde(default = "default_max_zero")]
    max_zero_stock_percent: f64,
    #[serde(default = "default_max_price")]
    max_price_change_percent: f64,
    #[serde(default = "default_min_affected")]
    min_affected_products: usize,
}

impl Default for GuardSection {
    fn default() -> Self {
        GuardSection {
            min_items_percent: default_min_items(),
            max_zero_stock_percent: default_max_zero(),
            max_price_change_percent: default_max_price(),
            min_affected_products: default_min_affected(),
        }
    }
}

fn default_min_items() -> f64 {
    50.0
}
fn default_max_zero() -> f64 {
    30.0
}
fn default_max_price() -> f64 {
    20.0
}
fn default_min_affected() -> usize {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    url: Option<String>,
    #[serde(default = "default_prefix")]
    table_prefix: String,
}

fn default_prefix() -> String {
    "wp_".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    #[serde(rename = "type")]
    kind: String,
    path: Option<PathBuf>,
    // csv
    delimiter: Option<String>,
    encoding: Option<String>,
    // xlsx
    sheet: Option<SheetKey>,
    header_row: Option<u32>,
    // commerceml
    import_path: Option<PathBuf>,
    // http
    url: Option<String>,
    method: Option<String>,
    headers: Option<std::collections::BTreeMap<String, String>>,
    basic_auth: Option<BasicAuthSection>,
    timeout_secs: Option<u64>,
    retries: Option<u32>,
    items: Option<String>,
    max_pages: Option<u32>,
    max_requests_per_sec: Option<f64>,
    paging: Option<PagingSection>,
    #[serde(default)]
    columns: Columns,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SheetKey {
    Index(i64),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuthSection {
    user: String,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PagingSection {
    #[serde(rename = "type")]
    kind: String,
    param: Option<String>,
    first: Option<u64>,
    size_param: Option<String>,
    size: Option<u64>,
    offset_param: Option<String>,
    limit_param: Option<String>,
    limit: Option<u64>,
    next: Option<String>,
}

/// Where each canonical field comes from: a header name (CSV, spreadsheets; or a column letter),
/// a JSON pointer (HTTP) or a price type / warehouses (CommerceML). A field left out uses its
/// own name (CSV, spreadsheets, HTTP).
#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub regular_price: Option<String>,
    pub sale_price: Option<String>,
    pub stock: Option<OneOrMany>,
    pub external_id: Option<String>,
}

/// `stock = "Остаток"` or `stock = ["Склад Москва", "Склад СПб"]` (summed).
#[derive(Debug, Deserialize, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

impl Columns {
    /// The configured name of a field's source (the stock's first one), else the field's own name.
    pub fn name_of(&self, field: crate::source::Field) -> String {
        use crate::source::Field;
        let configured = match field {
            Field::Sku => self.sku.clone(),
            Field::Name => self.name.clone(),
            Field::RegularPrice => self.regular_price.clone(),
            Field::SalePrice => self.sale_price.clone(),
            Field::Stock => self.stock.as_ref().and_then(|s| s.names().first().cloned()),
            Field::ExternalId => self.external_id.clone(),
        };
        configured.unwrap_or_else(|| field.name().to_string())
    }

    /// The stock sources in order: the configured ones, else the field's own name.
    pub fn stock_names(&self) -> Vec<String> {
        match &self.stock {
            Some(s) => s.names(),
            None => vec!["stock".to_string()],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncSection {
    #[serde(default = "default_status")]
    new_product_status: String,
    #[serde(default = "default_chunk")]
    chunk_size: usize,
    #[serde(default = "default_resume_within")]
    resume_within: String,
    #[serde(default = "default_author")]
    author_id: u64,
    #[serde(default = "default_lock_wait")]
    lock_wait_timeout_secs: u64,
    #[serde(default = "default_missing")]
    missing: String,
    #[serde(default = "default_external_id_meta")]
    external_id_meta: String,
    #[serde(default = "default_chunk_target")]
    chunk_target_ms: u64,
    #[serde(default = "default_chunk_min")]
    chunk_min: usize,
    #[serde(default = "default_chunk_max")]
    chunk_max: usize,
    #[serde(default)]
    pause_between_chunks_ms: u64,
    #[serde(default)]
    max_threads_running: u64,
    pause_file: Option<PathBuf>,
    stop_file: Option<PathBuf>,
}

fn default_chunk_target() -> u64 {
    500
}
fn default_chunk_min() -> usize {
    10
}
fn default_chunk_max() -> usize {
    1000
}

fn default_external_id_meta() -> String {
    "_woosync_external_id".into()
}

fn default_missing() -> String {
    "ignore".into()
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            new_product_status: default_status(),
            chunk_size: default_chunk(),
            resume_within: default_resume_within(),
            author_id: default_author(),
            lock_wait_timeout_secs: default_lock_wait(),
            missing: default_missing(),
            external_id_meta: default_external_id_meta(),
            chunk_target_ms: default_chunk_target(),
            chunk_min: default_chunk_min(),
            chunk_max: default_chunk_max(),
            pause_between_chunks_ms: 0,
            max_threads_running: 0,
            pause_file: None,
            stop_file: None,
        }
    }
}

fn default_status() -> String {
    "draft".into()
}
fn default_chunk() -> usize {
    100
}
fn default_resume_within() -> String {
    "1h".into()
}
fn default_author() -> u64 {
    1
}
fn default_lock_wait() -> u64 {
    5
}

/// How chunks are sized and paced on a live shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// Aim each chunk's transaction at this long (0 = keep `chunk_size`).
    pub target: Duration,
    pub min: usize,
    pub max: usize,
    /// Sleep between chunks.
    pub pause: Duration,
    /// Wait before a chunk while the server's `Threads_running` is above this (0 = never).
    pub max_threads_running: u64,
    /// Present → wait before the next chunk.
    pub pause_file: Option<PathBuf>,
    /// Present → finish the current chunk and stop as interrupted.
    pub stop_file: Option<PathBuf>,
}

/// A value that must never reach a log, a report or an error message.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1251,
}

/// The configured feed.
#[derive(Debug, Clone)]
pub enum Source {
    Csv(CsvSource),
    Xlsx(XlsxSource),
    Http(Box<HttpSource>),
    CommerceMl(CmlSource),
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Csv(_) => "csv",
            Source::Xlsx(_) => "xlsx",
            Source::Http(_) => "http",
            Source::CommerceMl(_) => "commerceml",
        }
    }

    pub fn columns(&self) -> &Columns {
        match self {
            Source::Csv(s) => &s.columns,
            Source::Xlsx(s) => &s.columns,
            Source::Http(s) => &s.columns,
            Source::CommerceMl(s) => &s.columns,
        }
    }

    /// Where the feed comes from, safe to log: a file path, or the URL without credentials
    /// and query. Also the source's identity for the products it has seen.
    pub fn label(&self) -> String {
        match self {
            Source::Csv(s) => s.path.display().to_string(),
            Source::Xlsx(s) => s.path.display().to_string(),
            Source::Http(s) => s.label.clone(),
            Source::CommerceMl(s) => s.offers.display().to_string(),
        }
    }

    /// How the source counts its rows in messages: "line 17", "row 17", "item 17", "offer 17".
    pub fn row_word(&self) -> &'static str {
        match self {
            Source::Csv(_) => "line",
            Source::Xlsx(_) => "row",
            Source::Http(_) => "item",
            Source::CommerceMl(_) => "offer",
        }
    }

    /// Whether rows carry an external ID (a configured column, or CommerceML's `Ид`).
    pub fn has_external_ids(&self) -> bool {
        matches!(self, Source::CommerceMl(_)) || self.columns().external_id.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct CsvSource {
    pub path: PathBuf,
    pub delimiter: Option<u8>,
    pub encoding: Encoding,
    pub columns: Columns,
}

/// A sheet by name or by position (1 = the first sheet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetRef {
    Name(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub struct XlsxSource {
    pub path: PathBuf,
    pub sheet: SheetRef,
    /// The 1-based row holding the column titles; 0 = no header row (columns by letter only).
    pub header_row: u32,
    pub columns: Columns,
}

#[derive(Debug, Clone)]
pub struct CmlSource {
    /// `offers.xml`: prices and stock.
    pub offers: PathBuf,
    /// `import.xml`: articles and names of the goods, when the offers lack them.
    pub import: Option<PathBuf>,
    pub columns: Columns,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// One request.
    None,
    /// `?param=first`, `first+1`, ... until a page has no items.
    Page { param: String, first: u64, size: Option<(String, u64)> },
    /// `?offset_param=0&limit_param=limit`, advancing by the items received, until a page has none.
    Offset { offset_param: String, limit_param: String, limit: u64 },
    /// The next page's URL from a JSON pointer in the body, or from the `Link: <...>; rel="next"` header.
    Next { pointer: Option<String> },
}

#[derive(Debug, Clone)]
pub struct HttpSource {
    /// The full URL, which may hold a secret (expanded from `${VAR}`).
    pub url: Secret,
    /// The URL without credentials or query, for logs and messages.
    pub label: String,
    pub method: String,
    pub headers: Vec<(String, Secret)>,
    pub basic_auth: Option<(String, Secret)>,
    pub timeout: Duration,
    pub retries: u32,
    /// The first retry waits this long, each later one twice as long (at most 30 s).
    pub retry_base: Duration,
    /// JSON pointer to the array of items in each page (`""` = the body is the array).
    pub items: String,
    pub paging: Paging,
    pub max_pages: u32,
    pub max_requests_per_sec: Option<f64>,
    pub columns: Columns,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub database_url: Secret,
    pub table_prefix: String,
    pub source: Source,
    /// The meta key holding the source's external ID (`[sync] external_id_meta`); leaked once
    /// per config load so the writer can treat it like WooCommerce's own keys.
    pub external_id_meta: &'static str,
    pub new_product_status: String,
    /// Products in the first chunk; later chunks follow `chunks` when it adapts.
    pub chunk_size: usize,
    pub chunks: ChunkPolicy,
    pub resume_within: Duration,
    pub author_id: u64,
    /// How long one statement waits for a row lock held by the shop before the chunk is
    /// rolled back and retried (InnoDB's default of 50 s is too long for a live shop).
    pub lock_wait_timeout_secs: u64,
    pub guard: crate::guard::Limits,
    pub log: Option<LogSettings>,
    pub alerts: Option<AlertSettings>,
    /// `[sync] missing = "zero_stock"`: products this source synced before and now absent go to stock 0.
    pub zero_missing: bool,
    pub hooks: Option<crate::hooks::Hooks>,
}

impl Settings {
    /// Reads and validates the config file; `WOOSYNC_DATABASE_URL` overrides `[database] url`.
    pub fn load(path: &Path) -> Result<Settings> {
        let env_url = std::env::var("WOOSYNC_DATABASE_URL").ok().filter(|s| !s.is_empty());
        Self::load_with(path, env_url)
    }

    pub fn load_with(path: &Path, env_url: Option<String>) -> Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read config file {}: {e}", path.display())))?;
        Self::parse(&text, path, env_url)
    }

    pub fn parse(text: &str, path: &Path, env_url: Option<String>) -> Result<Settings> {
        let file: FileConfig = toml::from_str(text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.to_string().trim())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();

        let url = env_url.or(file.database.url).ok_or_else(|| {
            Error::Config(format!(
                "{}: no database URL: set [database] url or the WOOSYNC_DATABASE_URL environment variable",
                path.display()
            ))
        })?;
        if !url.starts_with("mysql://") {
            return Err(Error::Config("database url must start with mysql:// (mysql://user:password@host:3306/database)".into()));
        }
        let prefix = file.database.table_prefix;
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Config(format!(
                "[database] table_prefix = {prefix:?}: expected letters, digits and underscores, like \"wp_\""
            )));
        }

        let source = parse_source(file.source, &base)?;
        let external_id_meta = file.sync.external_id_meta.trim().to_string();
        if external_id_meta.is_empty()
            || external_id_meta.len() > 255
            || !external_id_meta.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || crate::model::Key::ALL.iter().any(|k| k.meta_key() == external_id_meta)
        {
            return Err(Error::Config(format!(
                "[sync] external_id_meta = {external_id_meta:?}: expected a meta key of letters, digits, `_` and `-` \
                 that WooCommerce does not use itself, like \"_woosync_external_id\""
            )));
        }

        let log = match file.log {
            None => None,
            Some(l) => {
                let json = match l.format.as_str() {
                    "text" => false,
                    "json" => true,
                    other => return Err(Error::Config(format!("[log] format = {other:?}: expected \"text\" or \"json\""))),
                };
                if l.keep_days == 0 {
                    return Err(Error::Config("[log] keep_days = 0: expected at least 1".into()));
                }
                let dir = if l.dir.is_absolute() { l.dir } else { base.join(l.dir) };
                Some(LogSettings { dir, keep_days: l.keep_days, json })
            }
        };
        let alerts = match file.alerts {
            Some(AlertsSection { state_file, telegram: Some(t) }) => {
                let token = match t.bot_token {
                    Some(v) => from_env(&v, "[alerts.telegram] bot_token")?,
                    None => std::env::var("WOOSYNC_TELEGRAM_BOT_TOKEN").ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                        Error::Config("[alerts.telegram] needs a bot token: set WOOSYNC_TELEGRAM_BOT_TOKEN or bot_token = \"${VAR}\"".into())
                    })?,
                };
                let state_file = match state_file {
                    Some(p) if p.is_absolute() => p,
                    Some(p) => base.join(p),
                    None => crate::alert::default_state_file(path),
                };
                Some(AlertSettings {
                    state_file,
                    after_failures: t.after_failures.max(1),
                    telegram: crate::alert::telegram::Telegram { api_base: t.api_base, bot_token: Secret(token), chat_id: t.chat_id },
                })
            }
            _ => None,
        };
        let sync = file.sync;
        if !matches!(sync.new_product_status.as_str(), "draft" | "pending" | "private") {
            return Err(Error::Config(format!(
                "[sync] new_product_status = {:?}: expected \"draft\", \"pending\" or \"private\"",
                sync.new_product_status
            )));
        }
        if sync.chunk_size == 0 || sync.chunk_size > 10_000 {
            return Err(Error::Config(format!(
                "[sync] chunk_size = {}: expected 1 to 10000",
                sync.chunk_size
            )));
        }
        if sync.chunk_min == 0 || sync.chunk_min > sync.chunk_max || sync.chunk_max > 10_000 {
            return Err(Error::Config(format!(
                "[sync] chunk_min = {}, chunk_max = {}: expected 1 ≤ chunk_min ≤ chunk_max ≤ 10000",
                sync.chunk_min, sync.chunk_max
            )));
        }
        let in_base = |p: Option<PathBuf>| p.map(|p| if p.is_absolute() { p } else { base.join(p) });
        let resume_within = humantime::parse_duration(&sync.resume_within).map_err(|e| {
            Error::Config(format!(
                "[sync] resume_within = {:?}: {e}; expected a duration like \"1h\" or \"30m\"",
                sync.resume_within
            ))
        })?;

        Ok(Settings {
            config_path: path.to_path_buf(),
            database_url: Secret(url),
            table_prefix: prefix,
            source,
            external_id_meta: Box::leak(external_id_meta.into_boxed_str()),
            new_product_status: sync.new_product_status,
            chunk_size: sync.chunk_size,
            chunks: ChunkPolicy {
                target: Duration::from_millis(sync.chunk_target_ms),
                min: sync.chunk_min,
                max: sync.chunk_max,
                pause: Duration::from_millis(sync.pause_between_chunks_ms),
                max_threads_running: sync.max_threads_running,
                pause_file: in_base(sync.pause_file),
                stop_file: in_base(sync.stop_file),
            },
            resume_within,
            author_id: sync.author_id,
            lock_wait_timeout_secs: sync.lock_wait_timeout_secs.clamp(1, 3600),
            log,
            alerts,
            zero_missing: match sync.missing.as_str() {
                "ignore" => false,
                "zero_stock" => true,
                other => return Err(Error::Config(format!("[sync] missing = {other:?}: expected \"ignore\" or \"zero_stock\""))),
            },
            hooks: file.hooks.map(|h| crate::hooks::Hooks {
                after_success: h.after_success.filter(|c| !c.trim().is_empty()),
                on_failure: h.on_failure.filter(|c| !c.trim().is_empty()),
                timeout: Duration::from_secs(h.timeout_secs.max(1)),
            }),
            guard: {
                let g = file.guard;
                for (key, v) in [
                    ("min_items_percent", g.min_items_percent),
                    ("max_zero_stock_percent", g.max_zero_stock_percent),
                    ("max_price_change_percent", g.max_price_change_percent),
                ] {
                    if !(0.0..=100.0).contains(&v) {
                        return Err(Error::Config(format!("[guard] {key} = {v}: expected a percentage from 0 to 100")));
                    }
                }
                crate::guard::Limits {
                    min_items_percent: g.min_items_percent,
                    max_zero_stock_percent: g.max_zero_stock_percent,
                    max_price_change_percent: g.max_price_change_percent,
                    min_affected: g.min_affected_products,
                }
            },
        })
    }

    /// Hash of every setting that shapes the plan. A resume refuses a run whose plan was made
    /// under different settings (the database URL and chunk size do not count).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.table_prefix.as_bytes());
        h.update(b"\0");
        h.update(self.new_product_status.as_bytes());
        h.update(b"\0");
        h.update(self.author_id.to_string().as_bytes());
        h.update(b"\0");
        h.update(self.source.kind().as_bytes());
        h.update(b"\0");
        h.update(serde_json::to_string(self.source.columns()).unwrap_or_default().as_bytes());
        if self.source.has_external_ids() {
            h.update(b"\0external_id_meta=");
            h.update(self.external_id_meta.as_bytes());
        }
        h.update(if self.zero_missing { "\0missing=zero_stock" } else { "\0missing=ignore" }.as_bytes());
        hex(&h.finalize())
    }

    /// Database name from the URL, for the lock name and messages (never the credentials).
    pub fn database_name(&self) -> String {
        url::Url::parse(self.database_url.expose())
            .ok()
            .map(|u| u.path().trim_start_matches('/').to_string())
            .unwrap_or_default()
    }
}

/// `[source]` → [`Source`]: the keys of the chosen type only, each checked.
fn parse_source(src: SourceSection, base: &Path) -> Result<Source> {
    let kind = src.kind.to_ascii_lowercase();
    let kind = match kind.as_str() {
        "xls" | "ods" => "xlsx".to_string(),
        "cml" | "1c" => "commerceml".to_string(),
        _ => kind,
    };
    // Keys that belong to another type are a mistake worth naming.
    let given: [(&str, bool, &[&str]); 15] = [
        ("path", src.path.is_some(), &["csv", "xlsx", "commerceml"]),
        ("delimiter", src.delimiter.is_some(), &["csv"]),
        ("encoding", src.encoding.is_some(), &["csv"]),
        ("sheet", src.sheet.is_some(), &["xlsx"]),
        ("header_row", src.header_row.is_some(), &["xlsx"]),
        ("import_path", src.import_path.is_some(), &["commerceml"]),
        ("url", src.url.is_some(), &["http"]),
        ("method", src.method.is_some(), &["http"]),
        ("headers", src.headers.is_some(), &["http"]),
        ("basic_auth", src.basic_auth.is_some(), &["http"]),
        ("timeout_secs", src.timeout_secs.is_some(), &["http"]),
        ("retries", src.retries.is_some(), &["http"]),
        ("items", src.items.is_some(), &["http"]),
        ("max_pages", src.max_pages.is_some(), &["http"]),
        ("max_requests_per_sec", src.max_requests_per_sec.is_some(), &["http"]),
    ];
    if !matches!(kind.as_str(), "csv" | "xlsx" | "http" | "commerceml") {
        return Err(Error::Config(format!(
            "[source] type = {:?}: expected \"csv\", \"xlsx\" (also .xls/.ods), \"http\" or \"commerceml\"",
            src.kind
        )));
    }
    for (key, present, types) in given.iter().chain([("paging", src.paging.is_some(), &["http"][..])].iter()) {
        if *present && !types.contains(&kind.as_str()) {
            return Err(Error::Config(format!("[source] {key} applies to type = \"{}\" only, not {kind:?}", types.join("\" or \""))));
        }
    }
    let columns = src.columns;
    if let Some(OneOrMany::Many(v)) = &columns.stock {
        if v.is_empty() {
            return Err(Error::Config("[source.columns] stock = []: expected one or more names".into()));
        }
    }
    let path = |p: Option<PathBuf>, key: &str| -> Result<PathBuf> {
        let p = p.ok_or_else(|| Error::Config(format!("[source] {key} is required for type = {kind:?}")))?;
        Ok(if p.is_absolute() { p } else { base.join(p) })
    };
    match kind.as_str() {
        "csv" => {
            let delimiter = match src.delimiter.as_deref() {
                None => None,
                Some(",") => Some(b','),
                Some(";") => Some(b';'),
                Some("\t") | Some("\\t") | Some("tab") | Some("TAB") => Some(b'\t'),
                Some("|") => Some(b'|'),
                Some(other) => {
                    return Err(Error::Config(format!(
                        "[source] delimiter = {other:?}: expected \",\", \";\", \"\\t\" or \"|\" (or leave it out to detect)"
                    )))
                }
            };
            let encoding = parse_encoding(src.encoding.as_deref())?;
            Ok(Source::Csv(CsvSource { path: path(src.path, "path")?, delimiter, encoding, columns }))
        }
        "xlsx" => {
            let sheet = match src.sheet {
                None => SheetRef::Index(1),
                Some(SheetKey::Index(i)) if i >= 1 => SheetRef::Index(i as usize),
                Some(SheetKey::Index(i)) => {
                    return Err(Error::Config(format!("[source] sheet = {i}: expected a sheet name or a position from 1 (the first sheet)")))
                }
                Some(SheetKey::Name(n)) => SheetRef::Name(n),
            };
            Ok(Source::Xlsx(XlsxSource { path: path(src.path, "path")?, sheet, header_row: src.header_row.unwrap_or(1), columns }))
        }
        "commerceml" => {
            for (key, v) in [("sku", &columns.sku), ("name", &columns.name), ("external_id", &columns.external_id)] {
                if v.is_some() {
                    return Err(Error::Config(format!(
                        "[source.columns] {key} does not apply to commerceml: it reads Артикул, Наименование and Ид; \
                         map regular_price and sale_price to price types and stock to warehouses"
                    )));
                }
            }
            let import = src.import_path.map(|p| if p.is_absolute() { p } else { base.join(p) });
            Ok(Source::CommerceMl(CmlSource { offers: path(src.path, "path")?, import, columns }))
        }
        _ => parse_http(src.url, src.method, src.headers, src.basic_auth, src.timeout_secs, src.retries, src.items, src.max_pages, src.max_requests_per_sec, src.paging, columns),
    }
}

fn parse_encoding(value: Option<&str>) -> Result<Encoding> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8") | Some("utf8") => Ok(Encoding::Utf8),
        Some("windows-1251") | Some("cp1251") => Ok(Encoding::Windows1251),
        Some(other) => Err(Error::Config(format!("[source] encoding = {other:?}: expected \"utf-8\" or \"windows-1251\""))),
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_http(
    url: Option<String>,
    method: Option<String>,
    headers: Option<std::collections::BTreeMap<String, String>>,
    basic_auth: Option<BasicAuthSection>,
    timeout_secs: Option<u64>,
    retries: Option<u32>,
    items: Option<String>,
    max_pages: Option<u32>,
    max_requests_per_sec: Option<f64>,
    paging: Option<PagingSection>,
    columns: Columns,
) -> Result<Source> {
    let raw = url.ok_or_else(|| Error::Config("[source] url is required for type = \"http\"".into()))?;
    let full = from_env(&raw, "[source] url")?;
    let parsed = url::Url::parse(&full).map_err(|e| Error::Config(format!("[source] url: {e}; expected an http:// or https:// URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!("[source] url: scheme {:?}; expected http or https", parsed.scheme())));
    }
    let label = redact_url(&parsed);
    let method = method.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST") {
        return Err(Error::Config(format!("[source] method = {method:?}: expected \"GET\" or \"POST\"")));
    }
    let mut header_list = Vec::new();
    for (name, value) in headers.unwrap_or_default() {
        let key = format!("[source.headers] {name}");
        reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Config(format!("{key}: not a valid header name")))?;
        let value = from_env(&value, &key)?;
        reqwest::header::HeaderValue::from_str(&value).map_err(|_| Error::Config(format!("{key}: the value is not a valid header value")))?;
        header_list.push((name, Secret(value)));
    }
    let basic_auth = match basic_auth {
        None => None,
        Some(b) => {
            let password = match b.password {
                Some(p) => from_env(&p, "[source.basic_auth] password")?,
                None => String::new(),
            };
            Some((b.user, Secret(password)))
        }
    };
    let pointer = |p: String, key: &str| -> Result<String> {
        if p.is_empty() || p.starts_with('/') {
            Ok(p)
        } else {
            Err(Error::Config(format!("{key} = {p:?}: expected a JSON pointer like \"/data/products\" (or \"\" for the whole body)")))
        }
    };
    let items = pointer(items.unwrap_or_default(), "[source] items")?;
    let paging = match paging {
        None => Paging::None,
        Some(p) => {
            let kind = p.kind.to_ascii_lowercase();
            let unexpected = |keys: &[(&str, bool)]| -> Result<()> {
                match keys.iter().find(|(_, present)| *present) {
                    Some((k, _)) => Err(Error::Config(format!("[source.paging] {k} does not apply to type = {kind:?}"))),
                    None => Ok(()),
                }
            };
            match kind.as_str() {
                "none" => {
                    unexpected(&[("param", p.param.is_some()), ("next", p.next.is_some()), ("limit", p.limit.is_some())])?;
                    Paging::None
                }
                "page" => {
                    unexpected(&[("offset_param", p.offset_param.is_some()), ("limit_param", p.limit_param.is_some()), ("limit", p.limit.is_some()), ("next", p.next.is_some())])?;
                    let size = match (p.size_param, p.size) {
                        (Some(n), Some(s)) if s > 0 => Some((n, s)),
                        (None, None) => None,
                        _ => return Err(Error::Config("[source.paging] size_param and size go together (size ≥ 1)".into())),
                    };
                    Paging::Page { param: p.param.unwrap_or_else(|| "page".into()), first: p.first.unwrap_or(1), size }
                }
                "offset" => {
                    unexpected(&[("param", p.param.is_some()), ("first", p.first.is_some()), ("size_param", p.size_param.is_some()), ("size", p.size.is_some()), ("next", p.next.is_some())])?;
                    let limit = p.limit.unwrap_or(100);
                    if limit == 0 {
                        return Err(Error::Config("[source.paging] limit = 0: expected at least 1".into()));
                    }
                    Paging::Offset {
                        offset_param: p.offset_param.unwrap_or_else(|| "offset".into()),
                        limit_param: p.limit_param.unwrap_or_else(|| "limit".into()),
                        limit,
                    }
                }
                "next" => {
                    unexpected(&[("param", p.param.is_some()), ("first", p.first.is_some()), ("size_param", p.size_param.is_some()), ("size", p.size.is_some()), ("offset_param", p.offset_param.is_some()), ("limit_param", p.limit_param.is_some()), ("limit", p.limit.is_some())])?;
                    Paging::Next { pointer: p.next.map(|n| pointer(n, "[source.paging] next")).transpose()? }
                }
                other => {
                    return Err(Error::Config(format!(
                        "[source.paging] type = {other:?}: expected \"page\", \"offset\", \"next\" or \"none\""
                    )))
                }
            }
        }
    };
    for (key, v) in [
        ("sku", &columns.sku),
        ("name", &columns.name),
        ("regular_price", &columns.regular_price),
        ("sale_price", &columns.sale_price),
        ("external_id", &columns.external_id),
    ] {
        if let Some(v) = v {
            if v.is_empty() {
                return Err(Error::Config(format!("[source.columns] {key} = \"\": expected a JSON pointer like \"/article\" or a field name")));
            }
        }
    }
    if let Some(rate) = max_requests_per_sec {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(Error::Config(format!("[source] max_requests_per_sec = {rate}: expected a number above 0")));
        }
    }
    Ok(Source::Http(Box::new(HttpSource {
        url: Secret(full),
        label,
        method,
        headers: header_list,
        basic_auth,
        timeout: Duration::from_secs(timeout_secs.unwrap_or(30).clamp(1, 3600)),
        retries: retries.unwrap_or(3).min(20),
        retry_base: Duration::from_millis(500),
        items,
        paging,
        max_pages: max_pages.unwrap_or(10_000).max(1),
        max_requests_per_sec,
        columns,
    })))
}

/// A URL safe to show: scheme, host, port and path; no user, password or query.
pub fn redact_url(u: &url::Url) -> String {
    let mut shown = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(port) = u.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(u.path());
    shown
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings> {
        Settings::parse(text, Path::new("/etc/woosync/shop.toml"), None)
    }

    const MINIMAL: &str = "[database]\nurl = \"mysql://u:p@127.0.0.1/shop\"\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n";

    #[test]
    fn defaults_and_relative_path() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.table_prefix, "wp_");
        assert_eq!(s.new_product_status, "draft");
        assert_eq!(s.chunk_size, 100);
        assert_eq!((s.chunks.target, s.chunks.min, s.chunks.max), (Duration::from_millis(500), 10, 1000));
        assert_eq!(s.resume_within, Duration::from_secs(3600));
        assert_eq!(s.source.label(), "/etc/woosync/feed.csv");
        assert_eq!(s.external_id_meta, "_woosync_external_id");
        assert_eq!(s.database_name(), "shop");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse(&format!("{MINIMAL}[sync]\nchunk_sise = 10\n")).unwrap_err().to_string();
        assert!(err.contains("chunk_sise"), "{err}");
    }

    #[test]
    fn env_url_overrides_and_is_never_printed() {
        let s = Settings::parse(MINIMAL, Path::new("x.toml"), Some("mysql://root:hunter2@db/shop2".into())).unwrap();
        assert_eq!(s.database_name(), "shop2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn bad_status_is_explained() {
        let err = parse(&format!("{MINIMAL}[sync]\nnew_product_status = \"publish\"\n")).unwrap_err().to_string();
        assert!(err.contains("\"draft\", \"pending\" or \"private\""), "{err}");
    }

    #[test]
    fn fingerprint_follows_plan_settings() {
        let a = parse(MINIMAL).unwrap();
        let b = parse(&format!("{MINIMAL}[sync]\nnew_product_status = \"private\"\n")).unwrap();
        let c = parse(&format!("{MINIMAL}[sync]\nchunk_size = 7\n")).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn every_sample_config_is_valid() {
        // SAFETY: only these tests read these variables.
        unsafe {
            std::env::set_var("ERP_TOKEN", "t");
        }
        for name in ["woosync.example.toml", "demo.toml", "source-xlsx.toml", "source-http.toml", "source-commerceml.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(name);
            let s = Settings::load_with(&path, Some("mysql://u:p@127.0.0.1/shop".into())).unwrap_or_else(|e| panic!("{name}: {e}"));
            let kind = s.source.kind();
            assert!(name.contains(kind) || matches!(name, "woosync.example.toml" | "demo.toml"), "{name}: {kind}");
        }
    }

    #[test]
    fn source_keys_of_another_type_are_named() {
        let err = parse(&format!("{MINIMAL}sheet = 2\n")).unwrap_err().to_string();
        assert!(err.contains("[source] sheet applies to type = \"xlsx\" only"), "{err}");
        let http = "[database]\nurl = \"mysql://u:p@h/s\"\n[source]\ntype = \"http\"\nurl = \"https://erp/api?key=${WOOSYNC_TEST_UNSET_VAR}\"\n";
        let err = parse(http).unwrap_err().to_string();
        assert!(err.contains("[source] url refers to the environment variable WOOSYNC_TEST_UNSET_VAR, which is not set"), "{err}");
        let paging = http.replace("?key=${WOOSYNC_TEST_UNSET_VAR}", "") + "[source.paging]\ntype = \"page\"\nlimit = 5\n";
        let err = parse(&paging).unwrap_err().to_string();
        assert!(err.contains("[source.paging] limit does not apply to type = \"page\""), "{err}");
        let cml = "[database]\nurl = \"mysql://u:p@h/s\"\n[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\n[source.columns]\nsku = \"Код\"\n";
        assert!(parse(cml).unwrap_err().to_string().contains("sku does not apply to commerceml"));
        let meta = format!("{MINIMAL}[sync]\nexternal_id_meta = \"_sku\"\n");
        assert!(parse(&meta).unwrap_err().to_string().contains("external_id_meta"));
    }
}
