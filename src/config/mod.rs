//! Config file + environment → one validated [`Settings`] value, before any I/O on the shop.
//!
//! One file per section (`database`, `source`, `sync`, `guard`, `alerts`, `log`, `hooks`,
//! `object_cache`), each
//! with its TOML shape, its defaults and the checks that settle it into plain data; this file
//! holds what they share (`${VAR}` expansion, [`Secret`]) and puts the sections together. The
//! config module owns the section types the rest of the crate reads and imports no pipeline
//! module (only `error` and the `model` vocabulary).
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

mod alerts;
mod database;
mod feeds;
mod guard;
mod hooks;
mod log;
mod object_cache;
mod source;
mod sync;
mod wordpress;

pub use alerts::{default_state_file, AlertSettings, Telegram};
pub use feeds::{FeedFile, FeedFilter, FeedFormat, FeedShop, Feeds, OfferId};
pub use guard::Limits;
pub use hooks::Hooks;
pub use log::LogSettings;
pub use object_cache::{CacheMode, ObjectCache};
pub use source::{CmlSource, Columns, MetaField, MetaKind, RowRules, CATEGORY_SEPARATOR, SkipRule, CsvSource, Encoding, Field, HttpSource, OneOrMany, Paging, SheetRef, Source, XlsxSource, FIELDS};
pub use sync::{AttributePolicy, ChunkPolicy, ContentPolicy};
pub use wordpress::WordPress;

use alerts::AlertsSection;
use database::DatabaseSection;
use feeds::FeedsSection;
use guard::GuardSection;
use hooks::HooksSection;
use log::LogSection;
use object_cache::ObjectCacheSection;
use source::SourceSection;
use sync::SyncSection;
use wordpress::WordPressSection;

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
    object_cache: Option<ObjectCacheSection>,
    feeds: Option<FeedsSection>,
    wordpress: Option<WordPressSection>,
}

/// A value that must never reach a log, a report or an error message.
#[derive(Clone)]
pub struct Secret(pub(crate) String);

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

/// The longest meta key WordPress stores (`meta_key` is a VARCHAR(255)).
pub(crate) const MAX_META_KEY_CHARS: usize = 255;

