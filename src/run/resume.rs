//! Continuing an unfinished run: which run to continue, and whether this binary and config can
//! trust its frozen input and plan. A run that cannot be trusted is never guessed at: `sync`
//! abandons it and starts afresh, `resume` refuses and says why.

use std::time::Duration;

use super::{Mode, Outcome, Run};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::journal::{self, RunRecord, VERSION};

/// `sync`, before its own run: an unfinished run younger than `resume_within` is finished
/// first; an older or untrusted one is abandoned (a fresh run follows either way).
pub(super) async fn finish_pending(run: &mut Run<'_>) -> Result<Option<Outcome>> {
    let Some(record) = journal::pending(&mut run.conn, &run.shop.prefix).await? else { return Ok(None) };
    let why = match trust(&record, run.settings) {
        Ok(()) if record.age_secs >= 0 && Duration::from_secs(record.age_secs as u64) <= run.settings.resume_within => {
            tracing::info!(run = record.id, "run {} did not finish; resuming it before the new run", record.id);
            return continue_run(run, &record).await.map(Some);
        }
        Ok(()) => format!("it started {} s ago, more than resume_within allows", record.age_secs),
        Err(reason) => reason,
    };
    tracing::warn!(run = record.id, "run {} did not finish and is abandoned ({why}); a fresh run follows", record.id);
    journal::set_state(&mut run.conn, &run.shop.prefix, record.id, "abandoned", Some(&why)).await?;
    Ok(None)
}

/// `woosync resume [RUN]`: the run asked for, or the latest unfinished one, if it can be trusted.
pub(super) async fn chosen(run: &mut Run<'_>, id: Option<u64>) -> Result<RunRecord> {
    let prefix = &run.shop.prefix;
    if !journal::tables_exist(&mut run.conn, prefix).await? {
        return Err(Error::ResumeRefused("this shop has no woosync run journal yet: nothing to resume".into()));
    }
    let record = match id {
        Some(id) => {
            let r = journal::get(&mut run.conn, prefix, id).await?.ok_or_else(|| Error::ResumeRefused(format!("there is no run {id}")))?;
            if !matches!(r.state.as_str(), "running" | "interrupted") {
                return Err(Error::ResumeRefused(format!("run {id} is {}; only an interrupted run can be resumed", r.state)));
            }
            r
        }
        None => journal::pending(&mut run.conn, prefix)
            .await?
            .ok_or_else(|| Error::ResumeRefused("no interrupted run to resume; start a fresh one with `woosync sync`".into()))?,
    };
    trust(&record, run.settings).map_err(|why| {
        Error::ResumeRefused(format!("run {} cannot be resumed: {why}; start a fresh run with `woosync sync`", record.id))
    })?;
    Ok(record)
}

/// Plans the run's frozen input again and writes the chunks it had not committed. The guard let
/// this run start; a resume finishes what was accepted.
pub(super) async fn continue_run(run: &mut Run<'_>, record: &RunRecord) -> Result<Outcome> {
    let feed = crate::input::from_journal(&mut run.conn, &run.shop.prefix, record).await?;
    journal::set_state(&mut run.conn, &run.shop.prefix, record.id, "running", None).await?;
    tracing::info!(run = record.id, chunks_done = record.chunks_done, "resuming run {} after {} committed chunks", record.id, record.chunks_done);
    run.execute(Some(record.id), feed, Mode::Resumed).await
}

/// Why a run's frozen plan cannot be trusted by this binary and config, if it cannot.
fn trust(run: &RunRecord, settings: &Settings) -> std::result::Result<(), String> {
    if run.config_fingerprint == journal::DOCTOR_FINGERPRINT {
        return Err("it was a `woosync doctor --fix` run; run the doctor again instead".into());
    }
    if !run.sealed {
        return Err("it stopped while its feed was being read, so its frozen input is incomplete".into());
    }
    if run.tool_version != VERSION {
        return Err(format!("it was started by woosync {}, this is {VERSION}", run.tool_version));
    }
    if run.config_fingerprint != settings.fingerprint() {
        return Err("the config changed since it started (table prefix, new_product_status, author_id or column mapping)".into());
    }
    Ok(())
}
