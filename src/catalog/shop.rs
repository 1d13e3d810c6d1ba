//! Connecting, and the pre-flight inspection of the shop: tables and columns present,
//! privileges, WooCommerce settings that change the rules (stock threshold, timezone,
//! custom product tables), and the term ids woosync writes.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::widths::{Charset, Width, Widths};

/// Opens one connection. The URL (with its password) never appears in an error.
pub async fn connect(settings: &Settings) -> Result<Conn> {
    let opts = Opts::from_url(settings.database_url.expose()).map_err(|_| {
        Error::Config("database url is not valid: expected mysql://user:password@host:3306/database".into())
    })?;
    let target = format!("{}:{}/{}", opts.ip_or_hostname(), opts.tcp_port(), opts.db_name().unwrap_or(""));
    let mut conn = tokio::time::timeout(Duration::from_secs(15), Conn::new(opts))
        .await
        .map_err(|_| Error::Database(format!("cannot connect to {target}: timed out after 15 s")))?
        .map_err(|e| Error::Database(format!("cannot connect to {target}: {}", redact(&e.to_string(), settings))))?;
    conn.query_drop(format!("SET SESSION innodb_lock_wait_timeout = {}", settings.lock_wait_timeout_secs)).await?;
    Ok(conn)
}

fn redact(message: &str, settings: &Settings) -> String {
    let url = settings.database_url.expose();
    let mut out = message.replace(url, "[database url]");
    if let Ok(u) = url::Url::parse(url) {
        if let Some(pw) = u.password().filter(|p| p.len() >= 3) {
            out = out.replace(pw, "[redacted]");
        }
    }
    out
}

const REQUIRED_TABLES: [&str; 7] =
    ["posts", "postmeta", "options", "terms", "term_taxonomy", "term_relationships", "wc_product_meta_lookup"];

/// What woosync needs to know about the shop before planning or writing.
#[derive(Debug, Clone)]
pub struct Shop {
    pub prefix: String,
    pub database: String,
    pub has_global_unique_id: bool,
    pub outofstock_tt: u64,
    /// The `outofstock` term's own ID (the object cache keeps terms by it).
    pub outofstock_term: u64,
    pub simple_tt: u64,
    /// `product_type:variable`, for the variable products woosync creates.
    pub variable_tt: Option<u64>,
    pub default_cat_tt: Option<u64>,
    /// The `product_visibility:exclude-from-catalog` term (catalogue counts leave its products out).
    pub exclude_from_catalog_tt: Option<u64>,
    /// WooCommerce's category closure table `wc_category_lookup` is there (3.6+).
    pub has_category_lookup: bool,
    /// WooCommerce's attribute lookup table `wc_product_attributes_lookup` is there (6.1+).
    pub has_attribute_lookup: bool,
    pub notify_no_stock_amount: i64,
    pub hide_out_of_stock: bool,
    pub siteurl: String,
    pub wc_version: String,
    pub utc_offset: TimeZone,
    /// How much the columns feed values go to hold, and the server's packet limit.
    pub widths: Widths,
}

