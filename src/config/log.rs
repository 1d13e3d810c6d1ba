//! `[log]`: a daily log file in `dir` (text or JSON lines), the last `keep_days` kept.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogSection {
    dir: PathBuf,
    #[serde(default = "default_keep_days")]
    keep_days: usize,
    #[serde(default = "default_log_format")]
    format: String,
}

fn default_keep_days() -> usize {
    14
}
fn default_log_format() -> String {
    "text".into()
}

/// `[log]`: a log file in `dir`, one per day, the last `keep_days` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub dir: PathBuf,
    pub keep_days: usize,
    pub json: bool,
}


impl LogSection {
    pub(super) fn settle(self, base: &Path) -> Result<LogSettings> {
        let json = match self.format.as_str() {
            "text" => false,
            "json" => true,
            other => return Err(Error::Config(format!("[log] format = {other:?}: expected \"text\" or \"json\""))),
        };
        if self.keep_days == 0 {
            return Err(Error::Config("[log] keep_days = 0: expected at least 1".into()));
        }
        let dir = if self.dir.is_absolute() { self.dir } else { base.join(self.dir) };
        Ok(LogSettings { dir, keep_days: self.keep_days, json })
    }
}
