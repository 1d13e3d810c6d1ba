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
    let mut run = Run { settings, shop: &shop, shutdown, observer, conn, report, lock: None, cache: None };
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