/// The shop's timezone: a named zone (`timezone_string`) or a fixed offset (`gmt_offset`).
#[derive(Debug, Clone)]
pub enum TimeZone {
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl TimeZone {
    /// `current_time('mysql')`: the wall-clock time in the shop's timezone.
    pub fn local(&self, now: DateTime<Utc>) -> NaiveDateTime {
        match self {
            TimeZone::Named(tz) => now.with_timezone(tz).naive_local(),
            TimeZone::Fixed(off) => now.with_timezone(off).naive_local(),
        }
    }
}

impl Shop {
    /// Runs every pre-flight check; the first failure names what is missing and how to fix it.
    /// `writes`: the run will write (else SELECT is all the login needs).
    pub async fn inspect(conn: &mut Conn, settings: &Settings, writes: bool) -> Result<Shop> {
        let p = &settings.table_prefix;
        let database: Option<String> = conn.query_first("SELECT DATABASE()").await?.flatten();
        let database = database.ok_or_else(|| Error::Preflight("the database URL names no database (mysql://user:pass@host/DATABASE)".into()))?;

        let tables: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?",
                (format!("{}%", p.replace('_', "\\_")),),
            )
            .await?;
        let missing: Vec<String> = REQUIRED_TABLES
            .iter()
            .map(|t| format!("{p}{t}"))
            .filter(|t| !tables.iter().any(|have| have.eq_ignore_ascii_case(t)))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Preflight(format!(
                "database `{database}` has no WooCommerce tables {} (is table_prefix = \"{p}\" right, and is WooCommerce 3.6+ installed?)",
                missing.join(", ")
            )));
        }

        let columns: Vec<String> = conn
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (format!("{p}wc_product_meta_lookup"),),
            )
            .await?;
        for needed in ["product_id", "sku", "min_price", "max_price", "onsale", "stock_quantity", "stock_status"] {
            if !columns.iter().any(|c| c == needed) {
                return Err(Error::Preflight(format!(
                    "table {p}wc_product_meta_lookup has no column `{needed}`; update WooCommerce's database (WooCommerce → Status → Tools)"
                )));
            }
        }
        let has_global_unique_id = columns.iter().any(|c| c == "global_unique_id");

        check_privileges(conn, p, &database, writes, &card_writes(settings)).await?;

        let options: HashMap<String, String> = conn
            .query::<(String, String), _>(format!(
                "SELECT option_name, option_value FROM `{p}options` WHERE option_name IN \
                 ('woocommerce_custom_product_tables_enabled','woocommerce_notify_no_stock_amount',\
                 'woocommerce_hide_out_of_stock_items','timezone_string','gmt_offset','siteurl',\
                 'woocommerce_version','default_product_cat')"
            ))
            .await?
            .into_iter()
            .collect();
        let opt = |k: &str| options.get(k).map(String::as_str).unwrap_or("");
        if opt("woocommerce_custom_product_tables_enabled") == "yes" {
            return Err(Error::Preflight(
                "this shop stores products in WooCommerce's custom product tables (woocommerce_custom_product_tables_enabled = yes); woosync writes the postmeta storage only and will not touch this shop".into(),
            ));
        }
        if !options.contains_key("woocommerce_version") {
            return Err(Error::Preflight(format!("option woocommerce_version is missing from {p}options: is WooCommerce installed in this database?")));
        }

        let utc_offset = match opt("timezone_string") {
            "" => {
                let hours: f64 = opt("gmt_offset").trim().parse().unwrap_or(0.0);
                TimeZone::Fixed(FixedOffset::east_opt((hours * 3600.0).round() as i32).unwrap_or(FixedOffset::east_opt(0).unwrap()))
            }
            name => match name.parse::<chrono_tz::Tz>() {
                Ok(tz) => TimeZone::Named(tz),
                Err(_) => {
                    return Err(Error::Preflight(format!("option timezone_string = {name:?} is not a timezone woosync knows")))
                }
            },
        };

        let widths = read_widths(conn, p).await?;
        let default_cat: u64 = opt("default_product_cat").trim().parse().unwrap_or(0);
        let terms: Vec<(u64, String, String, u64)> = conn
            .exec(
                format!(
                    "SELECT tt.term_taxonomy_id, tt.taxonomy, t.slug, t.term_id FROM `{p}term_taxonomy` tt \
                     JOIN `{p}terms` t ON t.term_id = tt.term_id \
                     WHERE (tt.taxonomy = 'product_visibility' AND t.slug IN ('outofstock', 'exclude-from-catalog')) \
                        OR (tt.taxonomy = 'product_type' AND t.slug IN ('simple', 'variable')) \
                        OR (tt.taxonomy = 'product_cat' AND t.term_id = ?)"
                ),
                (default_cat,),
            )
            .await?;
        let find = |tax: &str| terms.iter().find(|t| t.1 == tax && (tax != "product_visibility" || t.2 == "outofstock") && (tax != "product_type" || t.2 == "simple")).map(|t| t.0);
        let outofstock_tt = find("product_visibility").ok_or_else(|| {
            Error::Preflight(format!("term product_visibility:outofstock is missing from {p}terms; WooCommerce creates it on install"))
        })?;
        let simple_tt = find("product_type").ok_or_else(|| {
            Error::Preflight(format!("term product_type:simple is missing from {p}terms; WooCommerce creates it on install"))
        })?;

        Ok(Shop {
            prefix: p.clone(),
            database,
            has_global_unique_id,
            outofstock_tt,
            outofstock_term: terms.iter().find(|t| t.1 == "product_visibility" && t.2 == "outofstock").map(|t| t.3).unwrap_or(0),
            exclude_from_catalog_tt: terms.iter().find(|t| t.1 == "product_visibility" && t.2 == "exclude-from-catalog").map(|t| t.0),
            has_category_lookup: tables.iter().any(|t| t.eq_ignore_ascii_case(&format!("{p}wc_category_lookup"))),
            has_attribute_lookup: tables.iter().any(|t| t.eq_ignore_ascii_case(&format!("{p}wc_product_attributes_lookup"))),
            simple_tt,
            variable_tt: terms.iter().find(|t| t.1 == "product_type" && t.2 == "variable").map(|t| t.0),
            default_cat_tt: find("product_cat"),
            notify_no_stock_amount: opt("woocommerce_notify_no_stock_amount").trim().parse().unwrap_or(0),
            hide_out_of_stock: opt("woocommerce_hide_out_of_stock_items") == "yes",
            siteurl: opt("siteurl").trim_end_matches('/').to_string(),
            wc_version: opt("woocommerce_version").to_string(),
            utc_offset,
            widths,
        })
    }
}

