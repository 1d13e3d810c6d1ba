//! Continuing an unfinished run: which run to continue, and whether this binary and config can
//! trust its frozen input and plan. A run that cannot be trusted is never guessed at: `sync`
//! abandons it and starts afresh, `resume` refuses and says why.

use std::time::Duration;

use super::{Mode, Outcome, Run};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::journal::{self, RunRecord, VERSION};

/// `sync`, before its own run: an unfinished run younger than `resume_within` is finished
/// first; an older or untrusted one is abandoned, and so is one that fails again with the
/// data error it stopped on, or any one when `fresh` (`sync --fresh`). A fresh run follows.
pub(super) async fn finish_pending(run: &mut Run<'_>, fresh: bool) -> Result<Option<Outcome>> {
    let Some(record) = journal::pending(&mut run.conn, &run.shop.prefix).await? else { return Ok(None) };
    let why = match trust(&record, run.settings) {
        _ if fresh => "`woosync sync --fresh` was asked for".to_string(),
        Ok(()) if record.age_secs >= 0 && Duration::from_secs(record.age_secs as u64) <= run.settings.resume_within => {
            tracing::info!(run = record.id, "run {} did not finish; resuming it before the new run", record.id);
            return match continue_run(run, &record).await {
                Err(e) if refused_again(&e, &record) => {
                    let why = same_error(&record, &e);
                    tracing::error!(run = record.id, "run {} is abandoned: {why}; a fresh run follows", record.id);
                    journal::set_state(&mut run.conn, &run.shop.prefix, record.id, "abandoned", Some(&why)).await?;
                    Ok(None)
                }
                other => other.map(Some),
            };
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

/// Did a resumed run fail on the very data error it had stopped on before?
fn refused_again(e: &Error, before: &RunRecord) -> bool {
    matches!(e, Error::Refused { signature, .. } if before.error.as_deref().is_some_and(|b| b.contains(signature.as_str())))
}

/// Why a run that failed twice on the same data error is abandoned.
fn same_error(record: &RunRecord, e: &Error) -> String {
    let detail = match e {
        Error::Refused { detail, .. } => detail.as_str(),
        _ => "",
    };
    format!(
        "resuming it failed again with the database error it had stopped on ({detail}); its frozen input cannot be written, \
         so it is abandoned and the next sync reads the feed afresh (run {} committed {} chunks before)",
        record.id, record.chunks_done
    )
}

/// `woosync resume`: continues the chosen run; one that fails again on the data error it had
/// stopped on is abandoned, and the error says so.
pub(super) async fn resume_chosen(run: &mut Run<'_>, record: &RunRecord) -> Result<Outcome> {
    match continue_run(run, record).await {
        Err(e) if refused_again(&e, record) => {
            let why = same_error(record, &e);
            journal::set_state(&mut run.conn, &run.shop.prefix, record.id, "abandoned", Some(&why)).await?;
            match e {
                Error::Refused { signature, detail, .. } => Err(Error::Refused { signature, detail, message: format!("run {} is abandoned: {why}", record.id) }),
                e => Err(e),
            }
        }
        other => other,
    }
}

/// `woosync resume --abandon RUN`: a person gives up on an unfinished run; its frozen input
/// goes and the next sync reads the feed afresh.
pub(super) async fn abandon(run: &mut Run<'_>, id: u64) -> Result<String> {
    let prefix = &run.shop.prefix;
    if !journal::tables_exist(&mut run.conn, prefix).await? {
        return Err(Error::ResumeRefused("this shop has no woosync run journal yet: nothing to abandon".into()));
    }
    let record = journal::get(&mut run.conn, prefix, id).await?.ok_or_else(|| Error::ResumeRefused(format!("there is no run {id}")))?;
    if !matches!(record.state.as_str(), "running" | "interrupted") {
        return Err(Error::ResumeRefused(format!("run {id} is {}; only an unfinished run can be abandoned", record.state)));
    }
    let why = "abandoned by `woosync resume --abandon`";
    journal::set_state(&mut run.conn, prefix, id, "abandoned", Some(why)).await?;
    tracing::warn!(run = id, "run {id} is abandoned (after {} committed chunks); the next sync reads the feed afresh", record.chunks_done);
    Ok(format!("run {id} abandoned after {} committed chunks; the next `woosync sync` reads the feed afresh", record.chunks_done))
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
