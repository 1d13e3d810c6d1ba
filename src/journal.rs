//! woosync's own bookkeeping in the shop database: the run journal, the frozen input of each
//! run (stored as opaque blocks; their format is `input::frozen`'s), and the chunk checkpoints (written by the applier inside each chunk's transaction).
//! Tables are created on first use from `sql/woosync_schema.sql` with the shop's prefix.

use mysql_async::prelude::*;
use mysql_async::Conn;
use rust_decimal::Decimal;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::report::Counts;

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
    /// The frozen input is complete (recorded once its last block was stored).
    pub sealed: bool,
}

pub async fn ensure_tables(conn: &mut Conn, prefix: &str) -> Result<()> {
    // Only the missing ones: `CREATE TABLE IF NOT EXISTS` needs the CREATE privilege even for a
    // table that is there, and a login may lose it once the first run has made them.
    for (table, statement) in missing_tables(conn, prefix).await? {
        conn.query_drop(statement).await.map_err(|e| Error::db(format!("creating woosync's table `{table}`"), e))?;
    }
    Ok(())
}

/// woosync's tables (`sql/woosync_schema.sql`) the shop's database lacks: (name, its CREATE
/// statement), in the file's order.
pub async fn missing_tables(conn: &mut Conn, prefix: &str) -> Result<Vec<(String, String)>> {
    let have: Vec<String> = conn
        .exec("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?", (format!("{}woosync\\_%", prefix.replace('_', "\\_")),))
        .await
        .map_err(|e| Error::db("listing woosync's tables", e))?;
    let mut missing = Vec::new();
    for statement in include_str!("../sql/woosync_schema.sql").split("\n-- ;\n") {
        let sql = statement.replace("{prefix}", prefix);
        let table = sql.split("CREATE TABLE IF NOT EXISTS `").nth(1).and_then(|rest| rest.split('`').next()).unwrap_or("").to_string();
        if !have.iter().any(|h| h.eq_ignore_ascii_case(&table)) {
            missing.push((table, sql));
        }
    }
    Ok(missing)
}

pub async fn tables_exist(conn: &mut Conn, prefix: &str) -> Result<bool> {
    table_exists(conn, &format!("{prefix}woosync_runs")).await
}

/// Whether the shop's database has this table.
async fn table_exists(conn: &mut Conn, table: &str) -> Result<bool> {
    let n: Option<u64> = conn
        .exec_first("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", (table,))
        .await?;
    Ok(n.unwrap_or(0) > 0)
}

pub async fn start_run(conn: &mut Conn, prefix: &str, settings: &Settings) -> Result<u64> {
    conn.exec_drop(
        format!(
            "INSERT INTO `{prefix}woosync_runs` (started_at, heartbeat_at, state, tool_version, config_fingerprint, source_label) \
             VALUES (UTC_TIMESTAMP(), UTC_TIMESTAMP(), 'running', ?, ?, ?)"
        ),
        (VERSION, settings.fingerprint(), settings.source.label()),
    )
    .await
    .map_err(|e| Error::db("recording the run", e))?;
    Ok(conn.last_insert_id().unwrap_or(0))
}

/// Where a run's frozen feed came from and how many rows it has, recorded when it is sealed.
pub struct Provenance<'a> {
    pub label: &'a str,
    pub sha256: &'a str,
    /// Every feed row, the rejected ones included.
    pub rows: u64,
    pub invalid: u64,
}

/// Records the frozen feed's provenance and counts with the run, once every block is stored.
pub async fn seal(conn: &mut Conn, prefix: &str, run_id: u64, feed: &Provenance<'_>) -> Result<()> {
    conn.exec_drop(
        format!("UPDATE `{prefix}woosync_runs` SET source_sha256 = ?, source_label = ?, items = ?, invalid = ? WHERE id = ?"),
        (feed.sha256, feed.label, feed.rows, feed.invalid, run_id),
    )
    .await
    .map_err(|e| Error::db("recording the run's input", e))?;
    Ok(())
}

/// Marks a run as `woosync doctor --fix`'s: never resumed (the next doctor run re-checks instead).
pub async fn mark_doctor(conn: &mut Conn, prefix: &str, run_id: u64) -> Result<()> {
    conn.exec_drop(
        format!("UPDATE `{prefix}woosync_runs` SET config_fingerprint = ?, source_label = 'doctor' WHERE id = ?"),
        (DOCTOR_FINGERPRINT, run_id),
    )
    .await
    .map_err(|e| Error::db("recording the doctor run", e))
}

/// The config fingerprint recorded for `woosync doctor --fix` runs.
pub const DOCTOR_FINGERPRINT: &str = "doctor";

