//! `woosync check`: every pre-flight check, one line each, before anyone trusts a config to cron.
//! It reads and never writes (woosync's own tables are not even created).

use mysql_async::prelude::*;

use crate::catalog::{self, shop::check_privileges, Shop};
use crate::config::Settings;
use crate::run::lock_name;
use crate::error::{Error, ExitCode};
use crate::journal;

/// One checked thing: its name, whether it passed, and what it found or how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    pub code: ExitCode,
}

impl Check {
    fn pass(name: &'static str, detail: String) -> Check {
        Check { name, ok: true, detail, code: ExitCode::Ok }
    }
    fn fail(name: &'static str, e: &Error) -> Check {
        Check { name, ok: false, detail: e.to_string(), code: e.exit_code() }
    }
    pub fn line(&self) -> String {
        format!("{:<4}  {:<11}  {}", if self.ok { "ok" } else { "FAIL" }, self.name, self.detail)
    }
}

/// Runs the checks in order; a check that others depend on stops the list when it fails.
pub async fn run(settings: &Settings) -> Vec<Check> {
    let mut checks = vec![Check::pass("config", format!("{} is valid", settings.config_path.display()))];

    // The feed is read before the shop is reached: its rows are held to WooCommerce's stock schema.
    let widths = crate::widths::Widths::stock(&settings.table_prefix);
    match crate::run::read_feed(settings, &widths, &crate::run::Quiet).await {
        Ok(feed) => {
            let first = feed.rejections.first().map(|r| format!("; first rejected: {} ({}): {}", r.location, r.field, r.message)).unwrap_or_default();
            checks.push(Check::pass("source", format!("{}: {} rows to sync, {} rejected{first}", feed.label, feed.items, feed.rejections.len())));
        }
        Err(e) => checks.push(Check::fail("source", &e)),
    }

    if let Some(log) = &settings.log {
        let probe = log.dir.join(".woosync-check");
        let result = std::fs::create_dir_all(&log.dir).and_then(|_| std::fs::write(&probe, b"")).and_then(|_| std::fs::remove_file(&probe));
        checks.push(match result {
            Ok(()) => Check::pass("log", format!("{} is writable", log.dir.display())),
            Err(e) => Check::fail("log", &Error::Config(format!("[log] dir = {}: {e}; create it and give the woosync user write access", log.dir.display()))),
        });
    }
    if let Some(feeds) = &settings.feeds {
        checks.push(feed_folders(feeds));
    }
    if let Some(wp) = &settings.wordpress {
        checks.push(uploads_folder(wp));
    }
    if let Some(alerts) = &settings.alerts {
        checks.push(match alerts.telegram.probe().await {
            Ok(who) => Check::pass("telegram", who),
            Err(e) => Check::fail("telegram", &Error::Config(format!("{e}; check bot_token and api_base"))),
        });
    }

    if let Some(config) = &settings.object_cache {
        checks.push(cache_check(config, &settings.table_prefix).await);
    }

    let mut conn = match catalog::connect(settings).await {
        Ok(conn) => conn,
        Err(e) => {
            checks.push(Check::fail("database", &e));
            return checks;
        }
    };
    let version: Option<String> = conn.query_first("SELECT VERSION()").await.ok().flatten();
    checks.push(Check::pass("database", format!("connected to `{}` (server {})", settings.database_name(), version.unwrap_or_default())));

    match check_privileges(&mut conn, &settings.table_prefix, &settings.database_name(), true, &catalog::shop::card_writes(settings)).await {
        Ok(checked) => checks.push(Check::pass("privileges", checked)),
        Err(e) => checks.push(Check::fail("privileges", &e)),
    }
    // The rest holds for a read-only login too (its dry runs work).
    let shop = match Shop::inspect(&mut conn, settings, false).await {
        Ok(shop) => shop,
        Err(e) => {
            checks.push(Check::fail("woocommerce", &e));
            return checks;
        }
    };
    let products: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM `{}posts` WHERE post_type IN ('product','product_variation') AND post_status <> 'trash'", shop.prefix))
        .await
        .ok()
        .flatten();
    checks.push(Check::pass(
        "woocommerce",
        format!(
            "WooCommerce {}, tables `{}*`, {} products and variations{}",
            shop.wc_version,
            shop.prefix,
            products.unwrap_or(0),
            if shop.has_global_unique_id { "" } else { " (lookup table without global_unique_id: older WooCommerce, supported)" }
        ),
    ));

    let name = lock_name(&shop.database, &shop.prefix);
    let free: Option<Option<i64>> = conn.exec_first("SELECT IS_FREE_LOCK(?)", (&name,)).await.ok();
    checks.push(match free.flatten() {
        Some(1) => Check::pass("lock", "no other woosync run is writing to this shop".into()),
        _ => Check { name: "lock", ok: false, detail: format!("lock `{name}` is held: a run is writing now (wait for it)"), code: ExitCode::Locked },
    });

    match journal::tables_exist(&mut conn, &shop.prefix).await {
        Ok(false) => checks.push(Check::pass("journal", "no runs yet (woosync creates its tables on the first run)".into())),
        Ok(true) => match journal::recent(&mut conn, &shop.prefix, 1).await {
            Ok(runs) => checks.push(Check::pass(
                "journal",
                match runs.first() {
                    Some(r) => format!("last run {} {} (started {} UTC)", r.id, r.state, r.started_at),
                    None => "no runs yet".into(),
                },
            )),
            Err(e) => checks.push(Check::fail("journal", &e)),
        },
        Err(e) => checks.push(Check::fail("journal", &e)),
    }
    checks
}

