//! `woosync doctor`: the shop planned against itself with every derived value recomputed (see
//! [`crate::doctor`]), so the planned writes are exactly what breaks WooCommerce's own rules;
//! plus an `outofstock` term count that disagrees with the products carrying the term. Dry by
//! default; `--fix` writes the repairs in chunks through the same writer, as a run that is
//! never resumed.

use std::path::Path;

use mysql_async::prelude::*;

use super::{open, Mode, Observer, Outcome, Run, RunLock, Shutdown};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::input::Input;
use crate::journal;
use crate::report::{Action, Report, ReportRow};

/// The feed label of `woosync doctor`'s rows.
pub(super) const DOCTOR_LABEL: &str = "the shop itself (doctor)";

/// Reports (and with `fix` repairs) the shop's inconsistencies; `true` beside the outcome when
/// the `outofstock` term count was wrong.
pub async fn doctor(settings: &Settings, fix: bool, report: Option<&Path>, shutdown: &Shutdown, observer: &dyn Observer) -> Result<(Outcome, bool)> {
    let (conn, shop) = open(settings, fix).await?;
    let report = Report::create(report)?;
    let mut run = Run { settings, shop: &shop, shutdown, observer, conn, report, lock: None, cache: None, pictures: None };
    let feed = Input::from_items(DOCTOR_LABEL, Vec::new());
    let run_id = if fix {
        run.lock = Some(RunLock::acquire(settings, &shop).await?);
        run.cache = super::open_cache(settings).await?;
        journal::ensure_tables(&mut run.conn, &shop.prefix).await?;
        super::owed::settle(&mut run).await?;
        let run_id = journal::start_run(&mut run.conn, &shop.prefix, settings).await?;
        journal::mark_doctor(&mut run.conn, &shop.prefix, run_id).await?;
        Some(run_id)
    } else {
        None
    };
    // The count as found: a --fix run recounts it during finalisation.
    let stored = stored_term_count(&mut run).await?;
    let outcome = run.execute(run_id, feed, Mode::Doctor).await?;
    let actual = actual_term_count(&mut run).await?;
    let count_wrong = stored != actual;
    if count_wrong {
        let mut row = ReportRow::note(
            Action::Update,
            "",
            "term_taxonomy.count",
            "the outofstock term's count disagrees with the published products carrying it".into(),
        );
        row.old = stored.map(|c| c.to_string()).unwrap_or_default();
        row.new = actual.map(|c| c.to_string()).unwrap_or_default();
        run.report.rows(&[row])?;
        tracing::warn!(stored, actual, "the outofstock term count is {stored:?}, the products say {actual:?}");
        if fix {
            let sql = include_str!("../../sql/recount_term.sql").replace("{prefix}", &shop.prefix);
            run.conn
                .exec_drop(sql, (shop.outofstock_tt, shop.outofstock_tt))
                .await
                .map_err(|e| Error::db("recounting the outofstock term", e))?;
        }
    }
    run.report.finish()?;
    Ok((outcome, count_wrong))
}

/// What a sample of the object cache says against the database.
#[derive(Debug, Default)]
pub struct CacheSample {
    pub sampled: usize,
    /// Sampled products whose `post_meta` entry the cache holds (and could read).
    pub cached: usize,
    pub stale: Vec<crate::cache::Stale>,
}

/// `doctor --cache-sample N`: N products at random, their cached `post_meta` (where the cache
/// holds it) against the database's price and stock rows. Reads only.
pub async fn cache_sample(settings: &Settings, n: usize) -> Result<CacheSample> {
    let config = settings.object_cache.as_ref().ok_or_else(|| Error::Config("--cache-sample needs an [object_cache] section in the config".into()))?;
    let (mut conn, shop) = open(settings, false).await?;
    let mut cache = crate::cache::Cache::connect(config, &settings.table_prefix).await?;
    let p = &shop.prefix;
    let ids: Vec<u64> = conn
        .exec(
            format!("SELECT ID FROM `{p}posts` WHERE post_type IN ('product', 'product_variation') AND post_status <> 'trash' ORDER BY RAND() LIMIT ?"),
            (n as u64,),
        )
        .await
        .map_err(|e| Error::db("sampling products", e))?;
    let mut stored: std::collections::HashMap<u64, crate::cache::MetaCache> = Default::default();
    let keys = crate::cache::WATCHED_META.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(",");
    for batch in ids.chunks(500) {
        let rows: Vec<(u64, String, Option<String>)> = conn
            .exec(
                format!("SELECT post_id, meta_key, meta_value FROM `{p}postmeta` WHERE post_id IN ({}) AND meta_key IN ({keys}) ORDER BY meta_id", vec!["?"; batch.len()].join(",")),
                batch.to_vec(),
            )
            .await
            .map_err(|e| Error::db("reading the sampled products' meta", e))?;
        for (id, key, value) in rows {
            stored.entry(id).or_default().entry(key).or_default().push(value.unwrap_or_default());
        }
    }
    let cached = cache.cached_meta(&ids).await.map_err(|e| Error::Cache(format!("{}: cannot read its entries: {e}", config.shown)))?;
    let mut sample = CacheSample { sampled: ids.len(), ..CacheSample::default() };
    for (id, entry) in ids.iter().zip(&cached) {
        if let Some(entry) = entry {
            sample.cached += 1;
            sample.stale.extend(crate::cache::disagreements(*id, entry, stored.get(id).unwrap_or(&Default::default())));
        }
    }
    Ok(sample)
}

/// The `outofstock` term's count as stored.
async fn stored_term_count(run: &mut Run<'_>) -> Result<Option<i64>> {
    let p = &run.shop.prefix;
    run.conn
        .exec_first(format!("SELECT count FROM `{p}term_taxonomy` WHERE term_taxonomy_id = ?"), (run.shop.outofstock_tt,))
        .await
        .map_err(|e| Error::db("reading the outofstock term count", e))
}

/// The published products and variations carrying the `outofstock` term.
async fn actual_term_count(run: &mut Run<'_>) -> Result<Option<i64>> {
    let p = &run.shop.prefix;
    run.conn
        .exec_first(
            format!(
                "SELECT COUNT(*) FROM `{p}term_relationships` tr JOIN `{p}posts` po ON po.ID = tr.object_id \
                 WHERE tr.term_taxonomy_id = ? AND po.post_status = 'publish' AND po.post_type IN ('product', 'product_variation')"
            ),
            (run.shop.outofstock_tt,),
        )
        .await
        .map_err(|e| Error::db("counting outofstock products", e))
}
