//! woosync's own bookkeeping in the shop database: the run journal, the frozen input of each
//! run, and the chunk checkpoints (written by the applier inside each chunk's transaction).
//! Tables are created on first use from `sql/woosync_schema.sql` with the shop's prefix.

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};
use rust_decimal::Decimal;
use std::str::FromStr;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{Feed, Item, Money, Note, Rejection, Sale};
use crate::plan::Counts;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    pub id: u64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub state: String,
    pub tool_version: String,
    pub config_fingerprint: String,
    pub source_label: String,
    pub items: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflict: u64,
    pub invalid: u64,
    pub warning: u64,
    pub chunks_done: u64,
    pub error: Option<String>,
    pub age_secs: i64,
}

pub async fn ensure_tables(conn: &mut Conn, prefix: &str) -> Result<()> {
    for statement in include_str!("../sql/woosync_schema.sql").split("\n-- ;\n") {
        let sql = statement.replace("{prefix}", prefix);
        conn.query_drop(sql).await.map_err(|e| Error::db("creating woosync's tables", e))?;
    }
    Ok(())
}

pub async fn tables_exist(conn: &mut Conn, prefix: &str) -> Result<bool> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (format!("{prefix}woosync_runs"),),
        )
        .await?;
    Ok(n.unwrap_or(0) > 0)
}

pub async fn start_run(conn: &mut Conn, prefix: &str, settings: &Settings) -> Result<u64> {
    conn.exec_drop(
        format!(
            "INSERT INTO `{prefix}woosync_runs` (started_at, heartbeat_at, state, tool_version, config_fingerprint, source_label) \
             VALUES (UTC_TIMESTAMP(), UTC_TIMESTAMP(), 'running', ?, ?, ?)"
        ),
        (VERSION, settings.fingerprint(), settings.source.path.display().to_string()),
    )
    .await
    .map_err(|e| Error::db("recording the run", e))?;
    Ok(conn.last_insert_id().unwrap_or(0))
}

/// Freezes the normalised feed so a resume applies exactly the same plan.
pub async fn freeze(conn: &mut Conn, prefix: &str, run_id: u64, feed: &Feed) -> Result<()> {
    conn.exec_drop(
        format!("UPDATE `{prefix}woosync_runs` SET source_sha256 = ?, source_label = ?, items = ?, invalid = ? WHERE id = ?"),
        (&feed.sha256, &feed.label, (feed.items.len() + feed.rejections.len()) as u64, feed.rejections.len() as u64, run_id),
    )
    .await?;
    let mut rows: Vec<[Value; 10]> = Vec::with_capacity(feed.items.len() + feed.rejections.len());
    let mut seq = 0u64;
    for item in &feed.items {
        seq += 1;
        let sale = match &item.sale {
            Sale::Absent => Value::NULL,
            Sale::Clear => Value::from(""),
            Sale::Set(m) => Value::from(m.text.as_str()),
        };
        let notes = if item.notes.is_empty() { Value::NULL } else { Value::from(serde_json::to_string(&item.notes).unwrap_or_default()) };
        rows.push([
            Value::from(run_id),
            Value::from(seq),
            Value::from(item.line),
            Value::from("item"),
            Value::from(item.sku.as_str()),
            item.name.as_deref().map(Value::from).unwrap_or(Value::NULL),
            item.regular.as_ref().map(|m| Value::from(m.text.as_str())).unwrap_or(Value::NULL),
            sale,
            item.stock.map(Value::from).unwrap_or(Value::NULL),
            notes,
        ]);
    }
    for r in &feed.rejections {
        seq += 1;
        let note = serde_json::to_string(&[Note { field: r.field.clone(), message: r.message.clone() }]).unwrap_or_default();
        rows.push([
            Value::from(run_id),
            Value::from(seq),
            Value::from(r.line),
            Value::from("invalid"),
            Value::from(r.sku.as_str()),
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::from(note),
        ]);
    }
    for batch in rows.chunks(1000) {
        let sql = format!(
            "INSERT INTO `{prefix}woosync_input` (run_id, seq, line, kind, sku, name, regular_price, sale_price, stock, notes) VALUES {}",
            vec!["(?,?,?,?,?,?,?,?,?,?)"; batch.len()].join(",")
        );
        let params: Vec<Value> = batch.iter().flat_map(|r| r.iter().cloned()).collect();
        conn.exec_drop(sql, params).await.map_err(|e| Error::db("freezing the run's input", e))?;
    }
    Ok(())
}

/// Reads a run's frozen input back as the feed it was.
pub async fn load_frozen(conn: &mut Conn, prefix: &str, run: &RunRecord) -> Result<Feed> {
    let mut feed = Feed { label: run.source_label.clone(), ..Default::default() };
    type Row = (u64, String, String, Option<String>, Option<String>, Option<String>, Option<i64>, Option<String>);
    let rows: Vec<Row> = conn
        .exec(
            format!("SELECT line, kind, sku, name, regular_price, sale_price, stock, notes FROM `{prefix}woosync_input` WHERE run_id = ? ORDER BY seq"),
            (run.id,),
        )
        .await
        .map_err(|e| Error::db("reading the run's frozen input", e))?;
    let money = |s: &str| -> Result<Money> {
        Decimal::from_str(s)
            .map(|value| Money { text: s.to_string(), value })
            .map_err(|_| Error::ResumeRefused(format!("run {}: frozen price `{s}` is unreadable", run.id)))
    };
    for (line, kind, sku, name, regular, sale, stock, notes) in rows {
        let notes: Vec<Note> = notes.as_deref().and_then(|n| serde_json::from_str(n).ok()).unwrap_or_default();
        if kind == "invalid" {
            let note = notes.into_iter().next().unwrap_or(Note { field: String::new(), message: String::new() });
            feed.rejections.push(Rejection { line, sku, field: note.field, message: note.message });
            continue;
        }
        feed.items.push(Item {
            line,
            sku,
            name,
            regular: regular.as_deref().map(money).transpose()?,
            sale: match sale.as_deref() {
                None => Sale::Absent,
                Some("") => Sale::Clear,
                Some(s) => Sale::Set(money(s)?),
            },
            stock,
            notes,
        });
    }
    Ok(feed)
}