/// Whether a meta key config names is one woosync takes: letters, digits, `_` and `-` (it goes
/// into SQL text as it is), at most [`MAX_META_KEY_CHARS`].
pub(crate) fn is_meta_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_META_KEY_CHARS && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Replaces every `${NAME}` in a value with the environment variable NAME (secrets need not
/// live in the config file). An unset or empty variable is an error naming the key.
pub(crate) fn expand_env(value: &str, key: &str) -> Result<String> {
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

#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub database_url: Secret,
    pub table_prefix: String,
    pub source: Source,
    /// `[source] price_divisor`, `skip_rows`, `skip_total_rows`: how rows are read.
    pub rows: RowRules,
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
    pub guard: Limits,
    pub log: Option<LogSettings>,
    pub alerts: Option<AlertSettings>,
    /// `[sync] missing = "zero_stock"`: products this source synced before and now absent go to stock 0.
    pub zero_missing: bool,
    /// `[sync] fractional_stock`: what a stock quantity with a fraction becomes.
    pub fractional_stock: crate::model::Fractional,
    /// `[sync] update_content`: the card fields kept in step on existing products.
    pub update_content: ContentPolicy,
    /// `[sync] local_attributes` and `attribute_slugs`.
    pub attributes: AttributePolicy,
    /// `[sync] variation_sku`: the SKU template of variations created without one of their own.
    pub variation_sku: Option<String>,
    pub hooks: Option<Hooks>,
    /// The shop's persistent object cache, kept in step with every write.
    pub object_cache: Option<ObjectCache>,
    /// `[feeds]`: the marketplace feeds `woosync feed` (and, with `after_sync`, each sync) writes.
    pub feeds: Option<Feeds>,
    /// `[wordpress]`: the media library's folder, for the pictures a feed names.
    pub wordpress: Option<WordPress>,
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
        let (database_url, table_prefix) = file.database.settle(env_url, path)?;
        let (mut source, rows) = file.source.settle(&base)?;
        let sync = file.sync.settle(&base)?;
        if let Source::CommerceMl(c) = &mut source {
            c.parent_sku_from_id = sync.parent_sku_from_id;
        }
        if let Some(m) = source.columns().meta.iter().find(|m| m.key == sync.external_id_meta) {
            return Err(Error::Config(format!(
                "[source.meta] {:?}: {} is woosync's own link to the source's IDs ([sync] external_id_meta); map external_id in [source.columns]",
                m.key, m.key
            )));
        }
        let wordpress = file.wordpress.map(|w| w.settle(&base)).transpose()?.flatten();
        if source.columns().images.is_some() && wordpress.is_none() {
            return Err(Error::Config(
                "[source.columns] images needs [wordpress] uploads_dir: the folder of the shop's wp-content/uploads on this host, where the pictures go".into(),
            ));
        }
        if sync.update_content.images && wordpress.is_none() {
            return Err(Error::Config(
                "[sync] update_content = [\"images\"] needs [wordpress] uploads_dir: the folder of the shop's wp-content/uploads on this host, where the pictures go".into(),
            ));
        }
        let log = file.log.map(|l| l.settle(&base)).transpose()?;
        let alerts = match file.alerts {
            Some(a) => a.settle(path, &base)?,
            None => None,
        };
        Ok(Settings {
            config_path: path.to_path_buf(),
            database_url,
            table_prefix,
            source,
            rows,
            external_id_meta: sync.external_id_meta,
            new_product_status: sync.new_product_status,
            chunk_size: sync.chunk_size,
            chunks: sync.chunks,
            resume_within: sync.resume_within,
            author_id: sync.author_id,
            lock_wait_timeout_secs: sync.lock_wait_timeout_secs,
            log,
            alerts,
            zero_missing: sync.zero_missing,
            fractional_stock: sync.fractional_stock,
            update_content: sync.update_content,
            attributes: sync.attributes,
            variation_sku: sync.variation_sku,
            hooks: file.hooks.map(HooksSection::settle),
            guard: file.guard.settle()?,
            object_cache: file
                .object_cache
                .map(|c| c.settle(std::env::var("WOOSYNC_REDIS_URL").ok().filter(|s| !s.is_empty())))
                .transpose()?,
            feeds: match file.feeds {
                Some(f) => f.settle(&base)?,
                None => None,
            },
            wordpress,
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
        if self.update_content != ContentPolicy::default() || self.rows.category_separator != source::CATEGORY_SEPARATOR {
            h.update(format!("\0update_content={:?}\0category_separator={}", self.update_content, self.rows.category_separator).as_bytes());
        }
        let columns = self.source.columns();
        if !columns.attributes.is_empty() || self.attributes != AttributePolicy::default() {
            h.update(format!("\0attributes={:?}\0{:?}", columns.attributes, self.attributes).as_bytes());
        }
        if !columns.meta.is_empty() {
            h.update(format!("\0meta={:?}", columns.meta).as_bytes());
        }
        if let Some(t) = &self.variation_sku {
            h.update(format!("\0variation_sku={t}").as_bytes());
        }
        if let Source::CommerceMl(c) = &self.source {
            if c.parent_sku_from_id {
                h.update(b"\0parent_sku_from=external_id");
            }
        }
        hex(&h.finalize())
    }

    /// With `[wordpress]`: the folder relative picture paths start from — the feed file's (for
    /// CommerceML, `import.xml`'s), else the config file's.
    pub fn images_base(&self) -> Option<PathBuf> {
        self.wordpress.as_ref()?;
        let config_dir = self.config_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let file = match &self.source {
            Source::Csv(c) => Some(c.path.clone()),
            Source::Xlsx(x) => Some(x.path.clone()),
            Source::CommerceMl(c) => c.import.clone().or_else(|| Some(c.offers.clone())),
            Source::Http(_) => None,
        };
        Some(file.and_then(|f| f.parent().map(Path::to_path_buf)).filter(|d| !d.as_os_str().is_empty()).unwrap_or(config_dir))
    }

    /// Database name from the URL, for the lock name and messages (never the credentials).
    pub fn database_name(&self) -> String {
        url::Url::parse(self.database_url.expose())
            .ok()
            .map(|u| u.path().trim_start_matches('/').to_string())
            .unwrap_or_default()
    }
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
            std::env::set_var("MOYSKLAD_TOKEN", "t");
        }
        for name in ["woosync.example.toml", "demo.toml", "source-xlsx.toml", "source-http.toml", "source-commerceml.toml", "source-moysklad.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(name);
            let s = Settings::load_with(&path, Some("mysql://u:p@127.0.0.1/shop".into())).unwrap_or_else(|e| panic!("{name}: {e}"));
            let kind = s.source.kind();
            assert!(name.contains(kind) || matches!((name, kind), ("woosync.example.toml" | "demo.toml", _) | ("source-moysklad.toml", "http")), "{name}: {kind}");
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

    #[test]
    fn update_content_and_the_category_separator_are_checked() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!((s.update_content, s.rows.category_separator.as_str()), (ContentPolicy::default(), " > "));
        let s = parse(&format!("{MINIMAL}category_separator = \"/\"\n[sync]\nupdate_content = [\"categories\"]\n")).unwrap();
        assert_eq!((s.update_content.categories, s.rows.category_separator.as_str()), (true, "/"));
        assert_ne!(s.fingerprint(), parse(MINIMAL).unwrap().fingerprint(), "a resume under another policy is refused");
        let err = parse(&format!("{MINIMAL}[sync]\nupdate_content = [\"price\"]\n")).unwrap_err().to_string();
        assert!(err.contains("\"price\" is not a card field; expected some of \"categories\", \"attributes\""), "{err}");
        let s = parse(&format!("{MINIMAL}[sync]\nupdate_content = [\"name\", \"description\", \"short_description\", \"gtin\", \"attributes\"]\n")).unwrap();
        let c = s.update_content;
        assert!(c.name && c.description && c.short_description && c.gtin && c.attributes && !c.categories);
        for bad in ["\"|\"", "\" \""] {
            let err = parse(&format!("{MINIMAL}category_separator = {bad}\n")).unwrap_err().to_string();
            assert!(err.contains("[source] category_separator"), "{err}");
        }
    }

    #[test]
    fn attributes_keep_their_order_and_slugs_are_checked() {
        let s = parse(&format!("{MINIMAL}[source.attributes]\n\"Размер\" = \"Размер\"\n\"Цвет\" = \"Colour\"\n\"Материал\" = \"M\"\n[sync]\nlocal_attributes = [\"цвет\"]\nattribute_slugs = {{ \"Размер\" = \"razmer\" }}\n")).unwrap();
        let names: Vec<&str> = s.source.columns().attributes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Размер", "Цвет", "Материал"], "the config's order, not sorted");
        assert!(s.attributes.is_local("Цвет") && !s.attributes.is_local("Размер"));
        assert_eq!(s.attributes.slug("РАЗМЕР"), Some("razmer"));
        assert_ne!(s.fingerprint(), parse(MINIMAL).unwrap().fingerprint());
        let err = parse(&format!("{MINIMAL}[sync]\nattribute_slugs = {{ \"Материал\" = \"материал-изделия\" }}\n")).unwrap_err().to_string();
        assert!(err.contains("is 31 bytes; WooCommerce takes at most 27"), "{err}");
        let err = parse(&format!("{MINIMAL}[source.attributes]\n\"Размер\" = \"\"\n")).unwrap_err().to_string();
        assert!(err.contains("expected the column, JSON pointer or CommerceML property"), "{err}");
        let err = parse(&format!("{MINIMAL}[source.attributes]\n\"Размер\" = \"a\"\n\"размер\" = \"b\"\n")).unwrap_err().to_string();
        assert!(err.contains("named twice"), "{err}");
    }

    #[test]
    fn price_divisor_and_skip_rows_are_checked() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!((s.rows.price_scale, s.rows.skip.len(), s.rows.skip_totals), (0, 0, true));
        let s = parse(&format!("{MINIMAL}price_divisor = 100
skip_total_rows = false
")).unwrap();
        assert_eq!((s.rows.price_scale, s.rows.skip_totals), (2, false));
        for bad in ["0", "50", "-100", "1100", "10000000"] {
            let err = parse(&format!("{MINIMAL}price_divisor = {bad}
")).unwrap_err().to_string();
            assert!(err.contains(&format!("[source] price_divisor = {bad}: expected a power of ten from 1 to 1000000")), "{err}");
        }
        let rows = "skip_rows = [{ column = \"Артикул\", matches = \"^Итого\" }, { column = \"остаток\", matches = \"^$\" }]\n";
        let columns = "[source.columns]\nsku = \"Артикул\"\nstock = [\"Склад\", \"Остаток\"]\n";
        let s = parse(&format!("{MINIMAL}{rows}{columns}")).unwrap();
        let got: Vec<_> = s.rows.skip.iter().map(|r| (r.field, r.part, r.pattern.as_str())).collect();
        assert_eq!(got, [(Field::Sku, 0, "^Итого"), (Field::Stock, 1, "^$")], "by configured name, without case");
        let err = parse(&format!("{MINIMAL}skip_rows = [{{ column = \"Группа\", matches = \"x\" }}]\n{columns}")).unwrap_err().to_string();
        assert!(err.contains("[source] skip_rows[0] column = \"Группа\" is not a column the source reads; expected one of: Артикул (sku), name (name)"), "{err}");
        let err = parse(&format!("{MINIMAL}skip_rows = [{{ column = \"sku\", matches = \"(Итого\" }}]\n")).unwrap_err().to_string();
        assert!(err.contains("[source] skip_rows[0] matches = \"(Итого\" is not a valid regular expression: error: unclosed group"), "{err}");
        let err = parse(&format!("{MINIMAL}skip_rows = [{{ column = \"sku\", match = \"x\" }}]\n")).unwrap_err().to_string();
        assert!(err.contains("unknown field `match`"), "{err}");
    }

    #[test]
    fn an_empty_http_path_is_refused_for_every_field() {
        let http = "[database]\nurl = \"mysql://u:p@h/s\"\n[source]\ntype = \"http\"\nurl = \"https://erp/api\"\n[source.columns]\n";
        for key in ["sku", "regular_price", "description", "gtin"] {
            let err = parse(&format!("{http}{key} = \"\"\n")).unwrap_err().to_string();
            assert!(err.contains(&format!("[source.columns] {key} = \"\": expected a JSON pointer")), "{err}");
        }
    }
}
