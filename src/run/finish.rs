//! Finishing a run: once every chunk is in, the caches WooCommerce keeps of what changed go
//! (transient versions, the re-synced parents' transients, the `outofstock` term count), the
//! run's counts and the products this source reached are recorded, and the run is marked done.
//! Also the run's outcome and the log lines that tell it.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::write::Written;
use super::{Mode, Pass, Run};
use crate::error::Result;
use crate::journal;
use crate::report::{printable, summary_line, Action, Counts, ReportRow};

/// Finishes a real run whose chunks are all written: `counts` as planned, made whole with what
/// every chunk of the run committed (in this process or before a resume).
pub(super) async fn finish(run: &mut Run<'_>, pass: &Pass, run_id: u64, mut counts: Counts, written: Written) -> Result<Outcome> {
    let p = &run.shop.prefix;
    let (created, updated, _) = journal::chunk_totals(&mut run.conn, p, run_id).await?;
    if created + updated > 0 {
        let finalising = Instant::now();
        // Every parent the run re-synced, in this process or before a crash it was resumed from.
        let mut parents = written.parents;
        parents.extend(journal::touched_parents(&mut run.conn, p, run_id).await?);
        parents.sort_unstable();
        parents.dedup();
        // A resumed run may have moved terms before the crash: recount whenever it wrote.
        let recount = written.term_changes > 0 || matches!(pass.mode, Mode::Resumed | Mode::Doctor);
        crate::finalise::run(&mut run.conn, run.shop, &parents, recount).await?;
        tracing::info!(ms = finalising.elapsed().as_millis() as u64, parents = parents.len(), "caches invalidated");
    }
    counts.created = created as usize;
    counts.updated = updated as usize;
    counts.invalid += written.refused;
    counts.warning += written.warnings;
    counts.unchanged = counts.items.saturating_sub(counts.created + counts.updated + counts.conflict + counts.invalid);
    journal::record_counts(&mut run.conn, p, run_id, &counts).await?;
    if run.settings.zero_missing {
        journal::record_seen(&mut run.conn, p, &journal::source_key(run.settings), &written.seen).await?;
    }
    crate::crashpoint::here(format_args!("before-done"));
    journal::set_state(&mut run.conn, p, run_id, "done", None).await?;
    let mut outcome = pass.outcome(counts);
    // What this run changed is known whole only when no earlier process wrote part of it.
    if pass.mode != Mode::Resumed {
        let mut changed = written.updated;
        changed.sort_unstable();
        changed.dedup();
        outcome.changed = Some(changed);
    }
    log_summary(&outcome);
    if let Some(cache) = run.cache.as_mut() {
        if let Some(paid) = cache.drain().await {
            journal::cache_paid(&mut run.conn, p, run_id, paid).await?;
        }
        cache.after_run(created + updated > 0).await?;
        super::owed::flushed(run).await?;
    }
    Ok(outcome)
}

#[derive(Debug, Clone)]
/// What a finished run (or dry run) did, for the summary line, `--json` and the hooks.
pub struct Outcome {
    pub run_id: Option<u64>,
    pub counts: Counts,
    pub elapsed: Duration,
    pub dry_run: bool,
    pub resumed: bool,
    pub started_at: chrono::DateTime<Utc>,
    pub source: String,
    /// The products, variations and variable parents this run updated, when known whole (a
    /// fresh run); `None` for a resumed run or a dry run. The feeds written after a sync patch
    /// these offers only.
    pub changed: Option<Vec<u64>>,
}

impl Outcome {
    /// The run summary as one JSON object (`sync --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let c = &self.counts;
        serde_json::json!({
            "run_id": self.run_id,
            "outcome": "done",
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "started_at": self.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "finished_at": (self.started_at + chrono::Duration::from_std(self.elapsed).unwrap_or_default())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "elapsed_secs": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "source": self.source,
            "counts": {
                "rows": c.items, "created": c.created, "updated": c.updated, "unchanged": c.unchanged,
                "conflict": c.conflict, "invalid": c.invalid, "warnings": c.warning, "skipped": c.skipped,
            },
        })
    }

    pub fn summary(&self) -> String {
        summary_line(self.run_id, self.dry_run, self.resumed, &self.counts, self.elapsed)
    }
}

/// The run's one summary line, with every count as a field (for JSON logs and log search).
pub(super) fn log_summary(o: &Outcome) {
    let c = &o.counts;
    let finished = o.started_at + chrono::Duration::from_std(o.elapsed).unwrap_or_default();
    tracing::info!(
        run = o.run_id,
        outcome = "done",
        started = %o.started_at.format("%Y-%m-%dT%H:%M:%SZ"),
        finished = %finished.format("%Y-%m-%dT%H:%M:%SZ"),
        duration_secs = (o.elapsed.as_secs_f64() * 10.0).round() / 10.0,
        source = %o.source,
        rows = c.items,
        created = c.created,
        updated = c.updated,
        unchanged = c.unchanged,
        conflict = c.conflict,
        invalid = c.invalid,
        warnings = c.warning,
        skipped = c.skipped,
        "{}",
        o.summary()
    );
}

/// Conflicts and invalid rows by SKU, the first 20 of each run (the report has them all).
pub(super) fn log_problems(rows: &[ReportRow]) {
    let problems: Vec<_> = rows.iter().filter(|r| matches!(r.action, Action::Conflict | Action::Invalid)).collect();
    for r in problems.iter().take(20) {
        let (sku, message) = (printable(&r.sku), printable(&r.message));
        let shown = if sku.is_empty() { "(no SKU)" } else { &sku };
        tracing::warn!(sku = %sku, field = %printable(&r.field), "{} {shown}: {message}", r.action);
    }
    if problems.len() > 20 {
        tracing::warn!("... and {} more conflicts or invalid rows (see the report)", problems.len() - 20);
    }
}