/// The widths of the columns feed values are written to, from `information_schema`, and the
/// server's `max_allowed_packet`. A column the query does not find keeps WooCommerce's width.
async fn read_widths(conn: &mut Conn, p: &str) -> Result<Widths> {
    type Column = (String, String, Option<u64>, Option<u64>, Option<String>, Option<u32>, Option<u32>);
    let rows: Vec<Column> = conn
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, CHARACTER_SET_NAME, \
             NUMERIC_PRECISION, NUMERIC_SCALE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND \
             ((TABLE_NAME = ? AND COLUMN_NAME = 'post_title') OR (TABLE_NAME = ? AND COLUMN_NAME = 'meta_value') \
             OR (TABLE_NAME = ? AND COLUMN_NAME IN ('sku', 'min_price', 'max_price')))",
            (format!("{p}posts"), format!("{p}postmeta"), format!("{p}wc_product_meta_lookup")),
        )
        .await
        .map_err(|e| Error::db("reading the widths of the shop's columns", e))?;
    let mut widths = Widths::stock(p);
    let text = |table: &str, column: &str, default: &Width| -> Width {
        rows.iter()
            .find(|r| r.0.eq_ignore_ascii_case(&format!("{p}{table}")) && r.1.eq_ignore_ascii_case(column))
            .and_then(|r| Some(Width::new(format!("{p}{table}.{column}"), r.2?, r.3?, Charset::from_name(r.4.as_deref()?))))
            .unwrap_or_else(|| default.clone())
    };
    widths.title = text("posts", "post_title", &widths.title);
    widths.meta = text("postmeta", "meta_value", &widths.meta);
    let lookup_sku = text("wc_product_meta_lookup", "sku", &widths.sku);
    // `_sku` is a meta value too: the SKU must fit both.
    widths.sku = if lookup_sku.chars <= widths.meta.chars { lookup_sku } else { widths.meta.clone() };
    // The narrower of the two price columns decides.
    let prices = rows.iter().filter(|r| matches!(r.1.to_ascii_lowercase().as_str(), "min_price" | "max_price"));
    if let Some((column, precision, scale)) =
        prices.filter_map(|r| Some((&r.1, r.5?, r.6?))).min_by_key(|(_, precision, scale)| precision.saturating_sub(*scale))
    {
        widths.price_int_digits = precision.saturating_sub(scale);
        widths.price_scale = scale;
        widths.price_column = format!("{p}wc_product_meta_lookup.{column}");
    }
    let packet: Option<u64> = conn.query_first("SELECT @@max_allowed_packet").await.map_err(|e| Error::db("reading max_allowed_packet", e))?;
    widths.packet = packet.unwrap_or(widths.packet);
    Ok(widths)
}

