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

/// `${NAME}` in a secret's value means "from the environment variable NAME".
fn from_env(value: &str, key: &str) -> Result<String> {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(name) => std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Config(format!("{key} refers to the environment variable {name}, which is not set"))),
        None => Ok(value.to_string()),
    }
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
    path: PathBuf,
    delimiter: Option<String>,
    encoding: Option<String>,
    #[serde(default)]
    columns: Columns,
}

/// Feed header names for each canonical field; a field left out uses its own name.
#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub regular_price: Option<String>,
    pub sale_price: Option<String>,
    pub stock: Option<String>,
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
        }
    }
}

fn default_status() -> String {
    "draft".into()
}
fn default_chunk() -> usize {
    500
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

#[derive(Debug, Clone)]
pub struct CsvSource {
    pub path: PathBuf,
    pub delimiter: Option<u8>,
    pub encoding: Encoding,
    pub columns: Columns,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub database_url: Secret,
    pub table_prefix: String,
    pub source: CsvSource,
    pub new_product_status: String,
    pub chunk_size: usize,
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

        let src = file.source;
        if src.kind != "csv" {
            return Err(Error::Config(format!(
                "[source] type = {:?}: this version reads \"csv\" feeds",
                src.kind
            )));
        }
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
        let encoding = match src.encoding.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("utf-8") | Some("utf8") => Encoding::Utf8,
            Some("windows-1251") | Some("cp1251") => Encoding::Windows1251,
            Some(other) => {
                return Err(Error::Config(format!(
                    "[source] encoding = {other:?}: expected \"utf-8\" or \"windows-1251\""
                )))
            }
        };
        let source_path = if src.path.is_absolute() { src.path } else { base.join(src.path) };

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
            source: CsvSource { path: source_path, delimiter, encoding, columns: src.columns },
            new_product_status: sync.new_product_status,
            chunk_size: sync.chunk_size,
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
        h.update(serde_json::to_string(&self.source.columns).unwrap_or_default().as_bytes());
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
        assert_eq!(s.chunk_size, 500);
        assert_eq!(s.resume_within, Duration::from_secs(3600));
        assert_eq!(s.source.path, PathBuf::from("/etc/woosync/feed.csv"));
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
}
