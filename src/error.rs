//! One error type for the whole tool and the one table that maps it to an exit code.
//!
//! Every variant carries enough context to name what failed (file, line, SKU, table) and, where
//! there is one, the fix. Messages never contain the database URL or any other secret.

use std::fmt;

/// Exit codes are a contract: cron wrappers and monitoring script against them.
/// They are documented in `docs/exit-codes.md` and never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    /// The run finished (rows may still have been reported invalid or in conflict).
    Ok = 0,
    /// An unexpected internal error.
    Internal = 1,
    /// The command line or the config file is wrong.
    Config = 2,
    /// The source (feed) could not be read; nothing was written.
    Source = 3,
    /// The database is unreachable, is not a usable WooCommerce database, or failed mid-run.
    Database = 4,
    /// Another woosync run holds the shop's lock; this one did nothing.
    Locked = 5,
    /// The run was interrupted (Ctrl-C / SIGTERM) after a whole chunk; `woosync resume` continues it.
    Interrupted = 6,
    /// `resume` found nothing it can trust to resume.
    ResumeRefused = 7,
    /// The safety guard refused the feed; nothing was written (`--force` overrides).
    Guard = 8,
    /// The run's database writes are done, but the shop's object cache could not be updated.
    Cache = 9,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config: {0}")]
    Config(String),
    #[error("source: {0}")]
    Source(String),
    #[error("database: {0}")]
    Database(String),
    #[error("preflight: {0}")]
    Preflight(String),
    #[error("another woosync run is writing to this shop (lock `{0}` is held); this run did nothing")]
    Locked(String),
    #[error("{0}")]
    Interrupted(String),
    #[error("resume: {0}")]
    ResumeRefused(String),
    #[error("internal: {0}")]
    Internal(String),
    #[error("safety guard: {0}")]
    Guard(String),
    /// The database refused a value (too long, out of range, a character it cannot store, a
    /// trigger's refusal): not a lost connection or a lock, so writing it again fails again.
    /// `signature` is the server's `ERROR code (SQLSTATE)`, the same however the chunk was cut;
    /// `detail` the server's words, `message` them in the run's context.
    #[error("database: {message}")]
    Refused { signature: String, detail: String, message: String },
    /// The shop's object cache could not be reached or updated (the database writes stand).
    #[error("object cache: {0}")]
    Cache(String),
    /// The connection went away (killed, a server restart, the network): worth a new one.
    #[error("database: {0}")]
    Lost(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) => ExitCode::Config,
            Error::Source(_) => ExitCode::Source,
            Error::Database(_) | Error::Preflight(_) | Error::Refused { .. } | Error::Lost(_) => ExitCode::Database,
            Error::Locked(_) => ExitCode::Locked,
            Error::Interrupted(_) => ExitCode::Interrupted,
            Error::ResumeRefused(_) => ExitCode::ResumeRefused,
            Error::Internal(_) => ExitCode::Internal,
            Error::Guard(_) => ExitCode::Guard,
            Error::Cache(_) => ExitCode::Cache,
        }
    }

    /// Wraps a driver error with what the tool was doing at the time.
    pub fn db(doing: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::Database(format!("{doing}: {err}"))
    }
}

impl From<mysql_async::Error> for Error {
    fn from(e: mysql_async::Error) -> Self {
        Error::Database(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Is this driver error worth retrying the whole chunk for? Only deadlocks and lock-wait
/// timeouts: the transaction was rolled back by the server and may succeed when run again.
pub fn is_retryable(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if s.code == 1213 || s.code == 1205)
}

/// Did the database refuse the data itself (SQLSTATE class 22 "data exception", 23 "integrity
/// constraint", 45000 a trigger's SIGNAL, or MariaDB's HY000 "incorrect string value")? Such an
/// error follows the row, not the moment: it is worth finding the row, never worth a retry.
pub fn data_error_signature(e: &mysql_async::Error) -> Option<String> {
    let mysql_async::Error::Server(s) = e else { return None };
    let data = s.state.starts_with("22") || s.state.starts_with("23") || s.state == "45000" || matches!(s.code, 1366 | 1367);
    data.then(|| format!("ERROR {} ({})", s.code, s.state))
}

/// The connection is gone (killed, server restarted, network): the transaction was rolled back
/// by the server, or — if the loss came right after COMMIT — committed; a new connection tells.
/// Attempts at something the lost connection interrupted (a chunk, taking the run lock again)
/// before giving up, and the wait before each retry: 0.5 s, doubling (15.5 s in all).
pub const RECONNECT_ATTEMPTS: u32 = 6;

pub fn reconnect_wait(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(500 * 2u64.pow(attempt.saturating_sub(1)))
}

pub fn is_connection_lost(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) => true,
        mysql_async::Error::Driver(d) => matches!(
            d,
            mysql_async::DriverError::ConnectionClosed | mysql_async::DriverError::PacketOutOfOrder | mysql_async::DriverError::PoolDisconnected
        ),
        // 1927 connection killed, 1053 server shutdown, 2006 gone away, 2013 lost during query.
        mysql_async::Error::Server(s) => matches!(s.code, 1927 | 1053 | 2006 | 2013),
        _ => false,
    }
}