/// What a run does to each WooCommerce table; a dry run only reads them.
const WRITES: [(&str, &[&str]); 7] = [
    ("posts", &["INSERT", "UPDATE"]),
    ("postmeta", &["INSERT", "UPDATE", "DELETE"]),
    ("options", &["INSERT", "UPDATE", "DELETE"]),
    ("terms", &[]),
    ("term_taxonomy", &["UPDATE"]),
    ("term_relationships", &["INSERT", "DELETE"]),
    ("wc_product_meta_lookup", &["INSERT", "UPDATE"]),
];

/// What a run that creates categories also does (the lookup table only where the shop has it).
const CATEGORY_WRITES: [(&str, &[&str]); 4] = [
    ("terms", &["INSERT", "UPDATE"]),
    ("term_taxonomy", &["INSERT"]),
    ("termmeta", &["INSERT", "UPDATE"]),
    ("wc_category_lookup", &["INSERT"]),
];

/// What a feed with attributes writes beyond the products: WooCommerce's attribute table, the
/// terms (and their `order` meta), the attribute lookup rows.
const ATTRIBUTE_WRITES: [(&str, &[&str]); 5] = [
    ("woocommerce_attribute_taxonomies", &["INSERT"]),
    ("terms", &["INSERT"]),
    ("term_taxonomy", &["INSERT"]),
    ("termmeta", &["INSERT"]),
    ("wc_product_attributes_lookup", &["INSERT"]),
];

