//! Taking and keeping the run lock: a named `GET_LOCK` per shop, held on a connection of its
//! own, so two runs never write to one shop at once. Checked before every chunk and taken again
//! after a server restart or a killed connection released it.

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::catalog::{self, Shop};
use crate::config::Settings;
use crate::error::{reconnect_wait, Error, Result, RECONNECT_ATTEMPTS};

/// The named lock that keeps two runs from writing to one shop at once (64 characters at most).
pub fn lock_name(database: &str, prefix: &str) -> String {
    let name = format!("woosync:{database}:{prefix}");
    name.chars().take(64).collect()
}

/// The named lock a writing run holds, on a connection of its own.
pub struct RunLock {
    conn: Conn,
    name: String,
}

impl RunLock {
    /// Takes the shop's lock; `Locked` when another run holds it.
    pub async fn acquire(settings: &Settings, shop: &Shop) -> Result<RunLock> {
        let name = lock_name(&shop.database, &shop.prefix);
        let conn = take_lock(settings, &name).await?;
        Ok(RunLock { conn, name })
    }

    /// Before each chunk: the lock is still ours. A server restart or a killed connection
    /// releases it; it is then taken again, unless another run took it meanwhile (that run
    /// goes on, this one stops resumably).
    pub async fn keep(&mut self, settings: &Settings) -> Result<()> {
        let ours: std::result::Result<Option<Option<i64>>, _> =
            self.conn.exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (&self.name,)).await;
        if let Ok(Some(Some(1))) = ours {
            return Ok(());
        }
        tracing::warn!("the run lock {} was lost (connection dropped or server restarted); taking it again", self.name);
        // A server that is restarting gets the same patience as a chunk's reconnect.
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match take_lock(settings, &self.name).await {
                Ok(conn) => {
                    self.conn = conn;
                    return Ok(());
                }
                Err(e @ Error::Locked(_)) => return Err(e),
                Err(e) if attempt < RECONNECT_ATTEMPTS => {
                    let wait = reconnect_wait(attempt);
                    tracing::warn!(attempt, "taking the run lock again failed ({e}); retrying in {} ms", wait.as_millis());
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A fresh connection holding the named lock; `Locked` when another run holds it.
async fn take_lock(settings: &Settings, name: &str) -> Result<Conn> {
    let mut conn = catalog::connect(settings).await?;
    let got: Option<Option<i64>> = conn.exec_first("SELECT GET_LOCK(?, 0)", (name,)).await?;
    match got.flatten() {
        Some(1) => Ok(conn),
        _ => Err(Error::Locked(name.to_string())),
    }
}