/// Every feed's folder exists and takes a new file (the feed is written beside its target).
fn feed_folders(feeds: &crate::config::Feeds) -> Check {
    for f in &feeds.files {
        let dir = f.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let probe = dir.join(".woosync-check");
        if let Err(e) = std::fs::write(&probe, b"").and_then(|_| std::fs::remove_file(&probe)) {
            return Check::fail("feeds", &Error::Config(format!("[[feeds.file]] {:?}: cannot write in {}: {e}; create it and give the woosync user write access", f.name, dir.display())));
        }
    }
    let names: Vec<String> = feeds.files.iter().map(|f| format!("{} ({})", f.name, f.format.name())).collect();
    Check::pass("feeds", format!("{} feed(s), folders writable: {}", feeds.files.len(), names.join(", ")))
}

/// The media library's folder exists and takes a new file (pictures go there).
fn uploads_folder(wp: &crate::config::WordPress) -> Check {
    let probe = wp.uploads_dir.join(".woosync-check");
    match std::fs::write(&probe, b"").and_then(|_| std::fs::remove_file(&probe)) {
        Ok(()) => Check::pass("uploads", format!("{} is writable (pictures up to {} MiB)", wp.uploads_dir.display(), wp.max_image_bytes >> 20)),
        Err(e) => Check::fail(
            "uploads",
            &Error::Config(format!("[wordpress] uploads_dir = {}: cannot write there: {e}; it is the shop's wp-content/uploads, and the woosync user needs write access", wp.uploads_dir.display())),
        ),
    }
}

/// The object cache answers, and holds keys of this site: a wrong prefix or database would
/// silently invalidate nothing.
async fn cache_check(config: &crate::config::ObjectCache, table_prefix: &str) -> Check {
    let mut cache = match crate::cache::Cache::connect(config, table_prefix).await {
        Ok(cache) => cache,
        Err(e) => return Check::fail("cache", &e),
    };
    let pattern = cache.keys().pattern();
    match cache.site_keys().await {
        Ok(keys) if !keys.is_empty() => Check::pass("cache", format!("{}: {} keys match `{pattern}` in database {}", config.shown, keys.len(), config.database)),
        Ok(_) => Check::fail(
            "cache",
            &Error::Cache(format!(
                "{}: no key matches `{pattern}` in database {}: set [object_cache] prefix and database as WP_REDIS_PREFIX (or WP_CACHE_KEY_SALT) \
                 and WP_REDIS_DATABASE in wp-config.php, or woosync would invalidate nothing",
                config.shown, config.database
            )),
        ),
        Err(e) => Check::fail("cache", &Error::Cache(format!("{}: cannot list its keys: {e}", config.shown))),
    }
}

/// The exit code for a list of checks: the first failure's, or success.
pub fn exit_code(checks: &[Check]) -> ExitCode {
    checks.iter().find(|c| !c.ok).map(|c| c.code).unwrap_or(ExitCode::Ok)
}