/// The variable parents a run re-synced, in all its chunks (their caches go at finalisation,
/// also when the run was resumed after a crash).
pub async fn touched_parents(conn: &mut Conn, prefix: &str, run_id: u64) -> Result<Vec<u64>> {
    conn.exec(format!("SELECT parent_id FROM `{prefix}woosync_parents` WHERE run_id = ? ORDER BY parent_id"), (run_id,))
        .await
        .map_err(|e| Error::db("reading the run's re-synced parents", e))
}

/// Drops what was frozen of a run whose source then failed.
pub async fn discard_input(conn: &mut Conn, prefix: &str, run_id: u64) -> Result<()> {
    conn.exec_drop(format!("DELETE FROM `{prefix}woosync_input` WHERE run_id = ?"), (run_id,))
        .await
        .map_err(|e| Error::db("discarding a failed run's input", e))
}

/// Stores frozen block `no` of a run: `rows` feed rows in the opaque `payload` (see `input::frozen`).
pub async fn write_block(conn: &mut Conn, prefix: &str, run_id: u64, no: u32, rows: usize, payload: &str) -> Result<()> {
    conn.exec_drop(
        format!("INSERT INTO `{prefix}woosync_input` (run_id, block, `rows`, payload) VALUES (?, ?, ?, ?)"),
        (run_id, no, rows as u64, payload),
    )
    .await
    .map_err(|e| Error::db("freezing the run's input", e))
}

/// How many frozen blocks a run has.
pub async fn block_count(conn: &mut Conn, prefix: &str, run_id: u64) -> Result<u32> {
    let n: Option<u64> = conn
        .exec_first(format!("SELECT COUNT(*) FROM `{prefix}woosync_input` WHERE run_id = ?"), (run_id,))
        .await
        .map_err(|e| Error::db("reading the run's frozen input", e))?;
    Ok(n.unwrap_or(0) as u32)
}

/// One frozen block of a run (blocks are numbered from 0).
pub async fn read_block(conn: &mut Conn, prefix: &str, run_id: u64, no: u32) -> Result<String> {
    let payload: Option<String> = conn
        .exec_first(format!("SELECT payload FROM `{prefix}woosync_input` WHERE run_id = ? AND block = ?"), (run_id, no))
        .await
        .map_err(|e| match crate::error::is_connection_lost(&e) {
            true => Error::Lost(format!("reading the run's frozen input: {e}")),
            false => Error::db("reading the run's frozen input", e),
        })?;
    payload.ok_or_else(|| Error::ResumeRefused(format!("run {run_id}: frozen block {no} is missing")))
}

const RUN_COLUMNS: &str = "id, DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s'), state, \
    tool_version, config_fingerprint, source_label, items, created, updated, unchanged, conflict, invalid, warning, chunks_done, error, \
    TIMESTAMPDIFF(SECOND, started_at, UTC_TIMESTAMP()), source_sha256 <> ''";

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
        sealed: row.take::<i64, _>(17).unwrap_or(0) != 0,
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

/// Feed rows of the last successful run before `before` (the guard's yardstick).
pub async fn last_success_items(conn: &mut Conn, prefix: &str, before: Option<u64>) -> Result<Option<u64>> {
    if !tables_exist(conn, prefix).await? {
        return Ok(None);
    }
    let n: Option<u64> = conn
        .exec_first(
            format!("SELECT items - invalid FROM `{prefix}woosync_runs` WHERE state = 'done' AND id < ? ORDER BY id DESC LIMIT 1"),
            (before.unwrap_or(u64::MAX),),
        )
        .await?;
    Ok(n)
}

/// The key under which a source's seen products are kept: a hash of where it reads from.
pub fn source_key(settings: &Settings) -> String {
    use sha2::{Digest, Sha256};
    crate::config::hex(&Sha256::digest(settings.source.label().as_bytes()))
}

/// Products this source has synced before (empty before the first run).
pub async fn load_seen(conn: &mut Conn, prefix: &str, source: &str) -> Result<std::collections::HashSet<u64>> {
    if !tables_exist(conn, prefix).await? {
        return Ok(Default::default());
    }
    let ids: Vec<u64> = conn
        .exec(format!("SELECT product_id FROM `{prefix}woosync_seen` WHERE source = ?"), (source,))
        .await
        .map_err(|e| Error::db("reading the products this source synced", e))?;
    Ok(ids.into_iter().collect())
}

/// Remembers products this source synced (set-based, new ones only).
pub async fn record_seen(conn: &mut Conn, prefix: &str, source: &str, ids: &[u64]) -> Result<()> {
    for batch in ids.chunks(1000) {
        let sql = format!("INSERT IGNORE INTO `{prefix}woosync_seen` (source, product_id) VALUES {}", vec!["(?, ?)"; batch.len()].join(","));
        let params: Vec<mysql_async::Value> = batch.iter().flat_map(|id| [source.into(), (*id).into()]).collect();
        conn.exec_drop(sql, params).await.map_err(|e| Error::db("recording the products this source synced", e))?;
    }
    Ok(())
}