/// The tables and privileges the product cards need beyond the products themselves.
pub fn card_writes(settings: &Settings) -> Vec<(&'static str, &'static [&'static str])> {
    let mut wanted = Vec::new();
    if writes_categories(settings) {
        wanted.extend(CATEGORY_WRITES);
    }
    if !settings.source.columns().attributes.is_empty() {
        wanted.extend(ATTRIBUTE_WRITES);
    }
    wanted
}

/// Whether the feed can name categories (a mapped column, or CommerceML with `import.xml`).
pub fn writes_categories(settings: &Settings) -> bool {
    match &settings.source {
        crate::config::Source::CommerceMl(c) => c.import.is_some(),
        s => s.columns().category.is_some(),
    }
}

/// woosync's own tables, read and written by every real run (created by the first).
const OWN_TABLES: [&str; 6] = ["woosync_runs", "woosync_input", "woosync_chunks", "woosync_parents", "woosync_seen", "woosync_cache_owed"];

/// Checks that the login may do what the run will do, table by table, by asking the server:
/// each privilege is tried with a statement that touches no row (`... WHERE 1 = 0`), so global,
/// database, table and column grants, roles and partial revokes all count as the server counts
/// them. `writes` = false (a dry run, `doctor` without `--fix`) needs only SELECT. Creating
/// woosync's tables on the first run needs CREATE on the database, read from `SHOW GRANTS`.
/// Returns what was checked.
pub async fn check_privileges(conn: &mut Conn, prefix: &str, database: &str, writes: bool, cards: &[(&str, &[&str])]) -> Result<String> {
    let own_exist = crate::journal::tables_exist(conn, prefix).await?;
    let mut wanted: Vec<(String, &str)> = Vec::new();
    for (table, privileges) in WRITES {
        wanted.push((format!("{prefix}{table}"), "SELECT"));
        if writes {
            wanted.extend(privileges.iter().map(|p| (format!("{prefix}{table}"), *p)));
        }
    }
    for (table, privileges) in cards {
        wanted.push((format!("{prefix}{table}"), "SELECT"));
        if writes {
            wanted.extend(privileges.iter().map(|p| (format!("{prefix}{table}"), *p)));
        }
    }
    let mut seen = std::collections::HashSet::new();
    wanted.retain(|w| seen.insert(w.clone()));
    if own_exist {
        for table in OWN_TABLES {
            let privileges: &[&str] = if writes { &["SELECT", "INSERT", "UPDATE", "DELETE"] } else { &["SELECT"] };
            wanted.extend(privileges.iter().map(|p| (format!("{prefix}{table}"), *p)));
        }
    }
    let mut missing: Vec<String> = Vec::new();
    for (table, privilege) in &wanted {
        if let Err(e) = conn.query_drop(probe(table, privilege)).await {
            match &e {
                // 1142: command denied for the table; 1143: for a column; 1044: for the database.
                mysql_async::Error::Server(s) if matches!(s.code, 1142 | 1143 | 1044) => missing.push(format!("{privilege} on `{table}`")),
                // A table a shop lacks (woosync's, dropped by hand) is pre-flight's to tell.
                mysql_async::Error::Server(s) if s.code == 1146 => {}
                _ => return Err(Error::db(format!("checking the {privilege} privilege on `{table}`"), e)),
            }
        }
    }
    // Tables woosync lacks (all of them before the first run; after an upgrade, the new ones)
    // are created by the run.
    let to_create = crate::journal::missing_tables(conn, prefix).await?;
    if writes && !to_create.is_empty() && !grants_create(conn, database).await? {
        let names: Vec<&str> = to_create.iter().map(|(t, _)| t.as_str()).collect();
        missing.push(match own_exist {
            false => format!("CREATE on `{database}` (woosync creates its tables `{prefix}woosync_*` on the first run)"),
            true => format!("CREATE on `{database}` (this version of woosync adds the table(s) {}; after that, CREATE is not needed)", names.join(", ")),
        });
    }
    if !missing.is_empty() {
        return Err(Error::Preflight(format!(
            "the database login lacks {}; grant them, e.g.: GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `{database}`.* TO <user>{}",
            missing.join(", "),
            if writes { "" } else { " (a dry run needs only SELECT)" }
        )));
    }
    let tables = wanted.iter().map(|(t, _)| t.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    Ok(match writes {
        true => format!("SELECT, INSERT, UPDATE, DELETE as a run needs them on {tables} tables{}", if to_create.is_empty() { "" } else { ", CREATE" }),
        false => format!("SELECT on {tables} tables (enough for a dry run)"),
    })
}

/// A statement that needs `privilege` on `table` and touches no row.
fn probe(table: &str, privilege: &str) -> String {
    match privilege {
        "INSERT" => format!("INSERT INTO `{table}` SELECT * FROM `{table}` WHERE 1 = 0"),
        "UPDATE" => format!("UPDATE `{table}` SET {col} = {col} WHERE 1 = 0", col = first_column(table)),
        "DELETE" => format!("DELETE FROM `{table}` WHERE 1 = 0"),
        _ => format!("SELECT 1 FROM `{table}` WHERE 1 = 0"),
    }
}

/// A column every version of the table has, for the UPDATE probe.
fn first_column(table: &str) -> &'static str {
    let known = [
        ("posts", "post_title"),
        ("postmeta", "meta_value"),
        ("options", "option_value"),
        ("term_taxonomy", "count"),
        ("terms", "name"),
        ("termmeta", "meta_value"),
        ("wc_product_meta_lookup", "stock_status"),
        ("woosync_runs", "state"),
        ("woosync_input", "payload"),
        ("woosync_chunks", "products"),
        ("woosync_parents", "parent_id"),
        ("woosync_seen", "product_id"),
        ("woosync_cache_owed", "term"),
    ];
    known.iter().find(|(t, _)| table.ends_with(t)).map(|(_, c)| *c).unwrap_or("1")
}

/// Whether `SHOW GRANTS` gives CREATE on the database (globally, by name or by a pattern).
async fn grants_create(conn: &mut Conn, database: &str) -> Result<bool> {
    let grants: Vec<String> = conn.query("SHOW GRANTS").await?;
    for g in &grants {
        let upper = g.to_uppercase();
        let Some(on) = upper.find(" ON ") else { continue };
        let target = g[on + 4..].split(" TO ").next().unwrap_or("").trim();
        let (db_part, table_part) = target.split_once('.').unwrap_or((target, ""));
        let db_part = db_part.trim_matches('`').replace("\\_", "_").replace("\\%", "%");
        let applies = target == "*.*"
            || (table_part == "*" && (db_part == database || (db_part.ends_with('%') && database.starts_with(db_part.trim_end_matches('%')))));
        let privileges = &upper[6.min(on)..on];
        if applies && (privileges.contains("ALL PRIVILEGES") || privileges.split(',').any(|p| p.trim() == "CREATE")) {
            return Ok(true);
        }
    }
    Ok(false)
}