const RUN_COLUMNS: &str = "id, DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s'), state, \
    tool_version, config_fingerprint, source_label, items, created, updated, unchanged, conflict, invalid, warning, chunks_done, error, \
    TIMESTAMPDIFF(SECOND, started_at, UTC_TIMESTAMP())";

fn run_from_row(mut row: mysql_async::Row) -> RunRecord {
    RunRecord {
        id: row.take(0).unwrap_or(0),
        started_at: row.take(1).unwrap_or_default(),
        finished_at: row.take(2).unwrap_or(None),
        state: row.take(3).unwrap_or_default(),
        tool_version: row.take(4).unwrap_or_default(),
        config_fingerprint: row.take(5).unwrap_or_default(),
        source_label: row.take(6).unwrap_or_default(),
        items: row.take(7).unwrap_or(0),
        created: row.take(8).unwrap_or(0),
        updated: row.take(9).unwrap_or(0),
        unchanged: row.take(10).unwrap_or(0),
        conflict: row.take(11).unwrap_or(0),
        invalid: row.take(12).unwrap_or(0),
        warning: row.take(13).unwrap_or(0),
        chunks_done: row.take(14).unwrap_or(0),
        error: row.take(15).unwrap_or(None),
        age_secs: row.take(16).unwrap_or(0),
    }
}

pub async fn recent(conn: &mut Conn, prefix: &str, limit: u32) -> Result<Vec<RunRecord>> {
    let rows: Vec<mysql_async::Row> =
        conn.query(format!("SELECT {RUN_COLUMNS} FROM `{prefix}woosync_runs` ORDER BY id DESC LIMIT {limit}")).await?;
    Ok(rows.into_iter().map(run_from_row).collect())
}

pub async fn get(conn: &mut Conn, prefix: &str, id: u64) -> Result<Option<RunRecord>> {
    let row: Option<mysql_async::Row> =
        conn.exec_first(format!("SELECT {RUN_COLUMNS} FROM `{prefix}woosync_runs` WHERE id = ?"), (id,)).await?;
    Ok(row.map(run_from_row))
}

/// The latest run that did not finish: `interrupted`, or `running` with nobody holding the
/// lock (the caller holds it), i.e. a process that died.
pub async fn pending(conn: &mut Conn, prefix: &str) -> Result<Option<RunRecord>> {
    let row: Option<mysql_async::Row> = conn
        .query_first(format!(
            "SELECT {RUN_COLUMNS} FROM `{prefix}woosync_runs` WHERE state IN ('running','interrupted') ORDER BY id DESC LIMIT 1"
        ))
        .await?;
    Ok(row.map(run_from_row))
}

pub async fn set_state(conn: &mut Conn, prefix: &str, id: u64, state: &str, error: Option<&str>) -> Result<()> {
    let finished = if matches!(state, "done" | "failed" | "abandoned") { "UTC_TIMESTAMP()" } else { "NULL" };
    conn.exec_drop(
        format!("UPDATE `{prefix}woosync_runs` SET state = ?, error = ?, heartbeat_at = UTC_TIMESTAMP(), finished_at = {finished} WHERE id = ?"),
        (state, error, id),
    )
    .await?;
    if matches!(state, "done" | "abandoned") {
        conn.exec_drop(format!("DELETE FROM `{prefix}woosync_input` WHERE run_id = ?"), (id,)).await?;
    }
    Ok(())
}

/// Created/updated totals over every chunk the run committed (across resumes), and the next chunk number.
pub async fn chunk_totals(conn: &mut Conn, prefix: &str, id: u64) -> Result<(u64, u64, u32)> {
    let row: Option<(Option<Decimal>, Option<Decimal>, Option<u32>)> = conn
        .exec_first(
            format!("SELECT SUM(created), SUM(updated), MAX(chunk_no) FROM `{prefix}woosync_chunks` WHERE run_id = ?"),
            (id,),
        )
        .await?;
    let (c, u, max) = row.unwrap_or((None, None, None));
    let n = |d: Option<Decimal>| d.map(|d| d.to_string().parse().unwrap_or(0)).unwrap_or(0);
    Ok((n(c), n(u), max.map(|m| m + 1).unwrap_or(1)))
}

pub async fn record_counts(conn: &mut Conn, prefix: &str, id: u64, c: &Counts) -> Result<()> {
    conn.exec_drop(
        format!(
            "UPDATE `{prefix}woosync_runs` SET items = ?, created = ?, updated = ?, unchanged = ?, conflict = ?, invalid = ?, warning = ? WHERE id = ?"
        ),
        (c.items as u64, c.created as u64, c.updated as u64, c.unchanged as u64, c.conflict as u64, c.invalid as u64, c.warning as u64, id),
    )
    .await?;
    Ok(())
}