/// What a committed chunk owes the object cache: its products, re-synced parents, and whether
/// the `outofstock` term's count moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOwed {
    pub run_id: u64,
    pub chunk_no: u32,
    pub products: Vec<u64>,
    pub parents: Vec<u64>,
    pub term: bool,
}

fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn parse_ids(text: &str) -> Vec<u64> {
    text.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

/// Records a chunk's debt to the object cache (in the chunk's own transaction).
pub async fn owe_cache<Q: Queryable>(q: &mut Q, prefix: &str, owed: &CacheOwed) -> std::result::Result<(), mysql_async::Error> {
    q.exec_drop(
        format!("INSERT INTO `{prefix}woosync_cache_owed` (run_id, chunk_no, products, parents, term) VALUES (?, ?, ?, ?, ?)"),
        (owed.run_id, owed.chunk_no, id_list(&owed.products), id_list(&owed.parents), owed.term),
    )
    .await
}

/// The debt is paid: Redis did the chunk's invalidation.
pub async fn cache_paid(conn: &mut Conn, prefix: &str, run_id: u64, chunk_no: u32) -> Result<()> {
    conn.exec_drop(format!("DELETE FROM `{prefix}woosync_cache_owed` WHERE run_id = ? AND chunk_no = ?"), (run_id, chunk_no))
        .await
        .map_err(|e| Error::db("recording the object cache's invalidation", e))
}

/// Every debt is paid (the cache was flushed).
pub async fn cache_paid_all(conn: &mut Conn, prefix: &str) -> Result<()> {
    conn.query_drop(format!("DELETE FROM `{prefix}woosync_cache_owed`"))
        .await
        .map_err(|e| Error::db("recording the object cache's flush", e))
}

/// Every invalidation still owed, by any run, oldest first.
pub async fn cache_debts(conn: &mut Conn, prefix: &str) -> Result<Vec<CacheOwed>> {
    let rows: Vec<(u64, u32, String, String, bool)> = conn
        .query(format!("SELECT run_id, chunk_no, products, parents, term FROM `{prefix}woosync_cache_owed` ORDER BY run_id, chunk_no"))
        .await
        .map_err(|e| Error::db("reading the object cache's owed invalidations", e))?;
    Ok(rows
        .into_iter()
        .map(|(run_id, chunk_no, products, parents, term)| CacheOwed { run_id, chunk_no, products: parse_ids(&products), parents: parse_ids(&parents), term })
        .collect())
}

/// One feed written (or refused, or failed), as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedRecord {
    pub name: String,
    pub format: String,
    pub path: String,
    pub written_at: String,
    pub state: String,
    pub offers: u64,
    pub farewells: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub millis: u64,
    pub error: Option<String>,
}

pub async fn record_feed(conn: &mut Conn, prefix: &str, f: &FeedRecord) -> Result<()> {
    conn.exec_drop(
        format!(
            "INSERT INTO `{prefix}woosync_feeds` (name, format, path, written_at, state, offers, farewells, skipped, bytes, millis, error) \
             VALUES (?, ?, ?, UTC_TIMESTAMP(), ?, ?, ?, ?, ?, ?, ?)"
        ),
        (&f.name, &f.format, &f.path, &f.state, f.offers, f.farewells, f.skipped, f.bytes, f.millis, &f.error),
    )
    .await
    .map_err(|e| Error::db("recording the feed in the run journal", e))
}

/// The latest record of each feed, by name.
pub async fn latest_feeds(conn: &mut Conn, prefix: &str) -> Result<Vec<FeedRecord>> {
    if !table_exists(conn, &format!("{prefix}woosync_feeds")).await? {
        return Ok(Vec::new());
    }
    type Row = (String, String, String, String, String, u64, u64, u64, u64, u64, Option<String>);
    let rows: Vec<Row> = conn
        .query(format!(
            "SELECT f.name, f.format, f.path, DATE_FORMAT(f.written_at, '%Y-%m-%d %H:%i:%s'), f.state, f.offers, f.farewells, f.skipped, f.bytes, f.millis, f.error \
             FROM `{prefix}woosync_feeds` f JOIN (SELECT name, MAX(id) AS id FROM `{prefix}woosync_feeds` GROUP BY name) l ON l.id = f.id ORDER BY f.name"
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, format, path, written_at, state, offers, farewells, skipped, bytes, millis, error)| FeedRecord { name, format, path, written_at, state, offers, farewells, skipped, bytes, millis, error })
        .collect())
}
