//! Picture files made before the chunk that enters them commits (`woosync_media_pending`):
//! recorded as soon as they are made (before the chunk's transaction starts), settled by that
//! transaction, and removed by the next run when it never committed — so the shop never has rows without files,
//! and files without rows do not pile up.

use std::path::{Path, PathBuf};

use mysql_async::prelude::*;
use mysql_async::{Conn, Transaction};

use crate::error::{Error, Result};

/// Records the files made for a chunk (committed at once, before the chunk's transaction
/// starts); the row's ID, for [`settle`].
pub async fn record(conn: &mut Conn, prefix: &str, run_id: u64, chunk_no: u32, files: &[PathBuf]) -> Result<u64> {
    let list = files.iter().map(|f| f.to_string_lossy().into_owned()).collect::<Vec<_>>().join("\n");
    conn.exec_drop(
        format!("INSERT INTO `{prefix}woosync_media_pending` (run_id, chunk_no, files, made_at) VALUES (?, ?, ?, UTC_TIMESTAMP())"),
        (run_id, chunk_no, list),
    )
    .await
    .map_err(|e| Error::db("recording the picture files about to be made", e))?;
    conn.last_insert_id().ok_or_else(|| Error::Internal("the picture files' record has no ID".into()))
}

/// In the chunk's transaction, with the rows of the pictures: their files are the shop's now.
pub async fn settle(tx: &mut Transaction<'_>, prefix: &str, id: u64) -> std::result::Result<(), mysql_async::Error> {
    tx.exec_drop(format!("DELETE FROM `{prefix}woosync_media_pending` WHERE id = ?"), (id,)).await
}

/// Removes the files of every record left (under the run lock: no other run is making any),
/// then the records; how many files were removed.
pub async fn clean(conn: &mut Conn, prefix: &str) -> Result<usize> {
    let rows: Vec<(u64, String)> = match conn.query(format!("SELECT id, files FROM `{prefix}woosync_media_pending` ORDER BY id")).await {
        Ok(rows) => rows,
        // Not there (a run of an earlier version being resumed): nothing was recorded.
        Err(mysql_async::Error::Server(e)) if e.code == 1146 => return Ok(0),
        Err(e) => return Err(Error::db("reading the picture files of unfinished chunks", e)),
    };
    let mut removed = 0;
    for (id, files) in rows {
        for f in files.lines().filter(|l| !l.is_empty()) {
            match std::fs::remove_file(Path::new(f)) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Internal(format!("removing {f}, a picture file whose rows were never written: {e}"))),
            }
        }
        conn.exec_drop(format!("DELETE FROM `{prefix}woosync_media_pending` WHERE id = ?"), (id,))
            .await
            .map_err(|e| Error::db("forgetting the removed picture files", e))?;
    }
    if removed > 0 {
        tracing::info!("removed {removed} picture files an unfinished chunk had made");
    }
    Ok(removed)
}
