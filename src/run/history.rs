//! The run history for `woosync status`: the recent runs from the journal, and their JSON form.

use crate::config::Settings;
use crate::error::Result;
use crate::journal::{self, RunRecord};

/// The latest `limit` runs, newest first (none before the first run).
pub async fn status(settings: &Settings, limit: u32) -> Result<Vec<RunRecord>> {
    let mut conn = crate::catalog::connect(settings).await?;
    let prefix = &settings.table_prefix;
    if !journal::tables_exist(&mut conn, prefix).await? {
        return Ok(Vec::new());
    }
    journal::recent(&mut conn, prefix, limit).await
}

/// `status --json`: the recent runs, the run waiting for a resume, and the current failure streak.
pub fn status_json(runs: &[RunRecord]) -> serde_json::Value {
    let waiting = runs.iter().find(|r| matches!(r.state.as_str(), "interrupted" | "running")).map(|r| r.id);
    let failures = runs.iter().filter(|r| r.state != "abandoned").take_while(|r| r.state == "failed").count();
    serde_json::json!({ "runs": runs, "waiting_for_resume": waiting, "consecutive_failures": failures })
}
